#include <agentdl/api.hpp>
#include <agentdl/catalog.hpp>
#include <agentdl/crypto.hpp>
#include <agentdl/signing/hmac.hpp>
#include <agentdl/token.hpp>

#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

#include <string>

using agentdl::ApiRequest;
using agentdl::ApiResponse;

namespace {

// Tokens: "all-token" reads every channel, "stable-token" only stable.
const std::string k_catalog = R"(default_channel = "stable"
[platforms.windows]
archs = ["x86_64"]
default_arch = "x86_64"
[platforms.macos]
archs = ["arm64", "x86_64"]
[channels.stable]
[channels.latest]
includes = ["stable"]
[storage]
base_url = "https://downloads.example.com/agent/"
[auth]
[[auth.tokens]]
name = "all"
sha256 = ")" + agentdl::sha256_hex("all-token") +
                              R"("
channels = ["*"]
[[auth.tokens]]
name = "stable-only"
sha256 = ")" + agentdl::sha256_hex("stable-token") +
                              R"("
channels = ["stable"]

[[releases]]
version = "1.9.0-beta.2"
channels = ["latest"]
  [[releases.artifacts]]
  platform = "macos"
  arch = "arm64"
  path = "macos/arm64/1.9.0-beta.2/ScalepadAgent-1.9.0-beta.2.pkg"
[[releases]]
version = "1.8.4"
channels = ["stable"]
yanked = true
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "windows/1.8.4/ScalepadAgent-1.8.4.msi"
[[releases]]
version = "1.8.3"
channels = ["stable"]
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "windows/1.8.3/ScalepadAgent-1.8.3.msi"
  sha256 = "025ecf8e4285648936105c55a3404cfe9e813be30b2028d6cf20e0af44bc95be"
  size = 48213504
  [[releases.artifacts]]
  platform = "macos"
  arch = "arm64"
  path = "macos/arm64/1.8.3/ScalepadAgent-1.8.3.pkg"
)";

agentdl::Catalog load(const std::string& text)
{
  auto c = agentdl::parse_catalog(text, "t.toml");
  REQUIRE_MESSAGE(c.has_value(), c.error().message);
  return std::move(*c);
}

// Loads `text` with the environment `getenv` (for secrets).
agentdl::Catalog load_with(const std::string& text, agentdl::GetEnv getenv)
{
  agentdl::LoadOptions options;
  options.getenv = std::move(getenv);
  auto c = agentdl::parse_catalog(text, "t.toml", options);
  REQUIRE_MESSAGE(c.has_value(), c.error().message);
  return std::move(*c);
}

const agentdl::Snapshot& snapshot()
{
  static const agentdl::Snapshot loaded(load(k_catalog));
  return loaded;
}

ApiResponse get(std::string_view target,
                std::optional<std::string_view> authorization = "Bearer all-token",
                std::string_view method = "GET")
{
  return agentdl::handle(snapshot(), ApiRequest{ method, target, authorization }, {});
}

std::optional<std::string> header(const ApiResponse& response, std::string_view name)
{
  for (const auto& [key, value] : response.headers) {
    if (key == name) {
      return std::string(value);
    }
  }
  return std::nullopt;
}

} // namespace

TEST_CASE("api: the API document's example requests redirect")
{
  SUBCASE("latest, windows, default arch")
  {
    const auto r = get("/v2/agent-releases/latest/download?channel=stable&platform=windows");
    CHECK(r.status == 302);
    CHECK(r.body.empty());
    CHECK(r.content_type.empty());
    CHECK(r.route == "download_latest");
    CHECK(header(r, "Location") ==
          "https://downloads.example.com/agent/windows/1.8.3/ScalepadAgent-1.8.3.msi");
    CHECK(header(r, "X-Release-Version") == "1.8.3");
    CHECK(header(r, "X-Artifact-Sha256") ==
          "025ecf8e4285648936105c55a3404cfe9e813be30b2028d6cf20e0af44bc95be");
    CHECK(header(r, "X-Artifact-Size") == "48213504");
    CHECK(header(r, "Cache-Control") == "no-cache");
  }
  SUBCASE("latest, macos arm64; unknown sha256 and size are left out")
  {
    const auto r =
      get("/v2/agent-releases/latest/download?channel=stable&platform=macos&arch=arm64");
    CHECK(r.status == 302);
    CHECK(header(r, "Location") ==
          "https://downloads.example.com/agent/macos/arm64/1.8.3/ScalepadAgent-1.8.3.pkg");
    CHECK_FALSE(header(r, "X-Artifact-Sha256"));
    CHECK_FALSE(header(r, "X-Artifact-Size"));
  }
  SUBCASE("versioned")
  {
    const auto r = get("/v2/agent-releases/1.8.3/download?platform=windows");
    CHECK(r.status == 302);
    CHECK(r.route == "download_version");
    CHECK(header(r, "Location") ==
          "https://downloads.example.com/agent/windows/1.8.3/ScalepadAgent-1.8.3.msi");
    CHECK(header(r, "Cache-Control") == "private, max-age=3600");
  }
  SUBCASE("HEAD answers like GET")
  {
    const auto g = get("/v2/agent-releases/1.8.3/download?platform=windows");
    const auto h =
      get("/v2/agent-releases/1.8.3/download?platform=windows", "Bearer all-token", "HEAD");
    CHECK(h.status == g.status);
    CHECK(h.headers == g.headers);
  }
}

TEST_CASE("api: public cache control when auth is off")
{
  auto text = k_catalog;
  text.replace(text.find("[auth]\n"), 7, "[auth]\nmode = \"none\"\n");
  const agentdl::Snapshot open(load(text));
  const auto r = agentdl::handle(
    open, { "GET", "/v2/agent-releases/1.8.3/download?platform=windows", std::nullopt }, {});
  CHECK(r.status == 302);
  CHECK(header(r, "Cache-Control") == "public, max-age=3600");
}

TEST_CASE("api: JSON routes")
{
  SUBCASE("latest")
  {
    const auto r = get("/v2/agent-releases/latest?channel=latest&platform=macos&arch=arm64");
    CHECK(r.status == 200);
    CHECK(r.content_type == "application/json");
    CHECK(
      r.body ==
      R"j({"version":"1.9.0-beta.2","channel":"latest","platform":"macos","arch":"arm64",)j"
      R"j("url":"https://downloads.example.com/agent/macos/arm64/1.9.0-beta.2/ScalepadAgent-1.9.0-beta.2.pkg",)j"
      R"j("filename":"ScalepadAgent-1.9.0-beta.2.pkg","sha256":null,"size":null})j");
  }
  SUBCASE("a version with a platform")
  {
    const auto r = get("/v2/agent-releases/v1.8.3?platform=windows");
    CHECK(r.status == 200);
    CHECK(r.body.starts_with(R"j({"version":"1.8.3","channel":null,"platform":"windows")j"));
  }
  SUBCASE("a version without a platform: the release with all its artifacts")
  {
    const auto r = get("/v2/agent-releases/1.8.3");
    CHECK(r.status == 200);
    CHECK(
      r.body.starts_with(R"j({"version":"1.8.3","channels":["stable"],"current_in":["stable"],)j"));
    CHECK(r.body.find("ScalepadAgent-1.8.3.pkg") != std::string::npos);
  }
  SUBCASE("the release list holds only what the caller may see")
  {
    const auto all = get("/v2/agent-releases");
    CHECK(all.status == 200);
    CHECK(all.content().find("1.9.0-beta.2") != std::string::npos);
    const auto stable = get("/v2/agent-releases", "Bearer stable-token");
    CHECK(stable.status == 200);
    CHECK(stable.content().find("1.9.0-beta.2") == std::string::npos);
    CHECK(stable.content().find(R"j("version":"1.8.3")j") != std::string::npos);
    CHECK(get("/v2/agent-releases?channel=stable", "Bearer stable-token").status == 200);
  }
  SUBCASE("healthz needs no auth")
  {
    const auto r = get("/healthz", std::nullopt);
    CHECK(r.status == 200);
    CHECK(r.body == R"j({"status":"ok","releases":3})j");
  }
  SUBCASE("metrics need no auth and can be off")
  {
    const auto on = agentdl::handle(snapshot(),
                                    { "GET", "/metrics", std::nullopt },
                                    { .metrics = [] { return std::string("m 1\n"); } });
    CHECK(on.status == 200);
    CHECK(on.body == "m 1\n");
    CHECK(on.content_type == "text/plain; version=0.0.4; charset=utf-8");
    CHECK(get("/metrics", std::nullopt).status == 404);
  }
}

TEST_CASE("api: every row of the error table")
{
  SUBCASE("400 unknown platform, with parameter, value and allowed")
  {
    const auto r = get("/v2/agent-releases/latest/download?platform=linux");
    CHECK(r.status == 400);
    CHECK(r.content_type == "application/json");
    CHECK(
      r.body ==
      R"j({"error":{"code":"bad_request","message":"unknown platform \"linux\" (allowed: macos, windows)",)j"
      R"j("details":{"parameter":"platform","value":"linux","allowed":["macos","windows"]}}})j");
  }
  SUBCASE("400 missing platform")
  {
    CHECK(get("/v2/agent-releases/latest/download").status == 400);
    CHECK(get("/v2/agent-releases/latest/download?platform=").status == 400);
  }
  SUBCASE("400 invalid platform/arch combination")
  {
    const auto r = get("/v2/agent-releases/latest/download?platform=windows&arch=arm64");
    CHECK(r.status == 400);
    CHECK(r.body.find(R"j("parameter":"arch","value":"arm64","allowed":["x86_64"])j") !=
          std::string::npos);
  }
  SUBCASE("400 arch required for macos")
  {
    CHECK(get("/v2/agent-releases/latest/download?platform=macos").status == 400);
  }
  SUBCASE("400 repeated parameter with different values; the same value twice is fine")
  {
    const auto r = get("/v2/agent-releases/latest/download?platform=windows&platform=macos");
    CHECK(r.status == 400);
    CHECK(
      r.body ==
      R"j({"error":{"code":"bad_request","message":"parameter \"platform\" is given twice with different values",)j"
      R"j("details":{"parameter":"platform","value":"macos"}}})j");
    CHECK(get("/v2/agent-releases/latest/download?platform=windows&platform=windows").status ==
          302);
  }
  SUBCASE("400 unknown channel")
  {
    CHECK(get("/v2/agent-releases/latest/download?channel=beta&platform=windows").status == 400);
  }
  SUBCASE("400 malformed version, including path tricks")
  {
    for (const auto* target : { "/v2/agent-releases/1.x/download?platform=windows",
                                "/v2/agent-releases/%2e%2e/download?platform=windows",
                                "/v2/agent-releases/..%2Fetc/download?platform=windows",
                                "/v2/agent-releases/1.8.3%2F..%2F/download?platform=windows",
                                "/v2/agent-releases/1.8.3%0d%0a/download?platform=windows",
                                "/v2/agent-releases/%zz/download?platform=windows" }) {
      CAPTURE(target);
      const auto r = get(target);
      CHECK(r.status == 400);
      CHECK(r.body.find(R"j("code":"bad_request")j") != std::string::npos);
    }
  }
  SUBCASE("401 without credentials, no error attribute")
  {
    const auto r = get("/v2/agent-releases/latest/download?platform=windows", std::nullopt);
    CHECK(r.status == 401);
    CHECK(header(r, "WWW-Authenticate") == R"j(Bearer realm="agentdl")j");
    CHECK(
      r.body ==
      R"j({"error":{"code":"unauthorized","message":"Authentication required: send Authorization: Bearer <token>","details":{}}})j");
    CHECK(get("/v2/agent-releases", "Basic dXNlcjpwYXNz").status == 401);
  }
  SUBCASE("401 with a wrong token: invalid_token")
  {
    const auto r = get("/v2/agent-releases/latest/download?platform=windows", "Bearer nope");
    CHECK(r.status == 401);
    CHECK(header(r, "WWW-Authenticate") == R"j(Bearer realm="agentdl", error="invalid_token")j");
    CHECK(r.body ==
          R"j({"error":{"code":"unauthorized","message":"Invalid token","details":{}}})j");
  }
  SUBCASE("the bearer scheme is case-insensitive")
  {
    CHECK(get("/v2/agent-releases/1.8.3/download?platform=windows", "bearer all-token").status ==
          302);
    CHECK(get("/v2/agent-releases/1.8.3/download?platform=windows", "BEARER  all-token").status ==
          302);
  }
  SUBCASE("403 a token without access to the channel")
  {
    const auto r =
      get("/v2/agent-releases/latest/download?channel=latest&platform=macos&arch=arm64",
          "Bearer stable-token");
    CHECK(r.status == 403);
    CHECK(header(r, "WWW-Authenticate") ==
          R"j(Bearer realm="agentdl", error="insufficient_scope")j");
    CHECK(
      r.body ==
      R"j({"error":{"code":"forbidden","message":"this token may not read channel \"latest\"","details":{"channel":"latest"}}})j");
  }
  SUBCASE("403 a token without access to the release")
  {
    const auto r = get("/v2/agent-releases/1.9.0-beta.2/download?platform=macos&arch=arm64",
                       "Bearer stable-token");
    CHECK(r.status == 403);
    CHECK(get("/v2/agent-releases/1.8.3/download?platform=windows", "Bearer stable-token").status ==
          302);
  }
  SUBCASE("404 no artifact for that platform/arch, with what was looked for")
  {
    const auto r = get("/v2/agent-releases/1.8.3/download?platform=macos&arch=x86_64");
    CHECK(r.status == 404);
    CHECK(
      r.body ==
      R"j({"error":{"code":"not_found","message":"no artifact for macos/x86_64 in release 1.8.3",)j"
      R"j("details":{"version":"1.8.3","platform":"macos","arch":"x86_64"}}})j");
  }
  SUBCASE("404 latest names the channel and the version it resolved to")
  {
    const auto r = get("/v2/agent-releases/latest/download?channel=latest&platform=windows");
    CHECK(r.status == 404);
    CHECK(
      r.body.find(
        R"j("details":{"channel":"latest","version":"1.9.0-beta.2","platform":"windows","arch":"x86_64"})j") !=
      std::string::npos);
  }
  SUBCASE("404 no such release; yanked")
  {
    CHECK(get("/v2/agent-releases/2.0/download?platform=windows").status == 404);
    CHECK(get("/v2/agent-releases/1.8.4/download?platform=windows").status == 404);
    CHECK(get("/v2/agent-releases/1.8.4").status == 404);
  }
  SUBCASE("404 unknown route")
  {
    for (const auto* target : { "/",
                                "/v1/agent-releases",
                                "/v2/agent-releases/",
                                "/v2/agent-releases/latest/download/x",
                                "/v2/agent-releasesx",
                                "/v2/agent-releases/1.8.3/downloads" }) {
      CAPTURE(target);
      const auto r = get(target);
      CHECK(r.status == 404);
      CHECK(r.body == R"j({"error":{"code":"not_found","message":"no such route","details":{}}})j");
    }
  }
  SUBCASE("405 any method but GET and HEAD")
  {
    for (const auto* method : { "POST", "PUT", "DELETE", "OPTIONS", "PATCH" }) {
      const auto r =
        get("/v2/agent-releases/latest/download?platform=windows", "Bearer all-token", method);
      CHECK(r.status == 405);
      CHECK(header(r, "Allow") == "GET, HEAD");
      CHECK(r.body.find(R"j("code":"method_not_allowed")j") != std::string::npos);
    }
  }
}

TEST_CASE("api: order of checks is 401, 400, 403, 404")
{
  // Bad parameters without credentials: 401 first.
  CHECK(get("/v2/agent-releases/latest/download?platform=linux", std::nullopt).status == 401);
  CHECK(get("/v2/agent-releases/%2e%2e/download", std::nullopt).status == 401);
  // Bad parameters with a token lacking scope: 400 before 403.
  CHECK(
    get("/v2/agent-releases/latest/download?channel=latest&platform=linux", "Bearer stable-token")
      .status == 400);
  // No artifact in a channel the token may not read: 403 before 404.
  CHECK(
    get("/v2/agent-releases/latest/download?channel=latest&platform=windows", "Bearer stable-token")
      .status == 403);
}

TEST_CASE("api: unknown routes are 404 only after authentication")
{
  CHECK(get("/v2/nope", std::nullopt).status == 401);
  CHECK(get("/v2/nope").status == 404);
  CHECK(get("/healthz", std::nullopt).status == 200); // healthz needs no token
}

TEST_CASE("api: CR, LF and NUL in a parameter never reach a header")
{
  const auto r = get("/v2/agent-releases/latest/download?platform=x%0d%0aSet-Cookie:a%00");
  CHECK(r.status == 400);
  for (const auto& [key, value] : r.headers) {
    CHECK(value.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
  }
  CHECK(r.body.find("\\r\\nSet-Cookie:a\\u0000") != std::string::npos); // escaped in JSON only
}

TEST_CASE("api: unknown query parameters are ignored")
{
  CHECK(get("/v2/agent-releases/latest/download?platform=windows&utm_source=x&flag").status == 302);
}

TEST_CASE("api: api_prefix from the catalog")
{
  auto text = k_catalog;
  text += "[server]\napi_prefix = \"/api/v2\"\n";
  const agentdl::Snapshot prefixed(load(text));
  CHECK(agentdl::handle(
          prefixed,
          { "GET", "/api/v2/agent-releases/1.8.3/download?platform=windows", "Bearer all-token" },
          {})
          .status == 302);
  CHECK(agentdl::handle(
          prefixed,
          { "GET", "/v2/agent-releases/1.8.3/download?platform=windows", "Bearer all-token" },
          {})
          .status == 404);
}

namespace {

// Returns the `error` object of a JSON error body; fails the test if the body
// is not one.
boost::json::object error_of(std::string_view body)
{
  boost::system::error_code ec;
  const auto value = boost::json::parse(body, ec);
  REQUIRE_MESSAGE(!ec, body);
  REQUIRE(value.is_object());
  const auto* error = value.as_object().if_contains("error");
  REQUIRE(error);
  REQUIRE(error->is_object());
  return error->as_object();
}

} // namespace

TEST_CASE("api: every error carries a details object")
{
  struct Case
  {
    const char* what;
    ApiResponse response;
    int status;
  };
  const auto metrics_off = agentdl::handle(snapshot(), { "GET", "/metrics", std::nullopt }, {});
  const Case cases[] = {
    { "401 without a token", get("/v2/agent-releases", std::nullopt), 401 },
    { "401 with a bad token", get("/v2/agent-releases", "Bearer nope"), 401 },
    { "400 malformed target", get("/v2/agent-releases?platform=%zz x"), 400 },
    { "400 malformed version", get("/v2/agent-releases/1.x/download?platform=windows"), 400 },
    { "400 parameter", get("/v2/agent-releases/latest/download?platform=linux"), 400 },
    { "403", get("/v2/agent-releases?channel=latest", "Bearer stable-token"), 403 },
    { "404 lookup", get("/v2/agent-releases/2.0/download?platform=windows"), 404 },
    { "404 unknown route", get("/v2/nope"), 404 },
    { "404 metrics off", metrics_off, 404 },
    { "405", get("/v2/agent-releases", "Bearer all-token", "DELETE"), 405 },
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    CHECK(c.response.status == c.status);
    CHECK(c.response.content_type == "application/json");
    const auto error = error_of(c.response.content());
    const auto* details = error.if_contains("details");
    REQUIRE(details);
    CHECK(details->is_object());
  }
  SUBCASE("malformed target, exactly")
  {
    CHECK(
      get("/v2/agent-releases?platform=%zz x").body ==
      R"j({"error":{"code":"bad_request","message":"malformed request target","details":{}}})j");
  }
  SUBCASE("the absolute form of http and https is its path; another scheme is no resource")
  {
    const auto origin = get("/v2/agent-releases/latest/download?platform=windows");
    CHECK(origin.status == 302);
    for (const auto* prefix : { "http://h", "HTTPS://other.example:8443" }) {
      CAPTURE(prefix);
      const auto absolute =
        get(std::string(prefix) + "/v2/agent-releases/latest/download?platform=windows");
      CHECK(absolute.status == 302);
      CHECK(absolute.headers == origin.headers);
    }
    for (const auto* target : { "x:80", "ftp://h/v2/agent-releases", "*", "urn:a:b" }) {
      CAPTURE(target);
      CHECK(get(target).body == R"j({"error":{"code":"bad_request","message":"malformed )j"
                                R"j(request target","details":{}}})j");
    }
  }
  SUBCASE("405, exactly")
  {
    CHECK(get("/v2/agent-releases", "Bearer all-token", "DELETE").body ==
          R"j({"error":{"code":"method_not_allowed","message":"method DELETE is not allowed )j"
          R"j((allowed: GET, HEAD)","details":{}}})j");
  }
}

TEST_CASE("api: a parameter that is not UTF-8 is a 400, and the answer stays UTF-8")
{
  struct Case
  {
    const char* query;
    const char* echoed; // as the JSON body writes it
  };
  for (const auto& c : { Case{ "platform=%FF", R"(\\xFF)" },
                         Case{ "platform=%C0%AE", R"(\\xC0\\xAE)" },         // overlong '.'
                         Case{ "platform=%ED%A0%80", R"(\\xED\\xA0\\x80)" }, // a surrogate
                         Case{ "platform=win%F4%90%80%80", R"(win\\xF4\\x90\\x80\\x80)" } }) {
    CAPTURE(c.query);
    const auto r = get(std::string("/v2/agent-releases/latest/download?") + c.query);
    CHECK(r.status == 400);
    CHECK(r.body == std::string(R"j({"error":{"code":"bad_request","message":"parameter )j"
                                R"j(\"platform\" is not valid UTF-8","details":{"parameter":)j"
                                R"j("platform","value":")j") +
                      c.echoed + R"j("}}})j");
  }
  SUBCASE("channel and arch too")
  {
    CHECK(get("/v2/agent-releases?channel=%FE").status == 400);
    CHECK(get("/v2/agent-releases/latest?platform=macos&arch=%80").status == 400);
  }
  SUBCASE("well-formed UTF-8 is echoed as it is")
  {
    const auto r = get("/v2/agent-releases/latest/download?platform=%C3%A9");
    CHECK(r.status == 400);
    CHECK(r.body.find("unknown platform \\\"\xC3\xA9\\\"") != std::string::npos);
  }
  SUBCASE("before the parameters, authentication: a 401 echoes nothing")
  {
    CHECK(get("/v2/agent-releases/latest/download?platform=%FF", std::nullopt).status == 401);
  }
}

TEST_CASE("api: the release list carries the catalog's shape")
{
  SUBCASE("a token for every channel")
  {
    const auto r = get("/v2/agent-releases");
    CHECK(r.status == 200);
    const auto body = r.content();
    const auto shape = body.substr(body.find(R"j("channels":{"latest")j"));
    CHECK(shape == R"j("channels":{"latest":{"includes":["stable"],"current":"1.9.0-beta.2"},)j"
                   R"j("stable":{"includes":[],"current":"1.8.3"}},)j"
                   R"j("platforms":{"macos":{"archs":["arm64","x86_64"],"default_arch":null},)j"
                   R"j("windows":{"archs":["x86_64"],"default_arch":"x86_64"}},)j"
                   R"j("default_channel":"stable","aliases":{"platform":{},"arch":{}}})j");
  }
  SUBCASE("a token for stable sees only stable")
  {
    const auto r = get("/v2/agent-releases", "Bearer stable-token");
    CHECK(r.content().find(R"j("channels":{"stable":{"includes":[],"current":"1.8.3"}},)j") !=
          std::string::npos);
  }
  SUBCASE("?channel= keeps the channels it reaches")
  {
    const auto r = get("/v2/agent-releases?channel=stable");
    CHECK(r.content().find(R"j("channels":{"stable":{"includes":[],"current":"1.8.3"}},)j") !=
          std::string::npos);
  }
  SUBCASE("the catalog's own aliases, without the built-in ones")
  {
    auto text = k_catalog;
    text.insert(text.find("[channels.stable]"),
                "[aliases]\nplatform = { Mac = \"macos\", w = \"windows\" }\n"
                "arch = { m1 = \"arm64\" }\n");
    const agentdl::Snapshot own(load(text));
    const auto r = agentdl::handle(own, { "GET", "/v2/agent-releases", "Bearer all-token" }, {});
    CHECK(r.content().ends_with(
      R"j("aliases":{"platform":{"mac":"macos","w":"windows"},"arch":{"m1":"arm64"}}})j"));
  }
  SUBCASE("a channel that resolves nothing has current null; no default channel is null")
  {
    const agentdl::Snapshot empty(load(R"(default_channel = "beta"
[platforms.linux]
archs = ["x86_64"]
[channels.beta]
[auth]
mode = "none"
)"));
    const auto r = agentdl::handle(empty, { "GET", "/v2/agent-releases", std::nullopt }, {});
    CHECK(r.content() == R"j({"releases":[],"channels":{"beta":{"includes":[],"current":null}},)j"
                         R"j("platforms":{"linux":{"archs":["x86_64"],"default_arch":null}},)j"
                         R"j("default_channel":"beta","aliases":{"platform":{},"arch":{}}})j");
  }
}

TEST_CASE("api: one rendering of a release list per snapshot and scope")
{
  const agentdl::Snapshot fresh(load(k_catalog));
  const auto list = [&](std::string_view target, std::string_view authorization) {
    return agentdl::handle(fresh, { "GET", target, authorization }, {});
  };
  const auto first = list("/v2/agent-releases", "Bearer all-token");
  const auto second = list("/v2/agent-releases", "Bearer all-token");
  REQUIRE(first.shared_body);
  CHECK(first.shared_body == second.shared_body); // the same bytes, not a copy
  CHECK(first.body.empty());
  const auto stable = list("/v2/agent-releases", "Bearer stable-token");
  CHECK(stable.shared_body != first.shared_body); // another scope, another list
  CHECK(list("/v2/agent-releases?channel=stable", "Bearer all-token").shared_body !=
        first.shared_body);
  CHECK(list("/v2/agent-releases", "Bearer stable-token").shared_body == stable.shared_body);
  CHECK(fresh.cached_bytes() ==
        first.shared_body->size() + stable.shared_body->size() +
          list("/v2/agent-releases?channel=stable", "Bearer all-token").shared_body->size());
  SUBCASE("a new snapshot renders its own")
  {
    const agentdl::Snapshot other(load(k_catalog));
    const auto r = agentdl::handle(other, { "GET", "/v2/agent-releases", "Bearer all-token" }, {});
    CHECK(r.shared_body != first.shared_body);
    CHECK(*r.shared_body == *first.shared_body);
  }
}

TEST_CASE("api: signed Locations are signed per request, as of the context's time")
{
  REQUIRE(agentdl::crypto_init().has_value());
  auto text = k_catalog;
  text.replace(text.find("[auth]\n"),
               7,
               "signing = \"hmac\"\nsecret_env = \"LINK_SECRET\"\nexpires = \"15m\"\n[auth]\n");
  const agentdl::Snapshot signing(
    load_with(text, [](std::string_view name) -> std::optional<std::string> {
      return name == "LINK_SECRET" ? std::optional<std::string>("link-secret") : std::nullopt;
    }));
  const auto at = [](long long unix_seconds) {
    return agentdl::SystemTime(std::chrono::seconds(unix_seconds));
  };
  const auto ask = [&](std::string_view target, agentdl::SystemTime now) {
    return agentdl::handle(
      signing, { "GET", target, "Bearer all-token" }, { .metrics = {}, .now = now });
  };
  const auto path = "/agent/windows/1.8.3/ScalepadAgent-1.8.3.msi";
  SUBCASE("the redirect: signed, no-store")
  {
    const auto r = ask("/v2/agent-releases/1.8.3/download?platform=windows", at(1700000000));
    CHECK(r.status == 302);
    CHECK(r.location_signed);
    CHECK(header(r, "Location") == "https://downloads.example.com" + std::string(path) +
                                     "?expires=1700000900&sig=" +
                                     agentdl::hmac_link_signature("link-secret", path, 1700000900));
    CHECK(header(r, "Cache-Control") == "no-store");
    // A minute later, another expiry and another signature.
    const auto later = ask("/v2/agent-releases/1.8.3/download?platform=windows", at(1700000060));
    CHECK(header(later, "Location")->find("?expires=1700000960&sig=") != std::string::npos);
  }
  SUBCASE("the JSON answer: the signed url and expires_at")
  {
    const auto r = ask("/v2/agent-releases/latest?platform=windows", at(1700000000));
    CHECK(r.status == 200);
    CHECK(r.body.ends_with(
      R"j(?expires=1700000900&sig=)j" +
      agentdl::hmac_link_signature("link-secret", path, 1700000900) +
      R"j(","filename":"ScalepadAgent-1.8.3.msi",)j"
      R"j("sha256":"025ecf8e4285648936105c55a3404cfe9e813be30b2028d6cf20e0af44bc95be",)j"
      R"j("size":48213504,"expires_at":"2023-11-14T22:28:20Z"})j"));
  }
  SUBCASE("unsigned catalogs: the Location as it is, not marked signed")
  {
    const auto r = get("/v2/agent-releases/1.8.3/download?platform=windows");
    CHECK_FALSE(r.location_signed);
  }
}

namespace {

// k_catalog with a [mirror] (and `storage_extra` in [storage]).
agentdl::Catalog mirror_catalog(const std::string& storage_extra = "",
                                const std::string& auth_extra = "")
{
  auto text = k_catalog;
  text.replace(text.find("[auth]\n"),
               7,
               storage_extra + "[mirror]\nroot = \"/srv/files\"\n[auth]\n" + auth_extra);
  return load_with(text, [](std::string_view name) -> std::optional<std::string> {
    return name == "LINK_SECRET" ? std::optional<std::string>("link-secret") : std::nullopt;
  });
}

} // namespace

TEST_CASE("api: /files/ names a mirror file the caller may read")
{
  const agentdl::Snapshot mirror(mirror_catalog());
  const auto ask = [&](std::string_view target,
                       std::optional<std::string_view> authorization = "Bearer all-token",
                       std::string_view method = "GET") {
    return agentdl::handle(mirror, { method, target, authorization }, {});
  };
  SUBCASE("a listed file: the file to send, nothing else")
  {
    for (const auto* method : { "GET", "HEAD" }) {
      const auto r =
        ask("/files/windows/1.8.3/ScalepadAgent-1.8.3.msi", "Bearer all-token", method);
      CHECK(r.status == 200);
      CHECK(r.file == "windows/1.8.3/ScalepadAgent-1.8.3.msi");
      CHECK(r.route == "files");
      CHECK(r.token_name == "all");
      CHECK(r.content_type.empty());
      CHECK(r.headers.empty());
      CHECK(r.body.empty());
    }
  }
  SUBCASE("decoded once; the query is not part of the path")
  {
    const auto r = ask("/files/windows/1.8.3/Scalepad%41gent-1.8.3.msi?x=1");
    CHECK(r.file == "windows/1.8.3/ScalepadAgent-1.8.3.msi");
  }
  SUBCASE("a token reads the files of the releases it may read")
  {
    CHECK(ask("/files/macos/arm64/1.8.3/ScalepadAgent-1.8.3.pkg", "Bearer stable-token").file ==
          "macos/arm64/1.8.3/ScalepadAgent-1.8.3.pkg");
    const auto r =
      ask("/files/macos/arm64/1.9.0-beta.2/ScalepadAgent-1.9.0-beta.2.pkg", "Bearer stable-token");
    CHECK(r.status == 403);
    CHECK_FALSE(r.file);
    CHECK(r.token_name == "stable-only");
    CHECK(r.body == R"j({"error":{"code":"forbidden","message":"this token may not read file )j"
                    R"j(\"macos/arm64/1.9.0-beta.2/ScalepadAgent-1.9.0-beta.2.pkg\" (release )j"
                    R"j(1.9.0-beta.2)","details":{"path":"macos/arm64/1.9.0-beta.2/)j"
                    R"j(ScalepadAgent-1.9.0-beta.2.pkg","version":"1.9.0-beta.2"}}})j");
    CHECK(header(r, "WWW-Authenticate") == R"(Bearer realm="agentdl", error="insufficient_scope")");
  }
  SUBCASE("no token: 401, before the path is even read")
  {
    for (const auto* target : { "/files/windows/1.8.3/ScalepadAgent-1.8.3.msi", "/files/../x" }) {
      const auto r = ask(target, std::nullopt);
      CHECK(r.status == 401);
      CHECK(r.route == "files");
      CHECK(header(r, "WWW-Authenticate") == R"(Bearer realm="agentdl")");
    }
  }
  SUBCASE("the mirror serves what its catalog lists: anything else is 404")
  {
    const auto r = ask("/files/windows/1.8.3/other.msi");
    CHECK(r.status == 404);
    CHECK(r.body == R"j({"error":{"code":"not_found","message":"no file )j"
                    R"j(\"windows/1.8.3/other.msi\" in the mirror","details":{"path":)j"
                    R"j("windows/1.8.3/other.msi"}}})j");
    // A yanked release is never resolved, so its files are not handed out.
    CHECK(ask("/files/windows/1.8.4/ScalepadAgent-1.8.4.msi").status == 404);
    CHECK(ask("/files/windows/1.8.3").status == 404);
    CHECK(ask("/files/").status == 404);
  }
  SUBCASE("a path that could leave root: 400")
  {
    const auto r = ask("/files/windows/%2e%2e/%2e%2e/etc/passwd");
    CHECK(r.status == 400);
    CHECK(r.body ==
          R"j({"error":{"code":"bad_request","message":"file path )j"
          R"j(\"windows/%2e%2e/%2e%2e/etc/passwd\" has a \"..\" segment","details":{"path":)j"
          R"j("windows/%2e%2e/%2e%2e/etc/passwd"}}})j");
    CHECK(ask("/files//etc/passwd").status == 400);
    CHECK(ask("/files/a%2F..%2F..%2Fetc").status == 400);
  }
  SUBCASE("only GET and HEAD")
  {
    const auto r = ask("/files/windows/1.8.3/ScalepadAgent-1.8.3.msi", "Bearer all-token", "PUT");
    CHECK(r.status == 405);
    CHECK(r.route == "files");
    CHECK_FALSE(r.file);
  }
  SUBCASE("without [mirror], /files/ is an unknown route")
  {
    const auto r = get("/files/windows/1.8.3/ScalepadAgent-1.8.3.msi");
    CHECK(r.status == 404);
    CHECK(r.route == "unknown");
    CHECK_FALSE(r.file);
    CHECK(get("/files/windows/1.8.3/ScalepadAgent-1.8.3.msi", std::nullopt).status == 401);
  }
}

TEST_CASE("api: /files/ with auth off is public")
{
  const agentdl::Snapshot mirror(mirror_catalog("", "mode = \"none\"\n"));
  const auto r =
    agentdl::handle(mirror, { "GET", "/files/windows/1.8.3/ScalepadAgent-1.8.3.msi", {} }, {});
  CHECK(r.status == 200);
  CHECK(r.file == "windows/1.8.3/ScalepadAgent-1.8.3.msi");
  CHECK(r.token_name.empty());
}

TEST_CASE("api: /files/ with signing = \"hmac\" wants a valid link, not a token")
{
  REQUIRE(agentdl::crypto_init().has_value());
  const agentdl::Snapshot mirror(
    mirror_catalog("signing = \"hmac\"\nsecret_env = \"LINK_SECRET\"\n"));
  const auto path = std::string("/files/windows/1.8.3/ScalepadAgent-1.8.3.msi");
  const auto link = [&](long long expires, std::string_view secret = "link-secret") {
    return path + "?expires=" + std::to_string(expires) +
           "&sig=" + agentdl::hmac_link_signature(secret, path, expires);
  };
  const auto ask = [&](const std::string& target,
                       std::optional<std::string_view> authorization = std::nullopt) {
    return agentdl::handle(
      mirror,
      { "GET", target, authorization },
      { .metrics = {}, .now = agentdl::SystemTime(std::chrono::seconds(1700000000)) });
  };
  const auto refused = [](const ApiResponse& r, std::string_view message) {
    CHECK(r.status == 403);
    CHECK(r.route == "files");
    CHECK_FALSE(r.file);
    CHECK_FALSE(header(r, "WWW-Authenticate"));
    CHECK(r.body == R"j({"error":{"code":"forbidden","message":")j" + std::string(message) +
                      R"j(","details":{"path":"windows/1.8.3/ScalepadAgent-1.8.3.msi"}}})j");
  };
  SUBCASE("a valid link: the file, whoever asks")
  {
    const auto r = ask(link(1700000900));
    CHECK(r.status == 200);
    CHECK(r.file == "windows/1.8.3/ScalepadAgent-1.8.3.msi");
    CHECK(r.token_name.empty());
    CHECK(ask(link(1700000000)).file); // valid through its last second
  }
  SUBCASE("a link signed for the encoded path checks the decoded one")
  {
    const auto encoded = std::string("/files/windows/1.8.3/Scalepad%41gent-1.8.3.msi") +
                         link(1700000900).substr(path.size());
    CHECK(ask(encoded).status == 200);
  }
  SUBCASE("missing, malformed, altered, expired or for another file: 403")
  {
    refused(ask(path), "the link is not signed (no expires and sig)");
    refused(ask(path, "Bearer all-token"), "the link is not signed (no expires and sig)");
    refused(ask(path + "?expires=1700000900"), "the link is not signed (no expires and sig)");
    refused(ask(path + "?expires=soon&sig=x"), "the link's expires or sig is malformed");
    refused(ask(link(1700000900, "other-secret")), "the link's signature does not match");
    auto altered = link(1700000900);
    altered.replace(altered.find("expires=1700000900"), 18, "expires=1700009999");
    refused(ask(altered), "the link's signature does not match");
    refused(ask(link(1699999999)), "the link has expired");
  }
  SUBCASE("a valid link to a file the catalog does not list: 404")
  {
    const auto other = std::string("/files/windows/1.8.3/other.msi");
    const auto r = ask(other + "?expires=1700000900&sig=" +
                       agentdl::hmac_link_signature("link-secret", other, 1700000900));
    CHECK(r.status == 404);
  }
}
