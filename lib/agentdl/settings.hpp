// The daemon's [server] settings, and the value syntaxes they share with
// other sections: durations ("90s", "15m") and listen addresses.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace agentdl {

// [server]: read by agentdl-serve, ignored by the command line.
struct ServerSettings
{
  std::vector<std::string> listen{ "127.0.0.1:8080" };
  std::string api_prefix = "/v2";
  std::string public_url = "http://127.0.0.1:8080";
  unsigned threads = 0;
  std::chrono::seconds header_timeout{ 10 };
  std::chrono::seconds idle_timeout{ 75 };
  std::chrono::seconds drain_timeout{ 10 };
  std::chrono::seconds catalog_poll{ 30 }; // --catalog-url: how often the store is asked
  std::size_t max_connections = 10'000;
  bool defer_accept = false; // accept a connection once its first bytes are in (TCP_DEFER_ACCEPT)
  std::string access_log = "-";
  bool metrics = true;

  bool operator==(const ServerSettings&) const = default;
};

// The [page] table: the downloads page at `/` (CONTRACT section 4).
struct PageSettings
{
  bool enabled = true; // served when something is public

  bool operator==(const PageSettings&) const = default;
};

// Parses a duration such as "90s", "15m", "1h", "7d" (a positive integer and a
// unit); the error says what is wrong.
std::expected<std::chrono::seconds, std::string> parse_duration(std::string_view text);

// A `[server] listen` or `--listen` address: host (IPv6 without brackets) and port.
struct ListenAddress
{
  std::string host;
  std::uint16_t port = 0;
};

// Parses "HOST:PORT" or "[IPv6]:PORT"; the error says what is wrong.
std::expected<ListenAddress, std::string> parse_listen_address(std::string_view text);

} // namespace agentdl
