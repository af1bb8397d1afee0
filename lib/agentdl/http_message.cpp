#include <agentdl/http_message.hpp>
#include <agentdl/output.hpp>

#include <boost/url/authority_view.hpp>
#include <boost/url/grammar/ci_string.hpp>

#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>

namespace agentdl {

namespace {

void append_number(std::string& out, std::size_t n)
{
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof(digits), n).ptr;
  out.append(digits, end);
}

// Tells whether `value` holds CR, LF or NUL. Eight bytes at a time: a signed
// Location runs to hundreds of bytes, checked on every redirect.
bool splits_header(std::string_view value)
{
  constexpr std::uint64_t k_highs = 0x8080808080808080ULL;
  std::size_t i = 0;
  for (; i + 8 <= value.size(); i += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, value.data() + i, 8);
    // Some byte is below 0x20 (all three are): look at these eight closely.
    if (((word - 0x2020202020202020ULL) & ~word & k_highs) != 0) {
      for (std::size_t j = i; j < i + 8; ++j) {
        if (value[j] == '\r' || value[j] == '\n' || value[j] == '\0') {
          return true;
        }
      }
    }
  }
  for (; i < value.size(); ++i) {
    if (value[i] == '\r' || value[i] == '\n' || value[i] == '\0') {
      return true;
    }
  }
  return false;
}

void append_header(std::string& out, std::string_view name, std::string_view value)
{
  if (splits_header(value)) {
    return;
  }
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

} // namespace

std::string_view reason_phrase(int status)
{
  switch (status) {
    case 200:
      return "OK";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 410:
      return "Gone";
    case 416:
      return "Range Not Satisfiable";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

void append_response_head(std::string& out, const ApiResponse& response, const HeadFields& fields)
{
  out += fields.version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  append_number(out, static_cast<std::size_t>(response.status));
  out += ' ';
  out += reason_phrase(response.status);
  out += "\r\nServer: agentdl\r\nDate: ";
  out += fields.date;
  out += "\r\n";
  if (!response.content_type.empty()) {
    append_header(out, "Content-Type", response.content_type);
  }
  for (const auto& [name, value] : response.headers) {
    append_header(out, name, value);
  }
  if (response.status != 304) {
    // A 304 may carry the length of what it stands for, but clients built on
    // http_parser (wrk, older proxies) then wait for that body: as nginx, say none.
    out += "Content-Length: ";
    append_number(out, fields.content_length);
    out += "\r\n";
  }
  if (fields.keep_alive == KeepAlive::no) {
    out += "Connection: close\r\n";
  } else if (fields.version == 10) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
}

ApiResponse transport_error(int status, std::string_view message)
{
  ApiResponse response;
  response.status = status;
  response.content_type = "application/json";
  switch (status) {
    case 503:
      response.body = error_json(Error(Errc::unavailable, std::string(message)));
      break;
    case 500:
      response.body = error_json(Error(Errc::internal, "Internal server error"));
      break;
    default:
      response.body = error_json(Error(Errc::bad_request, std::string(message)));
      break;
  }
  return response;
}

std::string_view trim_ows(std::string_view text)
{
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

namespace {

// Tells whether the parameters of an Accept-Encoding element (";q=0.5")
// leave it acceptable: no q, or a q above 0.
bool q_above_zero(std::string_view parameters)
{
  while (!parameters.empty()) {
    const auto semicolon = parameters.find(';');
    const auto parameter = trim_ows(parameters.substr(0, semicolon));
    parameters = semicolon == std::string_view::npos ? "" : parameters.substr(semicolon + 1);
    if (parameter.size() >= 2 && (parameter[0] == 'q' || parameter[0] == 'Q') &&
        parameter[1] == '=') {
      // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ): above
      // zero when any digit is not 0.
      const auto value = parameter.substr(2);
      return value.find_first_of("123456789") != std::string_view::npos;
    }
  }
  return true;
}

} // namespace

bool accepts_gzip(std::string_view value)
{
  std::optional<bool> gzip;
  std::optional<bool> any;
  while (!value.empty()) {
    const auto comma = value.find(',');
    const auto element = value.substr(0, comma);
    value = comma == std::string_view::npos ? "" : value.substr(comma + 1);
    const auto semicolon = element.find(';');
    const auto coding = trim_ows(element.substr(0, semicolon));
    const auto parameters =
      semicolon == std::string_view::npos ? std::string_view() : element.substr(semicolon + 1);
    if (boost::urls::grammar::ci_is_equal(coding, "gzip") ||
        boost::urls::grammar::ci_is_equal(coding, "x-gzip")) {
      gzip = q_above_zero(parameters);
    } else if (coding == "*") {
      any = q_above_zero(parameters);
    }
  }
  return gzip.value_or(any.value_or(false)); // named beats "*"
}

bool valid_host(std::string_view value)
{
  const auto authority = boost::urls::parse_authority(value);
  return authority && !authority->has_userinfo() && !authority->encoded_host().empty();
}

} // namespace agentdl
