#include <agentdl/signing/url_parts.hpp>

#include <algorithm>
#include <stdexcept>

namespace agentdl::signing_detail {

namespace {

int hex_value(char c)
{
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

} // namespace

// Split by hand rather than by Boost.URL's grammar: this runs once per signed
// request, and the catalog has already checked every URL it holds.
const UrlParts& url_parts(std::string_view url)
{
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) {
    throw std::invalid_argument("a Location to sign is not an absolute URL");
  }
  const auto authority_start = scheme_end + 3;
  const auto path_start = std::min(url.find_first_of("/?#", authority_start), url.size());
  const auto query_mark = url.find('?', path_start);
  const auto fragment = std::min(url.find('#', path_start), url.size());
  const auto path_end = std::min(query_mark, fragment);

  thread_local UrlParts parts;
  parts.origin.assign(url.substr(0, path_start));
  parts.host.clear();
  parts.decoded_path.clear();
  parts.query.clear();
  auto authority = url.substr(authority_start, path_start - authority_start);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1); // user info is no part of Host
  }
  // The port: after the last ':' that is not inside an IPv6 literal.
  auto host = authority;
  std::string_view port;
  if (const auto colon = authority.rfind(':');
      colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  for (const char c : host) {
    parts.host += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  const auto scheme = url.substr(0, scheme_end);
  const auto is = [&](std::string_view name) {
    return scheme.size() == name.size() &&
           std::equal(scheme.begin(), scheme.end(), name.begin(), [](char a, char b) {
             return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == b;
           });
  };
  const bool default_port =
    port.empty() || (is("https") && port == "443") || (is("http") && port == "80");
  if (!default_port) {
    parts.host += ':';
    parts.host += port;
  }
  const auto path = url.substr(path_start, path_end - path_start);
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%' && i + 2 < path.size() && hex_value(path[i + 1]) >= 0 &&
        hex_value(path[i + 2]) >= 0) {
      parts.decoded_path += static_cast<char>(hex_value(path[i + 1]) * 16 + hex_value(path[i + 2]));
      i += 2;
    } else {
      parts.decoded_path += path[i];
    }
  }
  if (query_mark != std::string_view::npos && query_mark < fragment) {
    parts.query.assign(url.substr(query_mark + 1, fragment - query_mark - 1));
  }
  return parts;
}

std::string add_query(std::string_view url, std::string_view params)
{
  std::string out;
  out.reserve(url.size() + params.size() + 1);
  out += url;
  out += url.find('?') == std::string_view::npos ? '?' : '&';
  out += params;
  return out;
}

long long unix_seconds(SystemTime time)
{
  return std::chrono::floor<std::chrono::seconds>(time).time_since_epoch().count();
}

} // namespace agentdl::signing_detail
