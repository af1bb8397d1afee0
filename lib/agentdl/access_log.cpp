#include <agentdl/access_log.hpp>
#include <agentdl/utf8.hpp>

#include <boost/json/serializer.hpp>
#include <boost/url/grammar/ci_string.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <iterator>

namespace agentdl {

namespace {

bool is_secret(std::string_view key)
{
  static constexpr std::array<std::string_view, 7> k_secret_keys{ "sig",
                                                                  "md5",
                                                                  "token",
                                                                  "access_token",
                                                                  "x-amz-signature",
                                                                  "x-amz-credential",
                                                                  "x-amz-security-token" };
  return std::any_of(k_secret_keys.begin(), k_secret_keys.end(), [&](std::string_view secret) {
    return boost::urls::grammar::ci_is_equal(key, secret);
  });
}

} // namespace

std::string redact_target(std::string_view target)
{
  const auto query_start = target.find('?');
  if (query_start == std::string_view::npos) {
    return std::string(target);
  }
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) {
    // Not a URL we could take apart: keep the path only.
    return std::string(target.substr(0, query_start)) + "?REDACTED";
  }
  boost::urls::url url(*parsed);
  auto params = url.params();
  for (auto it = params.begin(); it != params.end(); ++it) {
    const auto param = *it;
    if (param.has_value && is_secret(param.key)) {
      it = params.replace(it, { param.key, "REDACTED" });
    }
  }
  return std::string(url.buffer());
}

namespace {

// Tells whether `target`'s query may hold a parameter redact_target()
// changes: a secret key's name in any case, or any percent-encoding (which
// could spell one). Most targets hold none, and are written as they are.
bool may_hold_secret(std::string_view target)
{
  const auto query_start = target.find('?');
  if (query_start == std::string_view::npos) {
    return false;
  }
  const auto query = target.substr(query_start + 1);
  if (query.find('%') != std::string_view::npos) {
    return true;
  }
  // Every secret key contains one of these ("access_token" holds "token",
  // the X-Amz- ones "x-amz-").
  static constexpr std::array<std::string_view, 4> k_parts{ "sig", "md5", "token", "x-amz-" };
  for (std::size_t at = 0; at < query.size(); ++at) {
    for (const auto part : k_parts) {
      if (boost::urls::grammar::ci_is_equal(query.substr(at, part.size()), part)) {
        return true;
      }
    }
  }
  return false;
}

// Appends `text` to `out` as a JSON string, quotes included, escaped as
// Boost.JSON escapes; bytes that are not UTF-8 become \xNN first.
void append_json_string(std::string& out, std::string_view text)
{
  if (!is_valid_utf8(text)) {
    append_json_string(out, escape_invalid_utf8(text));
    return;
  }
  // One serializer per thread, reset per string: no allocation.
  thread_local boost::json::serializer serializer;
  serializer.reset(text);
  std::array<char, 1024> buffer;
  while (!serializer.done()) {
    out += serializer.read(buffer.data(), buffer.size());
  }
}

// Appends `,"key":` (without the comma for the first key).
void append_key(std::string& out, std::string_view key)
{
  out += out.back() == '{' ? "\"" : ",\"";
  out += key;
  out += "\":";
}

} // namespace

void append_access_log_line(std::string& out, const AccessEntry& entry)
{
  const auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(entry.time);
  const auto millis =
    std::chrono::duration_cast<std::chrono::milliseconds>(entry.time - seconds).count();
  out += "{\"time\":";
  fmt::format_to(std::back_inserter(out), "\"{:%Y-%m-%dT%H:%M:%S}.{:03}Z\"", seconds, millis);
  append_key(out, "remote");
  append_json_string(out, entry.remote);
  // The method, target and User-Agent are the client's bytes, not text: a
  // byte that is not UTF-8 is written as \xNN, so that every line is JSON.
  append_key(out, "method");
  append_json_string(out, entry.method);
  append_key(out, "target");
  if (may_hold_secret(entry.target)) {
    append_json_string(out, redact_target(entry.target));
  } else {
    append_json_string(out, entry.target);
  }
  append_key(out, "status");
  fmt::format_to(std::back_inserter(out), "{}", entry.status);
  append_key(out, "bytes");
  fmt::format_to(std::back_inserter(out), "{}", entry.bytes);
  append_key(out, "duration_us");
  fmt::format_to(std::back_inserter(out),
                 "{}",
                 std::chrono::duration_cast<std::chrono::microseconds>(entry.duration).count());
  append_key(out, "route");
  append_json_string(out, entry.route);
  if (!entry.token_name.empty()) {
    append_key(out, "token");
    append_json_string(out, entry.token_name);
  }
  if (!entry.location.empty()) {
    // A signed Location's query is a credential: only where it pointed is kept.
    append_key(out, "location");
    append_json_string(out,
                       entry.location_signed ? entry.location.substr(0, entry.location.find('?'))
                                             : entry.location);
  }
  if (!entry.user_agent.empty()) {
    append_key(out, "user_agent");
    append_json_string(out, entry.user_agent);
  }
  out += "}\n";
}

std::string access_log_line(const AccessEntry& entry)
{
  std::string out;
  append_access_log_line(out, entry);
  return out;
}

} // namespace agentdl
