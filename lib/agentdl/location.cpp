#include <agentdl/location.hpp>

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url_view.hpp>
#include <fmt/format.h>

namespace agentdl {

std::expected<void, std::string> check_relative_path(std::string_view path)
{
  if (path.empty()) {
    return std::unexpected("is empty");
  }
  for (const char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return std::unexpected("contains a control character");
    }
    if (c == '\\') {
      return std::unexpected("contains a backslash (use '/')");
    }
  }
  if (path.front() == '/') {
    return std::unexpected("must be relative (no leading '/')");
  }
  std::size_t start = 0;
  while (true) {
    const auto slash = path.find('/', start);
    const auto segment =
      path.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (segment.empty()) {
      return std::unexpected("has an empty segment");
    }
    if (segment == "..") {
      return std::unexpected("has a \"..\" segment");
    }
    if (segment == ".") {
      return std::unexpected("has a \".\" segment");
    }
    if (slash == std::string_view::npos) {
      return {};
    }
    start = slash + 1;
  }
}

std::expected<std::string, std::string> check_absolute_url(std::string_view url)
{
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    return std::unexpected("is not a valid absolute URL");
  }
  const auto scheme = parsed->scheme_id();
  if (scheme != boost::urls::scheme::http && scheme != boost::urls::scheme::https) {
    return std::unexpected("must be an http or https URL");
  }
  if (!parsed->has_authority() || parsed->encoded_host().empty()) {
    return std::unexpected("has no host");
  }
  if (parsed->has_fragment()) {
    return std::unexpected("must not have a fragment ('#')");
  }
  return std::string(parsed->buffer());
}

std::string join_url(std::string_view base, std::string_view path)
{
  std::string out(base);
  out.reserve(base.size() + path.size() + path.size() / 4);
  std::size_t start = 0;
  while (true) {
    const auto slash = path.find('/', start);
    const auto segment =
      path.substr(start, slash == std::string_view::npos ? slash : slash - start);
    out += boost::urls::encode(segment, boost::urls::unreserved_chars);
    if (slash == std::string_view::npos) {
      return out;
    }
    out += '/';
    start = slash + 1;
  }
}

std::string url_filename(std::string_view url)
{
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) {
    return {};
  }
  const auto segments = parsed->segments();
  if (segments.empty()) {
    return {};
  }
  return std::string(segments.back());
}

} // namespace agentdl
