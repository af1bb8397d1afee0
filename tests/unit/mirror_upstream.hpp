// The upstream catalog the mirror's unit tests copy from: three channels
// (stable pinned to an older release, beta including stable, nightly), two
// platforms, a yanked release and a release of no channel.
#pragma once

#include <agentdl/catalog.hpp>
#include <agentdl/mirror/listing.hpp>

#include <doctest/doctest.h>

#include <string>

namespace mirror_test {

// Returns 64 hex digits made of `digit`: a distinct sha256 per artifact.
inline std::string sha(char digit)
{
  return std::string(64, digit);
}

inline const std::string k_upstream = R"(default_channel = "stable"
[platforms.windows]
archs = ["x86_64"]
default_arch = "x86_64"
[platforms.macos]
archs = ["arm64", "x86_64"]
[aliases]
platform = { mac-os = "macos" }
arch = { intel = "x86_64" }
[channels.stable]
current = "1.8.2"
[channels.beta]
includes = ["stable"]
[channels.nightly]
[storage]
base_url = "https://dl.example.com/agent/"
[[releases]]
version = "2.1.0"
channels = ["beta"]
yanked = true
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "w/2.1.0/Agent.msi"
[[releases]]
version = "v2.0.0-beta.1"
channels = ["beta"]
published_at = 2026-11-01T08:00:00Z
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "w/2.0.0-beta.1/Agent.msi"
  sha256 = ")" + sha('1') + R"("
  size = 100
  [[releases.artifacts]]
  platform = "macos"
  arch = "arm64"
  url = "https://cdn.example.net/m/Agent%202.pkg?sig=x"
  sha256 = ")" + sha('2') + R"("
[[releases]]
version = "1.9.0"
channels = ["stable", "nightly"]
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "w/1.9.0/Agent.msi"
  sha256 = ")" + sha('3') + R"("
  size = 300
  [[releases.artifacts]]
  platform = "macos"
  arch = "x86_64"
  path = "m/1.9.0/Agent.pkg"
  sha256 = ")" + sha('4') + R"("
  size = 400
[[releases]]
version = "1.8.2"
channels = ["stable"]
published_at = 2026-10-01T12:00:00Z
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "w/1.8.2/Agent.msi"
  sha256 = ")" + sha('5') + R"("
  size = 500
  [[releases.artifacts]]
  platform = "macos"
  arch = "arm64"
  path = "m/1.8.2/Agent.pkg"
  size = 600
[[releases]]
version = "1.7"
channels = ["stable"]
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "w/1.7/Agent.msi"
  sha256 = ")" + sha('7') + R"("
  size = 700
[[releases]]
version = "0.9.0"
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "w/0.9.0/Agent.msi"
  sha256 = ")" + sha('9') + R"("
  size = 900
)";

// Returns the upstream catalog, loaded.
inline const agentdl::Catalog& upstream_catalog()
{
  static const auto loaded = [] {
    auto c = agentdl::parse_catalog(k_upstream, "upstream.toml");
    REQUIRE_MESSAGE(c.has_value(), c.error().message);
    return std::move(*c);
  }();
  return loaded;
}

// Returns the listing of the upstream catalog.
inline const agentdl::mirror::Listing& upstream()
{
  static const auto listing = agentdl::mirror::listing_of(upstream_catalog());
  return listing;
}

} // namespace mirror_test
