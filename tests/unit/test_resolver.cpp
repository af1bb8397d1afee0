#include <agentdl/catalog.hpp>
#include <agentdl/resolver.hpp>

#include <doctest/doctest.h>

#include <string>

using agentdl::Detail;
using agentdl::Errc;
using agentdl::Query;

namespace {

const std::string k_catalog = R"(default_channel = "stable"
[platforms.windows]
archs = ["x86_64", "arm64"]
default_arch = "x86_64"
[platforms.macos]
archs = ["arm64", "x86_64"]
[channels.stable]
[channels.latest]
includes = ["stable"]
[channels.nightly]
includes = ["latest"]
[channels.empty]
[storage]
base_url = "https://dl.example.com/"

[[releases]]
version = "2.0.0-rc.1"
channels = ["latest"]
  [[releases.artifacts]]
  platform = "macos"
  arch = "arm64"
  path = "m/2.0.0-rc.1/a.pkg"
[[releases]]
version = "1.9.0"
channels = ["stable"]
yanked = true
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "w/1.9.0/a.msi"
[[releases]]
version = "1.8.3"
channels = ["stable"]
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "w/1.8.3/a.msi"
  [[releases.artifacts]]
  platform = "macos"
  arch = "arm64"
  path = "m/arm64/1.8.3/a.pkg"
  [[releases.artifacts]]
  platform = "macos"
  arch = "x86_64"
  path = "m/x86_64/1.8.3/a.pkg"
[[releases]]
version = "1.8.3.1200"
channels = ["nightly"]
  [[releases.artifacts]]
  platform = "windows"
  arch = "arm64"
  path = "w/arm64/1.8.3.1200/a.msi"
)";

const agentdl::Catalog& catalog()
{
  static const auto loaded = [] {
    auto c = agentdl::parse_catalog(k_catalog, "t.toml");
    REQUIRE_MESSAGE(c.has_value(), c.error().message);
    return std::move(*c);
  }();
  return loaded;
}

std::string url_of(const Query& query)
{
  auto r = agentdl::resolve(catalog(), query);
  REQUIRE_MESSAGE(r.has_value(), r.error().message);
  return r->artifact->location;
}

agentdl::Error error_of(const Query& query)
{
  auto r = agentdl::resolve(catalog(), query);
  REQUIRE_FALSE(r.has_value());
  return r.error();
}

using List = std::vector<std::string>;

} // namespace

TEST_CASE("resolver: latest on the default channel")
{
  const auto r = agentdl::resolve(catalog(), { .platform = "windows" });
  REQUIRE(r.has_value());
  CHECK(r->release->version.str() == "1.8.3");
  CHECK(r->channel->name == "stable");
  CHECK(r->platform->name == "windows");
  CHECK(r->arch == "x86_64");
  CHECK(r->artifact->location == "https://dl.example.com/w/1.8.3/a.msi");
}

TEST_CASE("resolver: latest skips yanked")
{
  // 1.9.0 is the highest stable release but yanked.
  CHECK(url_of({ .channel = "stable", .platform = "windows" }) ==
        "https://dl.example.com/w/1.8.3/a.msi");
}

TEST_CASE("resolver: includes make stable's releases part of latest")
{
  CHECK(url_of({ .channel = "latest", .platform = "macos", .arch = "arm64" }) ==
        "https://dl.example.com/m/2.0.0-rc.1/a.pkg");
  // Transitively: nightly includes latest includes stable.
  const auto r =
    agentdl::resolve(catalog(), { .channel = "nightly", .platform = "macos", .arch = "arm64" });
  REQUIRE(r.has_value());
  CHECK(r->release->version.str() == "2.0.0-rc.1");
}

TEST_CASE("resolver: no fallback to an older release")
{
  // latest's current release 2.0.0-rc.1 has no windows artifact; 1.8.3 has one.
  const auto e = error_of({ .channel = "latest", .platform = "windows" });
  CHECK(e.code == Errc::not_found);
  CHECK(e.message ==
        "no artifact for windows/x86_64 in release 2.0.0-rc.1 (current release of channel "
        "\"latest\")");
  CHECK(e.details == std::vector<Detail>{ { "channel", "latest" },
                                          { "version", "2.0.0-rc.1" },
                                          { "platform", "windows" },
                                          { "arch", "x86_64" } });
}

TEST_CASE("resolver: a channel without releases")
{
  const auto e = error_of({ .channel = "empty", .platform = "windows" });
  CHECK(e.code == Errc::not_found);
  CHECK(e.message == "channel \"empty\" has no release");
  CHECK(e.details == std::vector<Detail>{
                       { "channel", "empty" }, { "platform", "windows" }, { "arch", "x86_64" } });
}

TEST_CASE("resolver: versioned lookup by precedence")
{
  CHECK(url_of({ .version = "1.8.3", .platform = "macos", .arch = "x86_64" }) ==
        "https://dl.example.com/m/x86_64/1.8.3/a.pkg");
  CHECK(url_of({ .version = "v1.8.3", .platform = "macos", .arch = "x86_64" }) ==
        "https://dl.example.com/m/x86_64/1.8.3/a.pkg");
  CHECK(url_of({ .version = "1.8.3.0+build.9", .platform = "windows" }) ==
        "https://dl.example.com/w/1.8.3/a.msi");
  CHECK(url_of({ .version = "1.8.3.1200", .platform = "windows", .arch = "arm64" }) ==
        "https://dl.example.com/w/arm64/1.8.3.1200/a.msi");
  SUBCASE("channel is ignored with a version")
  {
    CHECK(url_of({ .channel = "nosuch", .version = "1.8.3", .platform = "windows" }) ==
          "https://dl.example.com/w/1.8.3/a.msi");
  }
  SUBCASE("a versioned resolution has no channel")
  {
    const auto r = agentdl::resolve(catalog(), { .version = "1.8.3", .platform = "windows" });
    REQUIRE(r.has_value());
    CHECK(r->channel == nullptr);
  }
}

TEST_CASE("resolver: versioned failures")
{
  SUBCASE("no such release")
  {
    const auto e = error_of({ .version = "1.7", .platform = "macos", .arch = "arm64" });
    CHECK(e.code == Errc::not_found);
    CHECK(e.message == "no release 1.7");
    CHECK(e.details == std::vector<Detail>{
                         { "version", "1.7" }, { "platform", "macos" }, { "arch", "arm64" } });
  }
  SUBCASE("yanked release")
  {
    const auto e = error_of({ .version = "1.9.0", .platform = "windows" });
    CHECK(e.code == Errc::not_found);
    CHECK(e.message == "release 1.9.0 is yanked");
  }
  SUBCASE("no artifact for that platform/arch")
  {
    const auto e = error_of({ .version = "1.8.3", .platform = "windows", .arch = "arm64" });
    CHECK(e.code == Errc::not_found);
    CHECK(e.message == "no artifact for windows/arm64 in release 1.8.3");
    CHECK(e.details == std::vector<Detail>{
                         { "version", "1.8.3" }, { "platform", "windows" }, { "arch", "arm64" } });
  }
  SUBCASE("malformed version")
  {
    const auto e = error_of({ .version = "../etc", .platform = "windows" });
    CHECK(e.code == Errc::bad_request);
    CHECK(e.message ==
          "invalid version \"../etc\": must be 1 to 4 dot-separated numbers, then optional "
          "-prerelease and +build (e.g. 1.8.3, 1.9.0-beta.2)");
    CHECK(e.details == std::vector<Detail>{ { "parameter", "version" }, { "value", "../etc" } });
  }
}

TEST_CASE("resolver: aliases and case-insensitive matching")
{
  CHECK(url_of({ .channel = "STABLE", .platform = "Darwin", .arch = "AARCH64" }) ==
        "https://dl.example.com/m/arm64/1.8.3/a.pkg");
  CHECK(url_of({ .platform = "MacOS", .arch = "amd64" }) ==
        "https://dl.example.com/m/x86_64/1.8.3/a.pkg");
  CHECK(url_of({ .platform = "WIN32", .arch = "X64" }) == "https://dl.example.com/w/1.8.3/a.msi");
}

TEST_CASE("resolver: default_arch")
{
  const auto r = agentdl::resolve(catalog(), { .platform = "windows" });
  REQUIRE(r.has_value());
  CHECK(r->arch == "x86_64");
}

TEST_CASE("resolver: invalid parameters are 400 with parameter, value and allowed")
{
  SUBCASE("missing platform")
  {
    const auto e = error_of({});
    CHECK(e.code == Errc::bad_request);
    CHECK(e.message == "missing parameter \"platform\" (allowed: macos, windows)");
    CHECK(e.details == std::vector<Detail>{ { "parameter", "platform" },
                                            { "allowed", List{ "macos", "windows" } } });
  }
  SUBCASE("empty platform")
  {
    const auto e = error_of({ .platform = "" });
    CHECK(e.message == "empty parameter \"platform\" (allowed: macos, windows)");
    CHECK(e.details == std::vector<Detail>{ { "parameter", "platform" },
                                            { "value", "" },
                                            { "allowed", List{ "macos", "windows" } } });
  }
  SUBCASE("unknown platform")
  {
    const auto e = error_of({ .platform = "Linux" });
    CHECK(e.code == Errc::bad_request);
    CHECK(e.message == "unknown platform \"Linux\" (allowed: macos, windows)");
    CHECK(e.details == std::vector<Detail>{ { "parameter", "platform" },
                                            { "value", "Linux" },
                                            { "allowed", List{ "macos", "windows" } } });
  }
  SUBCASE("arch required without default_arch")
  {
    const auto e = error_of({ .platform = "macos" });
    CHECK(e.code == Errc::bad_request);
    CHECK(e.message ==
          "missing parameter \"arch\", required for platform macos (allowed: arm64, x86_64)");
    CHECK(e.details ==
          std::vector<Detail>{ { "parameter", "arch" }, { "allowed", List{ "arm64", "x86_64" } } });
  }
  SUBCASE("invalid platform/arch combination")
  {
    const auto e = error_of({ .platform = "macos", .arch = "ppc" });
    CHECK(e.code == Errc::bad_request);
    CHECK(e.message == "arch \"ppc\" is not available for platform macos (allowed: arm64, x86_64)");
    CHECK(e.details == std::vector<Detail>{ { "parameter", "arch" },
                                            { "value", "ppc" },
                                            { "allowed", List{ "arm64", "x86_64" } } });
  }
  SUBCASE("empty arch")
  {
    const auto e = error_of({ .platform = "windows", .arch = "" });
    CHECK(e.code == Errc::bad_request);
    CHECK(e.message == "empty parameter \"arch\" (allowed: x86_64, arm64)");
  }
  SUBCASE("unknown channel")
  {
    const auto e = error_of({ .channel = "beta", .platform = "windows" });
    CHECK(e.code == Errc::bad_request);
    CHECK(e.message == "unknown channel \"beta\" (allowed: empty, latest, nightly, stable)");
    CHECK(e.details ==
          std::vector<Detail>{ { "parameter", "channel" },
                               { "value", "beta" },
                               { "allowed", List{ "empty", "latest", "nightly", "stable" } } });
  }
  SUBCASE("empty channel")
  {
    const auto e = error_of({ .channel = "", .platform = "windows" });
    CHECK(e.message == "empty parameter \"channel\" (allowed: empty, latest, nightly, stable)");
  }
  SUBCASE("no default channel")
  {
    auto c = agentdl::parse_catalog(
      "[platforms.windows]\narchs = [\"x86_64\"]\ndefault_arch = \"x86_64\"\n[channels.beta]\n",
      "t.toml");
    REQUIRE(c.has_value());
    const auto r = agentdl::resolve(*c, { .platform = "windows" });
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message ==
          "missing parameter \"channel\" (the catalog has no default channel) (allowed: beta)");
  }
}

TEST_CASE("resolver: a pinned channel")
{
  auto text = k_catalog;
  text.replace(text.find("[channels.stable]\n"), 18, "[channels.stable]\ncurrent = \"1.8.3\"\n");
  // Unyank 1.9.0 so that the pin, not the yank, decides.
  text.replace(text.find("yanked = true\n"), 14, "");
  auto c = agentdl::parse_catalog(text, "t.toml");
  REQUIRE_MESSAGE(c.has_value(), c.error().message);
  const auto r = agentdl::resolve(*c, { .channel = "stable", .platform = "windows" });
  REQUIRE(r.has_value());
  CHECK(r->release->version.str() == "1.8.3");
  // A channel that includes the pinned one still takes its own highest.
  const auto l =
    agentdl::resolve(*c, { .channel = "latest", .platform = "macos", .arch = "arm64" });
  REQUIRE(l.has_value());
  CHECK(l->release->version.str() == "2.0.0-rc.1");
}

TEST_CASE("resolver: explain")
{
  SUBCASE("latest")
  {
    CHECK(agentdl::explain(catalog(), { .platform = "windows" }) ==
          List{ "platform windows, arch x86_64 (default_arch)",
                "channel \"stable\" (default channel): releases of stable",
                "release 1.9.0: passed over (yanked)",
                "release 1.8.3: chosen (highest non-yanked release); has a.msi" });
  }
  SUBCASE("no fallback")
  {
    CHECK(agentdl::explain(catalog(), { .channel = "nightly", .platform = "windows" }) ==
          List{ "platform windows, arch x86_64 (default_arch)",
                "channel \"nightly\": releases of latest, nightly, stable",
                "release 2.0.0-rc.1: chosen (highest non-yanked release); has no artifact for "
                "windows/x86_64",
                "older releases are not considered: no fallback past the current release",
                "3 older releases not considered" });
  }
  SUBCASE("version")
  {
    CHECK(agentdl::explain(catalog(), { .version = "1.9", .platform = "windows" }) ==
          List{ "platform windows, arch x86_64 (default_arch)",
                "release 1.9.0: yanked, never resolved; has a.msi" });
    CHECK(agentdl::explain(catalog(), { .version = "3", .platform = "windows" }) ==
          List{ "platform windows, arch x86_64 (default_arch)", "no release has version 3" });
  }
  SUBCASE("bad parameters")
  {
    CHECK(agentdl::explain(catalog(), { .platform = "beos" }) ==
          List{ "parameters rejected: unknown platform \"beos\" (allowed: macos, windows)" });
  }
}
