#include <agentdl/catalog.hpp>
#include <agentdl/signing/url_parts.hpp>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <stdexcept>

namespace agentdl::signing_detail {

UrlParts url_parts(std::string_view url)
{
  const auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    throw std::invalid_argument("a Location to sign is not a URL");
  }
  UrlParts parts;
  parts.origin = std::string(parsed->scheme()) + "://" + std::string(parsed->encoded_authority());
  parts.host = lowercase(parsed->encoded_host());
  if (parsed->has_port()) {
    const auto scheme = parsed->scheme_id();
    const auto port = parsed->port();
    const bool default_port = (scheme == boost::urls::scheme::https && port == "443") ||
                              (scheme == boost::urls::scheme::http && port == "80");
    if (!default_port && !port.empty()) {
      parts.host += ':';
      parts.host += port;
    }
  }
  parts.decoded_path = std::string(parsed->path());
  parts.query = std::string(parsed->encoded_query());
  return parts;
}

std::string add_query(std::string_view url, std::string_view params)
{
  std::string out(url);
  out += url.find('?') == std::string_view::npos ? '?' : '&';
  out += params;
  return out;
}

long long unix_seconds(SystemTime time)
{
  return std::chrono::floor<std::chrono::seconds>(time).time_since_epoch().count();
}

} // namespace agentdl::signing_detail
