#include "mirror_upstream.hpp"

#include <agentdl/catalog/kept_tables.hpp>
#include <agentdl/mirror/plan.hpp>
#include <agentdl/mirror/write_catalog.hpp>
#include <agentdl/resolver.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <string>
#include <vector>

using agentdl::Catalog;
using agentdl::mirror::Filters;
using agentdl::mirror::k_kept_tables;
using agentdl::mirror::Listing;
using agentdl::mirror::write_catalog;
using mirror_test::sha;
using mirror_test::upstream;
using mirror_test::upstream_catalog;

namespace {

Listing mirrored(const Filters& filters)
{
  auto listing = agentdl::mirror::mirror_listing(upstream(), filters);
  REQUIRE_MESSAGE(listing.has_value(), listing.error().message);
  return std::move(*listing);
}

Catalog load(const std::string& text)
{
  auto catalog = agentdl::parse_catalog(text, "mirror/agentdl.toml");
  REQUIRE_MESSAGE(catalog.has_value(), std::string(catalog.error().message + "\n" + text));
  return std::move(*catalog);
}

// Returns what `catalog` answers for `query`: the version and sha256 of the
// artifact, or the error's code and the version it names.
std::string answer(const Catalog& catalog, const agentdl::Query& query)
{
  const auto resolution = agentdl::resolve(catalog, query);
  if (resolution) {
    return fmt::format("{} {}",
                       resolution->release->version.str(),
                       resolution->artifact->sha256.empty() ? "-" : resolution->artifact->sha256);
  }
  std::string version = "-";
  for (const auto& detail : resolution.error().details) {
    if (detail.key == "version") {
      version = std::get<std::string>(detail.value);
    }
  }
  return fmt::format("{} {}", agentdl::code_name(resolution.error().code), version);
}

// Returns every query of `catalog`'s platforms and archs: latest of each of
// `channels` (and of the default channel), and each of `versions`.
std::vector<agentdl::Query> queries(const Catalog& catalog,
                                    const std::vector<std::string>& channels,
                                    const std::vector<std::string>& versions)
{
  std::vector<agentdl::Query> out;
  for (const auto& platform : catalog.platforms) {
    for (const auto arch : platform.archs) {
      const std::string_view p = platform.name;
      const std::string_view a = catalog.archs[arch];
      out.push_back({ .channel = std::nullopt, .version = std::nullopt, .platform = p, .arch = a });
      for (const auto& channel : channels) {
        out.push_back({ .channel = channel, .version = std::nullopt, .platform = p, .arch = a });
      }
      for (const auto& version : versions) {
        out.push_back({ .channel = std::nullopt, .version = version, .platform = p, .arch = a });
      }
    }
  }
  return out;
}

std::string describe(const agentdl::Query& q)
{
  return fmt::format("channel={} version={} {}/{}",
                     q.channel.value_or("-"),
                     q.version.value_or("-"),
                     q.platform.value_or("-"),
                     q.arch.value_or("-"));
}

} // namespace

TEST_CASE("mirror write_catalog: the text")
{
  const auto text = write_catalog(mirrored(Filters{ { "nightly" }, { "macos" }, {}, std::nullopt }),
                                  std::nullopt,
                                  "https://api.example.com/v2");
  CHECK(
    text ==
    R"(# The catalog of an agentdl mirror of https://api.example.com/v2, written by `agentdl mirror sync`.
# Each sync writes it anew, but keeps the [storage], [server] and [auth]
# tables as they are: edit those.

[platforms.macos]
archs = ["arm64", "x86_64"]

[platforms.windows]
archs = ["x86_64"]
default_arch = "x86_64"

[aliases.platform]
mac-os = "macos"

[aliases.arch]
intel = "x86_64"

[channels.nightly]

[mirror]
root = "."

[storage]
signing = "none"

[auth]
mode = "none"

[[releases]]
version = "1.9.0"
channels = ["nightly"]
yanked = false
  [[releases.artifacts]]
  platform = "macos"
  arch = "x86_64"
  path = "1.9.0/macos/x86_64/Agent.pkg"
  sha256 = ")" +
      sha('4') + R"("
  size = 400
)");
  const auto catalog = load(text);
  CHECK(catalog.mirror.root == ".");
  CHECK(catalog.storage.base_url.empty());
  CHECK(catalog.auth.mode == agentdl::AuthMode::none);
  CHECK(catalog.releases[0].artifacts[0].location ==
        "http://127.0.0.1:8080/files/1.9.0/macos/x86_64/Agent.pkg");
}

TEST_CASE("mirror write_catalog: the mirror answers as the upstream does")
{
  const std::vector<std::string> channels{ "beta", "nightly", "stable" };
  const std::vector<std::string> versions{ "2.1.0", "2.0.0-beta.1", "v1.9", "1.8.2",
                                           "1.7.0", "0.9.0",        "0.8" };
  const auto& up = upstream_catalog();
  const auto mirror = load(write_catalog(mirrored({}), std::nullopt, "upstream.toml"));
  for (const auto& query : queries(up, channels, versions)) {
    CAPTURE(describe(query));
    CHECK(answer(mirror, query) == answer(up, query));
  }
  CHECK(mirror.channels[*mirror.find_channel("stable")].pin.has_value());
  CHECK_FALSE(mirror.channels[*mirror.find_channel("beta")].pin.has_value());
  CHECK(agentdl::resolve(mirror, { .platform = "Mac-OS", .arch = "Intel" }).has_value() ==
        agentdl::resolve(up, { .platform = "Mac-OS", .arch = "Intel" }).has_value());

  SUBCASE("filtered: the same release wherever the mirror answers")
  {
    const auto filtered = load(write_catalog(
      mirrored(Filters{ { "beta" }, { "windows" }, {}, "1.9" }), std::nullopt, "upstream.toml"));
    const std::vector<std::string> mirrored_channels{ "beta", "stable" };
    const std::vector<std::string> mirrored_versions{ "2.0.0-beta.1", "1.9.0", "1.8.2" };
    for (const auto& query : queries(up, mirrored_channels, mirrored_versions)) {
      CAPTURE(describe(query));
      const auto got = answer(filtered, query);
      const auto expected = answer(up, query);
      if (query.platform == "windows" || expected.starts_with("not_found ")) {
        CHECK(got == expected);
      } else {
        // Not mirrored: not found, in the release the upstream answers with.
        CHECK(got == "not_found " + expected.substr(0, expected.find(' ')));
      }
    }
  }
}

TEST_CASE("mirror write_catalog: the operator's tables are kept")
{
  const std::string kept = R"(# Clients inside the office.
[server]
listen = ["0.0.0.0:8080"]
public_url = "https://mirror.example.org"

[page]
enabled = false

[auth]
mode = "required"
# The CI runners.
[[auth.tokens]]
name = "ci"
sha256 = ")" + sha('c') + R"("
channels = ["stable"]
)";
  const auto text = write_catalog(mirrored({}), kept, "upstream.toml");
  const auto catalog = load(text);
  CHECK(catalog.server.public_url == "https://mirror.example.org");
  CHECK_FALSE(catalog.page.enabled);
  CHECK(catalog.auth.mode == agentdl::AuthMode::required);
  REQUIRE(catalog.auth.tokens.size() == 1);
  CHECK(catalog.releases[0].artifacts[0].location ==
        "https://mirror.example.org/files/2.0.0-beta.1/windows/x86_64/Agent.msi");
  // Read back by the next sync, byte for byte.
  const auto again = agentdl::kept_tables(text, "mirror/agentdl.toml", k_kept_tables);
  REQUIRE_MESSAGE(again.has_value(), again.error().message);
  CHECK(*again == kept);
  CHECK(write_catalog(mirrored({}), *again, "upstream.toml") == text);
}

TEST_CASE("mirror write_catalog: names are written as TOML strings")
{
  auto listing = upstream();
  listing.releases[4].artifacts[0].filename = "Agent \"x\" #1 'y'.msi";
  const auto text =
    write_catalog(*agentdl::mirror::mirror_listing(listing, Filters{ { "stable" }, {}, {}, "1.7" }),
                  std::nullopt,
                  "a\nb");
  CHECK(text.starts_with("# The catalog of an agentdl mirror of a?b, written"));
  const auto catalog = load(text);
  CHECK(catalog.releases.back().artifacts[0].path == "1.7/windows/x86_64/Agent \"x\" #1 'y'.msi");
}
