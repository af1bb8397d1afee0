#include <agentdl/access_log.hpp>
#include <agentdl/utf8.hpp>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/grammar/ci_string.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>

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

std::string access_log_line(const AccessEntry& entry)
{
  boost::json::object line;
  const auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(entry.time);
  const auto millis =
    std::chrono::duration_cast<std::chrono::milliseconds>(entry.time - seconds).count();
  line["time"] = fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", seconds, millis);
  // The method, target and User-Agent are the client's bytes, not text: a
  // byte that is not UTF-8 is written as \xNN, so that every line is JSON.
  line["remote"] = entry.remote;
  line["method"] = escape_invalid_utf8(entry.method);
  line["target"] = escape_invalid_utf8(redact_target(entry.target));
  line["status"] = entry.status;
  line["bytes"] = entry.bytes;
  line["duration_us"] =
    std::chrono::duration_cast<std::chrono::microseconds>(entry.duration).count();
  line["route"] = entry.route;
  if (!entry.token_name.empty()) {
    line["token"] = entry.token_name;
  }
  if (!entry.location.empty()) {
    // A signed Location's query is a credential: only where it pointed is kept.
    line["location"] =
      entry.location_signed ? entry.location.substr(0, entry.location.find('?')) : entry.location;
  }
  if (!entry.user_agent.empty()) {
    line["user_agent"] = escape_invalid_utf8(entry.user_agent);
  }
  auto text = boost::json::serialize(line);
  text += '\n';
  return text;
}

} // namespace agentdl
