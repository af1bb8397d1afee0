// The catalogs the HTTP fuzz targets ask: every route there is, auth with a
// public channel and tokens, a mirror, the downloads page; and the same
// signing its /files/ links with hmac.
#pragma once

#include "fuzz.hpp"

#include <agentdl/api.hpp>
#include <agentdl/token.hpp>
#include <agentdl/utf8.hpp>

#include <boost/json/parse.hpp>

#include <memory>
#include <string>

namespace agentdl::fuzz {

// The token the catalogs accept (scoped to "beta"); its secret is "fuzz-token".
inline constexpr std::string_view k_token = "Bearer fuzz-token";

inline std::string catalog_text(std::string_view storage)
{
  return R"(default_channel = "stable"
[platforms.windows]
archs = ["x86_64"]
default_arch = "x86_64"
[platforms.macos]
archs = ["arm64", "x86_64"]
[aliases]
platform = { darwin = "macos" }
[channels.stable]
[channels.beta]
[channels.latest]
includes = ["stable", "beta"]
)" + std::string(storage) +
         R"(
[mirror]
root = "."
[auth]
mode = "required"
public_channels = ["stable"]
[[auth.tokens]]
name = "fuzz"
sha256 = ")" +
         sha256_hex("fuzz-token") + R"("
channels = ["beta"]
[[releases]]
version = "1.9.0-beta.2+build.7"
channels = ["beta"]
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "windows/1.9.0/Agent 1.9.0 <b>.msi"
  sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
  size = 1234
[[releases]]
version = "1.8.3"
channels = ["stable"]
published_at = 2026-10-01T12:00:00Z
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "windows/1.8.3/Agent.msi"
  [[releases.artifacts]]
  platform = "macos"
  arch = "arm64"
  url = "https://cdn.example.com/a/Agent%20arm64.pkg"
[[releases]]
version = "1.8.0"
channels = ["stable"]
yanked = true
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "windows/1.8.0/Agent.msi"
)";
}

inline std::unique_ptr<const Snapshot> load_snapshot(std::string_view storage)
{
  LoadOptions options;
  options.getenv = [](std::string_view name) -> std::optional<std::string> {
    if (name == "FUZZ_LINK_SECRET") {
      return "fuzz-link-secret";
    }
    return std::nullopt;
  };
  auto catalog = parse_catalog(catalog_text(storage), "fuzz.toml", options);
  require(catalog.has_value(), "the fuzz catalog loads");
  return std::make_unique<const Snapshot>(std::move(*catalog));
}

// Unsigned Locations; /files/ by bearer token.
inline const Snapshot& plain_snapshot()
{
  static const auto snapshot =
    load_snapshot("[storage]\nbase_url = \"https://downloads.example.com/agent/\"\n");
  return *snapshot;
}

// hmac: /files/ links carry their own signature.
inline const Snapshot& hmac_snapshot()
{
  static const auto snapshot = load_snapshot(
    "[storage]\nbase_url = \"https://downloads.example.com/agent/\"\nsigning = \"hmac\"\n"
    "secret_env = \"FUZZ_LINK_SECRET\"\n");
  return *snapshot;
}

// Checks what every answer of the handler must be: a status of the
// contract, a Location on a redirect, a JSON error of the contract's shape,
// and valid UTF-8 in every text body.
inline void check_response(const ApiResponse& r)
{
  switch (r.status) {
    case 200:
    case 302:
    case 304:
    case 400:
    case 401:
    case 403:
    case 404:
    case 405:
      break;
    default:
      require(false, "the status is one the contract lists");
  }
  if (r.status == 302) {
    const auto location = r.headers.find("Location");
    require(location && !location->empty(), "a redirect has a Location");
  }
  for (const auto& [name, value] : r.headers) {
    require(value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos,
            "no header value holds CR, LF or NUL");
  }
  if (r.status >= 400) {
    require(r.content_type == "application/json", "an error is JSON");
    require(is_valid_utf8(r.content()), "an error is UTF-8");
    boost::system::error_code ec;
    const auto json = boost::json::parse(r.content(), ec);
    require(!ec && json.is_object() && json.as_object().contains("error") &&
              json.at("error").as_object().contains("details"),
            "an error has the contract's shape");
  } else if (r.content_type == "application/json") {
    require(is_valid_utf8(r.content()), "a JSON answer is UTF-8");
    boost::system::error_code ec;
    boost::json::parse(r.content(), ec);
    require(!ec, "a JSON answer parses");
  }
}

} // namespace agentdl::fuzz
