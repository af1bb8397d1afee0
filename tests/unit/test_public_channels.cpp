// [auth] public_channels: what a caller without a token may read, through
// every route of the pure handler, and the order of the checks (CONTRACT
// section 4).

#include <agentdl/api.hpp>
#include <agentdl/auth.hpp>
#include <agentdl/catalog.hpp>
#include <agentdl/token.hpp>

#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace {

// stable is public; beta is private, readable with "beta-token";
// "stable-token" holds stable only (which is public anyway). latest
// includes stable; 1.9.0 is only in beta, 1.8.3 in stable, 1.7.0 in both.
std::string catalog_text(const std::string& public_channels)
{
  return R"(default_channel = "stable"
[platforms.windows]
archs = ["x86_64"]
default_arch = "x86_64"
[platforms.macos]
archs = ["arm64"]
default_arch = "arm64"
[channels.stable]
[channels.beta]
[channels.latest]
includes = ["stable"]
[storage]
base_url = "https://downloads.example.com/agent/"
[mirror]
root = "."
[auth]
)" + public_channels +
         R"(
[[auth.tokens]]
name = "beta"
sha256 = ")" +
         agentdl::sha256_hex("beta-token") + R"("
channels = ["beta"]
[[auth.tokens]]
name = "stable"
sha256 = ")" +
         agentdl::sha256_hex("stable-token") + R"("
channels = ["stable"]
[[releases]]
version = "1.9.0"
channels = ["beta"]
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "windows/1.9.0/a.msi"
[[releases]]
version = "1.8.3"
channels = ["stable"]
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "windows/1.8.3/a.msi"
  [[releases.artifacts]]
  platform = "macos"
  arch = "arm64"
  path = "macos/1.8.3/a.pkg"
[[releases]]
version = "1.7.0"
channels = ["stable", "beta"]
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "windows/1.7.0/a.msi"
)";
}

const agentdl::Snapshot& public_stable()
{
  static const agentdl::Snapshot snapshot = [] {
    auto catalog =
      agentdl::parse_catalog(catalog_text(R"(public_channels = ["stable"])"), "t.toml");
    REQUIRE_MESSAGE(catalog.has_value(), catalog.error().message);
    return agentdl::Snapshot(std::move(*catalog));
  }();
  return snapshot;
}

agentdl::ApiResponse get(std::string_view target, std::optional<std::string> token = std::nullopt)
{
  std::optional<std::string> authorization;
  if (token) {
    authorization = "Bearer " + *token;
  }
  return agentdl::handle(public_stable(),
                         agentdl::ApiRequest{ "GET",
                                              target,
                                              authorization
                                                ? std::optional<std::string_view>(*authorization)
                                                : std::nullopt },
                         {});
}

std::optional<std::string> header(const agentdl::ApiResponse& response, std::string_view name)
{
  const auto value = response.headers.find(name);
  return value ? std::optional<std::string>(*value) : std::nullopt;
}

// The versions a list response shows.
std::vector<std::string> listed_versions(const agentdl::ApiResponse& response)
{
  std::vector<std::string> versions;
  const auto value = boost::json::parse(response.content());
  for (const auto& release : value.at("releases").as_array()) {
    versions.emplace_back(release.at("version").as_string());
  }
  return versions;
}

void check_401(const agentdl::ApiResponse& response)
{
  CHECK(response.status == 401);
  CHECK(header(response, "WWW-Authenticate") == R"(Bearer realm="agentdl")");
  CHECK(response.body.find("Authentication required") != std::string::npos);
}

} // namespace

TEST_CASE("public channels: the catalog names declared channels only")
{
  const auto bad =
    agentdl::parse_catalog(catalog_text(R"(public_channels = ["stable", "nightly"])"), "t.toml");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message.find(R"(public_channels names undeclared channel "nightly")") !=
        std::string::npos);
  CHECK(bad.error().message.find("t.toml:") == 0);
  const auto repeated =
    agentdl::parse_catalog(catalog_text(R"(public_channels = ["stable", "stable"])"), "t.toml");
  REQUIRE_MESSAGE(repeated.has_value(), repeated.error().message);
  CHECK(repeated->auth.public_channels.size() == 1);
  const auto none = agentdl::parse_catalog(catalog_text(""), "t.toml");
  REQUIRE(none.has_value());
  CHECK(none->auth.public_channels.empty());
}

TEST_CASE("public channels: a caller without a token reads them on every route")
{
  auto r = get("/v2/agent-releases/latest/download?platform=windows");
  CHECK(r.status == 302);
  CHECK(header(r, "X-Release-Version") == "1.8.3");
  CHECK(r.token_name.empty());

  r = get("/v2/agent-releases/latest/download?channel=stable&platform=macos");
  CHECK(r.status == 302);
  // latest includes stable, but is not public itself.
  check_401(get("/v2/agent-releases/latest/download?channel=latest&platform=windows"));

  r = get("/v2/agent-releases/latest?platform=windows");
  CHECK(r.status == 200);
  r = get("/v2/agent-releases/1.8.3/download?platform=windows");
  CHECK(r.status == 302);
  // 1.7.0 is in beta too, but stable makes it public.
  r = get("/v2/agent-releases/1.7.0/download?platform=windows");
  CHECK(r.status == 302);
  r = get("/v2/agent-releases/1.7.0");
  CHECK(r.status == 200);

  r = get("/v2/agent-releases");
  CHECK(r.status == 200);
  CHECK(listed_versions(r) == std::vector<std::string>{ "1.8.3", "1.7.0" });
  r = get("/v2/agent-releases?channel=stable");
  CHECK(listed_versions(r) == std::vector<std::string>{ "1.8.3", "1.7.0" });

  r = get("/files/windows/1.8.3/a.msi");
  CHECK(r.status == 200);
  CHECK(r.file == "windows/1.8.3/a.msi");
}

TEST_CASE("public channels: a private channel or release without a token is still 401")
{
  check_401(get("/v2/agent-releases/latest/download?channel=beta&platform=windows"));
  check_401(get("/v2/agent-releases/latest?channel=beta&platform=windows"));
  check_401(get("/v2/agent-releases/1.9.0/download?platform=windows"));
  check_401(get("/v2/agent-releases/1.9.0?platform=windows"));
  check_401(get("/v2/agent-releases/1.9.0"));
  check_401(get("/v2/agent-releases?channel=beta"));
  check_401(get("/files/windows/1.9.0/a.msi"));
  // What does not exist is not told apart from what is private.
  check_401(get("/v2/agent-releases/latest/download?channel=nightly&platform=windows"));
  check_401(get("/v2/agent-releases/4.0.0/download?platform=windows"));
  check_401(get("/files/windows/4.0.0/a.msi"));
  check_401(get("/v2/agent-releases/not-a-version/download?platform=windows"));
  check_401(get("/v2/no-such-route"));
}

TEST_CASE("public channels: the order of checks for a caller without a token")
{
  // A private channel: 401 before the parameters are looked at.
  check_401(get("/v2/agent-releases/latest/download?channel=beta&platform=linux"));
  check_401(get("/v2/agent-releases/1.9.0/download?platform=linux"));
  // A public channel: the parameters (400), then the lookup (404).
  auto r = get("/v2/agent-releases/latest/download?channel=stable&platform=linux");
  CHECK(r.status == 400);
  r = get("/v2/agent-releases/1.7.0/download?platform=macos");
  CHECK(r.status == 404);
  // A wrong token is refused, not taken for no token.
  r = get("/v2/agent-releases/latest/download?platform=windows", "wrong-token");
  CHECK(r.status == 401);
  CHECK(header(r, "WWW-Authenticate") == R"(Bearer realm="agentdl", error="invalid_token")");
}

TEST_CASE("public channels: a token adds its scopes to the public ones")
{
  auto r = get("/v2/agent-releases/latest/download?channel=beta&platform=windows", "beta-token");
  CHECK(r.status == 302);
  CHECK(header(r, "X-Release-Version") == "1.9.0");
  CHECK(r.token_name == "beta");
  r = get("/v2/agent-releases/latest/download?channel=stable&platform=windows", "beta-token");
  CHECK(r.status == 302);
  r = get("/v2/agent-releases", "beta-token");
  CHECK(listed_versions(r) == std::vector<std::string>{ "1.9.0", "1.8.3", "1.7.0" });
  // A token without beta gets 403 for it, as without public channels.
  r = get("/v2/agent-releases/latest/download?channel=beta&platform=windows", "stable-token");
  CHECK(r.status == 403);
  CHECK(header(r, "WWW-Authenticate") == R"(Bearer realm="agentdl", error="insufficient_scope")");
  r = get("/v2/agent-releases/1.9.0/download?platform=windows", "stable-token");
  CHECK(r.status == 403);
  r = get("/files/windows/1.9.0/a.msi", "stable-token");
  CHECK(r.status == 403);
  r = get("/v2/agent-releases", "stable-token");
  CHECK(listed_versions(r) == std::vector<std::string>{ "1.8.3", "1.7.0" });
}

TEST_CASE("public channels: without any, a caller without a token gets 401 everywhere")
{
  auto catalog = agentdl::parse_catalog(catalog_text(""), "t.toml");
  REQUIRE_MESSAGE(catalog.has_value(), catalog.error().message);
  const agentdl::Snapshot snapshot(std::move(*catalog));
  for (const auto* target : { "/v2/agent-releases/latest/download?platform=windows",
                              "/v2/agent-releases",
                              "/files/windows/1.8.3/a.msi" }) {
    CAPTURE(target);
    check_401(agentdl::handle(snapshot, agentdl::ApiRequest{ "GET", target, std::nullopt }, {}));
  }
}
