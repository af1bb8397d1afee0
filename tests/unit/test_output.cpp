#include <agentdl/catalog.hpp>
#include <agentdl/output.hpp>
#include <agentdl/resolver.hpp>

#include <doctest/doctest.h>

namespace {

const agentdl::Catalog& catalog()
{
  static const auto loaded = [] {
    auto c = agentdl::parse_catalog(R"([platforms.windows]
archs = ["x86_64"]
default_arch = "x86_64"
[channels.stable]
[channels.latest]
includes = ["stable"]
[storage]
base_url = "https://dl.example.com/"
[[releases]]
version = "2.0"
channels = ["latest"]
yanked = true
[[releases]]
version = "1.8.3"
channels = ["stable"]
published_at = 2026-10-01T12:00:00Z
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "w/a.msi"
  sha256 = "94d5550935517edc9fa5d056a94ea014853309056192232222d392a678671cbb"
  size = 48213504
)",
                                    "t.toml");
    REQUIRE_MESSAGE(c.has_value(), c.error().message);
    return std::move(*c);
  }();
  return loaded;
}

} // namespace

TEST_CASE("output: resolution JSON")
{
  const auto latest = agentdl::resolve(catalog(), { .platform = "windows" });
  REQUIRE(latest.has_value());
  const agentdl::SignedLocation unsigned_location{ latest->artifact->location, std::nullopt };
  CHECK(agentdl::resolution_json(*latest, unsigned_location) ==
        R"({"version":"1.8.3","channel":"stable","platform":"windows","arch":"x86_64",)"
        R"("url":"https://dl.example.com/w/a.msi","filename":"a.msi",)"
        R"("sha256":"94d5550935517edc9fa5d056a94ea014853309056192232222d392a678671cbb",)"
        R"("size":48213504})");
  const auto versioned = agentdl::resolve(catalog(), { .version = "1.8.3", .platform = "windows" });
  REQUIRE(versioned.has_value());
  CHECK(agentdl::resolution_json(*versioned, unsigned_location)
          .starts_with(R"({"version":"1.8.3","channel":null,)"));
  SUBCASE("a signed url, and when it expires")
  {
    const agentdl::SignedLocation signed_location{
      "https://dl.example.com/w/a.msi?expires=1700000900&sig=x",
      agentdl::SystemTime(std::chrono::seconds(1700000900))
    };
    CHECK(
      agentdl::resolution_json(*latest, signed_location)
        .ends_with(R"("url":"https://dl.example.com/w/a.msi?expires=1700000900&sig=x",)"
                   R"("filename":"a.msi",)"
                   R"("sha256":"94d5550935517edc9fa5d056a94ea014853309056192232222d392a678671cbb",)"
                   R"("size":48213504,"expires_at":"2023-11-14T22:28:20Z"})"));
  }
}

TEST_CASE("output: release list")
{
  CHECK(
    agentdl::releases_json(catalog(), catalog().find_channel("stable")) ==
    R"({"releases":[{"version":"1.8.3","channels":["stable"],"current_in":["latest","stable"],)"
    R"("published_at":"2026-10-01T12:00:00Z","yanked":false,"artifacts":[{"platform":"windows",)"
    R"("arch":"x86_64","url":"https://dl.example.com/w/a.msi","filename":"a.msi",)"
    R"("sha256":"94d5550935517edc9fa5d056a94ea014853309056192232222d392a678671cbb",)"
    R"("size":48213504}]}],"channels":{"stable":{"includes":[],"current":"1.8.3"}},)"
    R"("platforms":{"windows":{"archs":["x86_64"],"default_arch":"x86_64"}},)"
    R"("default_channel":"stable","aliases":{"platform":{},"arch":{}}})");
  CHECK(agentdl::releases_table(agentdl::releases_json(catalog(), std::nullopt)).value() ==
        "VERSION  CHANNELS  STATUS                  PUBLISHED             ARTIFACTS\n"
        "2.0      latest    yanked                  -                     -\n"
        "1.8.3    stable    current: latest,stable  2026-10-01T12:00:00Z  windows/x86_64\n");
}

TEST_CASE("output: the list table from a server's JSON")
{
  // What a server sends is drawn the same way; missing keys show as "-".
  CHECK(agentdl::releases_table(R"({"releases":[{"version":"2.0","yanked":false,)"
                                R"("current_in":["stable"],"artifacts":[{"platform":"macos",)"
                                R"("arch":"arm64"},{"platform":"windows","arch":"x86_64"}]}]})")
          .value() ==
        "VERSION  CHANNELS  STATUS           PUBLISHED  ARTIFACTS\n"
        "2.0      -         current: stable  -          macos/arm64 windows/x86_64\n");
  CHECK(agentdl::releases_table(R"({"releases":[]})").value() ==
        "VERSION  CHANNELS  STATUS  PUBLISHED  ARTIFACTS\n");
  for (const auto* bad :
       { "", "[]", "{}", R"({"releases":{}})", R"({"releases":[1]})", "<html>" }) {
    CAPTURE(bad);
    const auto table = agentdl::releases_table(bad);
    REQUIRE_FALSE(table.has_value());
    CHECK(table.error().code == agentdl::Errc::network);
    CHECK(table.error().message ==
          R"(the release list is not the {"releases":[...]} object expected)");
  }
}

TEST_CASE("output: error JSON has the contract's shape")
{
  const agentdl::Error error(
    agentdl::Errc::not_found,
    "Agent artifact not found",
    { { "version", "1.8.3" }, { "platform", "macos" }, { "arch", "x86_64" } });
  CHECK(agentdl::error_json(error) ==
        R"({"error":{"code":"not_found","message":"Agent artifact not found",)"
        R"("details":{"version":"1.8.3","platform":"macos","arch":"x86_64"}}})");
  const agentdl::Error bad(agentdl::Errc::bad_request,
                           "unknown platform",
                           { { "parameter", "platform" },
                             { "value", "x\r\n" },
                             { "allowed", std::vector<std::string>{ "macos", "windows" } } });
  CHECK(agentdl::error_json(bad) ==
        R"({"error":{"code":"bad_request","message":"unknown platform",)"
        R"("details":{"parameter":"platform","value":"x\r\n","allowed":["macos","windows"]}}})");
  CHECK(agentdl::error_json(agentdl::Error(agentdl::Errc::internal, "Internal error")) ==
        R"({"error":{"code":"internal_error","message":"Internal error","details":{}}})");
  // Bytes from a request that are not UTF-8 are escaped, message and details alike.
  const agentdl::Error raw(
    agentdl::Errc::bad_request,
    "invalid version \"\xFF\"",
    { { "value", "a\xC0\xAE" }, { "allowed", std::vector<std::string>{ "\xED\xA0\x80" } } });
  CHECK(agentdl::error_json(raw) ==
        R"({"error":{"code":"bad_request","message":"invalid version \"\\xFF\"",)"
        R"("details":{"value":"a\\xC0\\xAE","allowed":["\\xED\\xA0\\x80"]}}})");
}
