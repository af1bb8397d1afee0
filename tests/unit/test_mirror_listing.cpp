#include "mirror_upstream.hpp"

#include <agentdl/auth.hpp>
#include <agentdl/mirror/listing.hpp>
#include <agentdl/output.hpp>

#include <doctest/doctest.h>

#include <string>

using agentdl::mirror::Listing;
using agentdl::mirror::listing_of;
using agentdl::mirror::parse_listing;
using mirror_test::sha;
using mirror_test::upstream;
using mirror_test::upstream_catalog;

TEST_CASE("mirror listing: of a catalog")
{
  const auto& listing = upstream();
  REQUIRE(listing.platforms.size() == 2);
  CHECK(listing.platforms[0] ==
        agentdl::mirror::ListedPlatform{ "macos", { "arm64", "x86_64" }, std::nullopt });
  CHECK(listing.platforms[1] ==
        agentdl::mirror::ListedPlatform{ "windows", { "x86_64" }, "x86_64" });
  CHECK(listing.platform_aliases ==
        std::vector<std::pair<std::string, std::string>>{ { "mac-os", "macos" } });
  CHECK(listing.arch_aliases ==
        std::vector<std::pair<std::string, std::string>>{ { "intel", "x86_64" } });
  CHECK(listing.channels == std::vector<agentdl::mirror::ListedChannel>{
                              { "beta", { "stable" }, "2.0.0-beta.1", false },
                              { "nightly", {}, "1.9.0", false },
                              { "stable", {}, "1.8.2", false } });
  CHECK(listing.default_channel == "stable");
  std::vector<std::string> versions;
  for (const auto& release : listing.releases) {
    versions.push_back(release.version.str() + (release.yanked ? " (yanked)" : ""));
  }
  CHECK(versions == std::vector<std::string>{
                      "2.1.0 (yanked)", "2.0.0-beta.1", "1.9.0", "1.8.2", "1.7", "0.9.0" });
  const auto& beta = listing.releases[1];
  CHECK(beta.channels == std::vector<std::string>{ "beta" });
  CHECK(beta.published_at == "2026-11-01T08:00:00Z");
  CHECK(beta.artifacts == std::vector<agentdl::mirror::ListedArtifact>{
                            { "windows", "x86_64", "Agent.msi", sha('1'), 100, "" },
                            { "macos", "arm64", "Agent 2.pkg", sha('2'), std::nullopt, "" } });
  CHECK(listing.releases[5].channels.empty());
  CHECK(listing.reach("beta") == std::vector<std::string>{ "beta", "stable" });
  CHECK(listing.reach("nightly") == std::vector<std::string>{ "nightly" });
}

TEST_CASE("mirror listing: a server's release list reads as the catalog it shows")
{
  const auto& catalog = upstream_catalog();
  const auto parsed = parse_listing(agentdl::releases_json(catalog, std::nullopt));
  REQUIRE_MESSAGE(parsed.has_value(), parsed.error().message);
  CHECK(*parsed == upstream());

  SUBCASE("a token's view: the channels it does not see are left out")
  {
    agentdl::TokenEntry token;
    token.name = "stable-reader";
    token.channels = { *catalog.find_channel("stable") };
    const auto scope = agentdl::Scope::of(catalog, agentdl::Caller{ &token });
    const auto view = parse_listing(agentdl::releases_json(catalog, std::nullopt, scope));
    REQUIRE_MESSAGE(view.has_value(), view.error().message);
    REQUIRE(view->channels.size() == 1);
    CHECK(view->channels[0].name == "stable");
    std::vector<std::string> seen;
    for (const auto& release : view->releases) {
      seen.push_back(release.version.str() + ":" +
                     (release.channels.empty() ? "-" : release.channels.front()) + ":" +
                     std::to_string(release.channels.size()));
    }
    CHECK(seen == std::vector<std::string>{ "1.9.0:stable:1", "1.8.2:stable:1", "1.7:stable:1" });
  }
}

TEST_CASE("mirror listing: what a server's list must hold")
{
  const std::string good = agentdl::releases_json(upstream_catalog(), std::nullopt);
  const auto replaced = [&](std::string_view from, std::string_view to) {
    auto text = good;
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
  };
  const std::string prefix = "the server's release list is not what agentdl expects: ";
  struct Case
  {
    std::string json;
    std::string message;
  };
  for (const auto& c : {
         Case{ "[1,", "the server's release list is not JSON" },
         Case{ "[]", prefix + "its top level should be an object" },
         Case{ replaced("\"platforms\"", "\"platformz\""),
               prefix + "platforms should be an object" },
         Case{ replaced("\"archs\":[\"x86_64\"]", "\"archs\":[1]"),
               prefix + "platforms.windows.archs[0] should be a string" },
         Case{ replaced("\"version\":\"1.9.0\"", "\"version\":\"1.x\""),
               prefix + "releases[2].version should be a version, not \"1.x\"" },
         Case{ replaced(sha('3'), "abc"),
               prefix + "releases[2].artifacts[0].sha256 should be 64 hexadecimal digits or null" },
         Case{ replaced("\"size\":300", "\"size\":-3"),
               prefix + "releases[2].artifacts[0].size should be a number of bytes or null" },
         Case{ replaced("\"2026-10-01T12:00:00Z\"", "\"2026-10-01T12:00:00Z\\n[server]\""),
               prefix + "releases[3].published_at should be an RFC 3339 time or null" },
         Case{ replaced("\"yanked\":true", "\"yanked\":\"yes\""),
               prefix + "releases[0].yanked should be true or false" },
         Case{ replaced("\"includes\":[\"stable\"]", "\"includes\":[\"lts\"]"),
               prefix + "channels.beta.includes should be channels of the list, not \"lts\"" },
         Case{ replaced("\"current\":\"1.8.2\"", "\"current\":\"1.8.1\""),
               prefix + "channels.stable.current should be a release of the list, not \"1.8.1\"" },
         Case{ replaced("\"default_channel\":\"stable\"", "\"default_channel\":\"lts\""),
               prefix + "default_channel should be a channel of the list or null" },
         Case{ replaced("\"platform\":\"macos\",\"arch\":\"x86_64\"",
                        "\"platform\":\"linux\",\"arch\":\"x86_64\""),
               prefix + "releases[2].artifacts[1].platform should be a platform of the list" },
         Case{ replaced("\"platform\":\"macos\",\"arch\":\"x86_64\"",
                        "\"platform\":\"macos\",\"arch\":\"ppc\""),
               prefix + "releases[2].artifacts[1].arch should be an arch of platform macos" },
       }) {
    CAPTURE(c.json);
    const auto parsed = parse_listing(c.json);
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error().code == agentdl::Errc::network);
    CHECK(parsed.error().message == c.message);
  }
}
