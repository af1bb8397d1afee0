// The access log line of agentdl-serve: one JSON object per request, with
// secrets (signatures, tokens) removed from the request target.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace agentdl {

// What one log line tells about one request.
struct AccessEntry
{
  std::chrono::system_clock::time_point time;
  std::string_view remote; // "127.0.0.1:51234"
  std::string_view method;
  std::string_view target; // as received; redacted when written
  int status = 0;
  std::uint64_t bytes = 0; // body bytes sent
  std::chrono::nanoseconds duration{ 0 };
  std::string_view route;
  std::string_view token_name; // the configured name, never the token
  std::string_view user_agent;
  std::string_view location;    // a redirect's Location; empty for other answers
  bool location_signed = false; // the Location is signed: its query is not written
};

// Returns `target` with the values of query parameters that carry secrets
// (sig, md5, token, access_token, X-Amz-Signature, X-Amz-Credential,
// X-Amz-Security-Token) replaced by "REDACTED".
std::string redact_target(std::string_view target);

// Appends the JSON line for `entry` to `out`, ending with '\n'; valid UTF-8
// whatever bytes the request held (escape_invalid_utf8). Allocates nothing
// once `out` has room, unless the target has a secret to redact or a field
// has bytes that are not UTF-8.
void append_access_log_line(std::string& out, const AccessEntry& entry);

// Returns the line append_access_log_line() appends.
std::string access_log_line(const AccessEntry& entry);

} // namespace agentdl
