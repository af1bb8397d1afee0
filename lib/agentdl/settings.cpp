#include <agentdl/settings.hpp>

#include <fmt/format.h>

#include <charconv>

namespace agentdl {

std::expected<std::chrono::seconds, std::string> parse_duration(std::string_view text)
{
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  const auto bad = [&] {
    return std::unexpected(fmt::format(
      "\"{}\" is not a duration (a positive whole number and a unit: 90s, 15m, 1h, 7d)", text));
  };
  if (ec != std::errc{} || end == text.data() || n == 0 || n > 100'000'000) {
    return bad();
  }
  if (unit == "s") {
    return std::chrono::seconds(n);
  }
  if (unit == "m") {
    return std::chrono::minutes(n);
  }
  if (unit == "h") {
    return std::chrono::hours(n);
  }
  if (unit == "d") {
    return std::chrono::days(n);
  }
  return bad();
}

std::expected<ListenAddress, std::string> parse_listen_address(std::string_view text)
{
  ListenAddress out;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::unexpected("must be [IPv6]:PORT, e.g. [::1]:8080");
    }
    out.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      return std::unexpected("must be HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080");
    }
    out.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  }
  if (out.host.empty()) {
    return std::unexpected("has no host (use 0.0.0.0 or [::] for all addresses)");
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535) {
    return std::unexpected("has no valid port (0 to 65535)");
  }
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

} // namespace agentdl
