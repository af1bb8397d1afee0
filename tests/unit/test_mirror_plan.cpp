#include "mirror_upstream.hpp"

#include <agentdl/mirror/plan.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>
#include <vector>

using agentdl::Errc;
using agentdl::mirror::ArtifactRef;
using agentdl::mirror::FileStat;
using agentdl::mirror::Filters;
using agentdl::mirror::Listing;
using agentdl::mirror::make_plan;
using agentdl::mirror::mirror_listing;
using agentdl::mirror::Prune;
using agentdl::mirror::Record;
using agentdl::mirror::RecordEntry;
using mirror_test::sha;
using mirror_test::upstream;

namespace {

// Returns a line per release: version, its channels, and its artifacts' paths.
std::vector<std::string> releases(const Listing& listing)
{
  std::vector<std::string> out;
  for (const auto& release : listing.releases) {
    std::vector<std::string> paths;
    for (const auto& artifact : release.artifacts) {
      paths.push_back(artifact.path);
    }
    out.push_back(fmt::format("{} [{}] {}",
                              release.version.str(),
                              fmt::join(release.channels, ","),
                              fmt::join(paths, ", ")));
  }
  return out;
}

// Returns a line per channel: name, includes, current and whether it is pinned.
std::vector<std::string> channels(const Listing& listing)
{
  std::vector<std::string> out;
  for (const auto& channel : listing.channels) {
    out.push_back(fmt::format("{} [{}] {}{}",
                              channel.name,
                              fmt::join(channel.includes, ","),
                              channel.current.value_or("-"),
                              channel.pinned ? " pinned" : ""));
  }
  return out;
}

Listing mirrored(const Filters& filters)
{
  auto listing = mirror_listing(upstream(), filters);
  REQUIRE_MESSAGE(listing.has_value(), listing.error().message);
  return std::move(*listing);
}

} // namespace

TEST_CASE("mirror plan: everything resolvable, where each file lies")
{
  const auto mirror = mirrored({});
  CHECK(releases(mirror) ==
        std::vector<std::string>{
          "2.0.0-beta.1 [beta] 2.0.0-beta.1/windows/x86_64/Agent.msi, "
          "2.0.0-beta.1/macos/arm64/Agent 2.pkg",
          "1.9.0 [stable,nightly] 1.9.0/windows/x86_64/Agent.msi, 1.9.0/macos/x86_64/Agent.pkg",
          "1.8.2 [stable] 1.8.2/windows/x86_64/Agent.msi, 1.8.2/macos/arm64/Agent.pkg",
          "1.7 [stable] 1.7/windows/x86_64/Agent.msi",
          "0.9.0 [] 0.9.0/windows/x86_64/Agent.msi" });
  // The mirror would pick 1.9.0 for stable by itself: upstream's 1.8.2 is pinned.
  CHECK(channels(mirror) == std::vector<std::string>{ "beta [stable] 2.0.0-beta.1",
                                                      "nightly [] 1.9.0",
                                                      "stable [] 1.8.2 pinned" });
  CHECK(mirror.default_channel == "stable");
  CHECK(mirror.platforms == upstream().platforms);
  CHECK(mirror.platform_aliases == upstream().platform_aliases);
  CHECK(mirror.arch_aliases == upstream().arch_aliases);
  const auto& artifact = mirror.releases[0].artifacts[0];
  CHECK(artifact.sha256 == sha('1'));
  CHECK(artifact.size == 100u);
  CHECK(agentdl::mirror::layout_path(mirror.releases[0], artifact) ==
        "2.0.0-beta.1/windows/x86_64/Agent.msi");
}

TEST_CASE("mirror plan: --channel selects it and what it includes")
{
  SUBCASE("beta, which includes stable")
  {
    const auto mirror = mirrored(Filters{ { "Beta" }, {}, {}, std::nullopt });
    CHECK(releases(mirror) ==
          std::vector<std::string>{
            "2.0.0-beta.1 [beta] 2.0.0-beta.1/windows/x86_64/Agent.msi, "
            "2.0.0-beta.1/macos/arm64/Agent 2.pkg",
            "1.9.0 [stable] 1.9.0/windows/x86_64/Agent.msi, 1.9.0/macos/x86_64/Agent.pkg",
            "1.8.2 [stable] 1.8.2/windows/x86_64/Agent.msi, 1.8.2/macos/arm64/Agent.pkg",
            "1.7 [stable] 1.7/windows/x86_64/Agent.msi" });
    CHECK(channels(mirror) ==
          std::vector<std::string>{ "beta [stable] 2.0.0-beta.1", "stable [] 1.8.2 pinned" });
    CHECK(mirror.default_channel == "stable");
  }
  SUBCASE("nightly alone: no default channel")
  {
    const auto mirror = mirrored(Filters{ { "nightly" }, {}, {}, std::nullopt });
    CHECK(releases(mirror) ==
          std::vector<std::string>{
            "1.9.0 [nightly] 1.9.0/windows/x86_64/Agent.msi, 1.9.0/macos/x86_64/Agent.pkg" });
    CHECK(channels(mirror) == std::vector<std::string>{ "nightly [] 1.9.0" });
    CHECK(mirror.default_channel == std::nullopt);
  }
  SUBCASE("two channels")
  {
    const auto mirror = mirrored(Filters{ { "nightly", "stable" }, {}, {}, std::nullopt });
    CHECK(channels(mirror) ==
          std::vector<std::string>{ "nightly [] 1.9.0", "stable [] 1.8.2 pinned" });
    CHECK(mirror.releases.size() == 3);
  }
}

TEST_CASE("mirror plan: --since keeps newer releases, and each channel's current one")
{
  SUBCASE("stable's pinned 1.8.2 stays below 1.9")
  {
    const auto mirror = mirrored(Filters{ {}, {}, {}, "1.9" });
    CHECK(releases(mirror) ==
          std::vector<std::string>{
            "2.0.0-beta.1 [beta] 2.0.0-beta.1/windows/x86_64/Agent.msi, "
            "2.0.0-beta.1/macos/arm64/Agent 2.pkg",
            "1.9.0 [stable,nightly] 1.9.0/windows/x86_64/Agent.msi, 1.9.0/macos/x86_64/Agent.pkg",
            "1.8.2 [stable] 1.8.2/windows/x86_64/Agent.msi, 1.8.2/macos/arm64/Agent.pkg" });
    CHECK(channels(mirror) == std::vector<std::string>{ "beta [stable] 2.0.0-beta.1",
                                                        "nightly [] 1.9.0",
                                                        "stable [] 1.8.2 pinned" });
  }
  SUBCASE("by precedence: a prerelease is below its release")
  {
    const auto mirror = mirrored(Filters{ { "beta" }, {}, {}, "v2.0.0-beta.1" });
    CHECK(mirror.releases.size() == 2); // 2.0.0-beta.1, and stable's current 1.8.2
    CHECK(mirrored(Filters{ { "nightly" }, {}, {}, "2.0.0" }).releases.size() == 1);
  }
}

TEST_CASE("mirror plan: --platform and --arch thin the artifacts, not the releases")
{
  const auto mirror = mirrored(Filters{ {}, { "MAC-OS" }, { "intel" }, std::nullopt });
  CHECK(releases(mirror) ==
        std::vector<std::string>{ "2.0.0-beta.1 [beta] ",
                                  "1.9.0 [stable,nightly] 1.9.0/macos/x86_64/Agent.pkg",
                                  "1.8.2 [stable] ",
                                  "1.7 [stable] ",
                                  "0.9.0 [] " });
  CHECK(channels(mirror) == std::vector<std::string>{ "beta [stable] 2.0.0-beta.1",
                                                      "nightly [] 1.9.0",
                                                      "stable [] 1.8.2 pinned" });
  const auto arm = mirrored(Filters{ {}, {}, { "arm64" }, std::nullopt });
  CHECK(releases(arm) ==
        std::vector<std::string>{ "2.0.0-beta.1 [beta] 2.0.0-beta.1/macos/arm64/Agent 2.pkg",
                                  "1.9.0 [stable,nightly] ",
                                  "1.8.2 [stable] 1.8.2/macos/arm64/Agent.pkg",
                                  "1.7 [stable] ",
                                  "0.9.0 [] " });
}

TEST_CASE("mirror plan: filters that name nothing upstream")
{
  struct Case
  {
    Filters filters;
    std::string message;
  };
  for (const auto& c : {
         Case{
           Filters{ { "lts" }, {}, {}, std::nullopt },
           "--channel \"lts\" names no channel of the upstream (channels: beta, nightly, stable)" },
         Case{
           Filters{ {}, { "linux" }, {}, std::nullopt },
           "--platform \"linux\" names no platform of the upstream (platforms: macos, windows)" },
         Case{ Filters{ {}, {}, { "ppc" }, std::nullopt },
               "--arch \"ppc\" names no arch of the upstream (archs: arm64, x86_64)" },
         Case{ Filters{ {}, {}, {}, "1.x" },
               "--since \"1.x\" is not a version: " + agentdl::Version::parse("1.x").error() },
       }) {
    CAPTURE(c.message);
    const auto result = mirror_listing(upstream(), c.filters);
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == Errc::usage);
    CHECK(result.error().message == c.message);
  }
}

TEST_CASE("mirror plan: file names a mirror cannot store")
{
  for (const auto& [name, why] : std::vector<std::pair<std::string, std::string>>{
         { "", "it is empty" },
         { ".profile", "it starts with '.'" },
         { "a.msi.part", "it ends with \".part\", as the files of unfinished downloads do" },
         { "a/b.msi", "it holds a '/', a '\\' or a control character" },
         { "a\\b.msi", "it holds a '/', a '\\' or a control character" },
         { "a\nb.msi", "it holds a '/', a '\\' or a control character" } }) {
    CAPTURE(name);
    auto listing = upstream();
    listing.releases[4].artifacts[0].filename = name;
    const auto result = mirror_listing(listing, {});
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == Errc::config);
    CHECK(result.error().message == "the artifact of release 1.7 for windows/x86_64 is named \"" +
                                      name + "\", which a mirror cannot store: " + why);
  }
}

TEST_CASE("mirror plan: platforms and archs that would leave the layout")
{
  for (const auto* name : { "..", "a/b" }) {
    CAPTURE(name);
    auto listing = upstream();
    listing.releases[4].artifacts[0].arch = name;
    const auto result = mirror_listing(listing, {});
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == Errc::config);
    CHECK(result.error().message ==
          fmt::format("the artifact of release 1.7 for windows/{} would lie at "
                      "\"1.7/windows/{}/Agent.msi\", outside a mirror's VERSION/PLATFORM/ARCH/FILE",
                      name,
                      name));
  }
}

TEST_CASE("mirror plan: fetch, skip and prune")
{
  // 2.0.0-beta.1 (windows, macos/arm64), 1.9.0 (windows, macos/x86_64), 1.8.2
  // (windows, macos/arm64 without a sha256).
  const auto mirror = mirrored(Filters{ {}, {}, {}, "1.8" });
  REQUIRE(mirror.releases.size() == 3);
  const std::string win19 = "1.9.0/windows/x86_64/Agent.msi";
  const std::string mac182 = "1.8.2/macos/arm64/Agent.pkg";
  const std::string old = "1.7/windows/x86_64/Agent.msi";
  const std::string gone = "1.6/windows/x86_64/Agent.msi";
  Record record;
  record.files[win19] = RecordEntry{ 300, 1000, sha('3') };
  record.files[mac182] = RecordEntry{ 600, 2000, "" };
  record.files[old] = RecordEntry{ 700, 3000, sha('7') };
  record.files[gone] = RecordEntry{ 1, 1, sha('6') };
  std::map<std::string, FileStat> disk{ { win19, { 300, 1000 } },
                                        { mac182, { 600, 2000 } },
                                        { old, { 700, 3000 } } };
  const std::vector<ArtifactRef> all_but_skipped{ { 0, 0 }, { 0, 1 }, { 1, 1 }, { 2, 0 } };

  SUBCASE("an empty folder: everything is fetched")
  {
    const auto plan = make_plan(mirror, {}, {}, Prune::yes);
    CHECK(plan.fetch ==
          std::vector<ArtifactRef>{ { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 }, { 2, 0 }, { 2, 1 } });
    CHECK(plan.skip.empty());
    CHECK(plan.remove.empty());
    CHECK(plan.record.files.empty());
    CHECK(plan.record.partial.size() == 6);
  }
  SUBCASE("recorded and unchanged: skipped; what is not listed is kept")
  {
    const auto plan = make_plan(mirror, record, disk, Prune::no);
    CHECK(plan.skip == std::vector<ArtifactRef>{ { 1, 0 }, { 2, 1 } });
    CHECK(plan.fetch == all_but_skipped);
    CHECK(plan.remove.empty());
    CHECK(plan.record.files == std::map<std::string, RecordEntry>{ { win19, record.files[win19] },
                                                                   { mac182, record.files[mac182] },
                                                                   { old, record.files[old] } });
    CHECK(plan.record.partial == std::set<std::string>{ "2.0.0-beta.1/windows/x86_64/Agent.msi",
                                                        "2.0.0-beta.1/macos/arm64/Agent 2.pkg",
                                                        "1.9.0/macos/x86_64/Agent.pkg",
                                                        "1.8.2/windows/x86_64/Agent.msi" });
  }
  SUBCASE("with --prune, what the record names and the mirror no longer lists goes")
  {
    const auto plan = make_plan(mirror, record, disk, Prune::yes);
    CHECK(plan.remove == std::vector<std::string>{ old });
    CHECK(plan.record.files.contains(old)); // until it is removed
    CHECK_FALSE(plan.record.files.contains(gone));
  }
  SUBCASE("anything else is fetched again")
  {
    auto changed_disk = disk;
    auto changed_record = record;
    SUBCASE("another modification time")
    {
      changed_disk[win19].mtime_ns = 1001;
    }
    SUBCASE("another size on disk")
    {
      changed_disk[win19].size = 301;
    }
    SUBCASE("not on disk")
    {
      changed_disk.erase(win19);
    }
    SUBCASE("not recorded")
    {
      changed_record.files.erase(win19);
    }
    SUBCASE("verified against another sha256")
    {
      changed_record.files[win19].sha256 = sha('0');
    }
    SUBCASE("of another size than the upstream's, though unchanged")
    {
      changed_record.files[win19].size = 301;
      changed_disk[win19].size = 301;
    }
    const auto plan = make_plan(mirror, changed_record, changed_disk, Prune::no);
    CHECK(plan.skip == std::vector<ArtifactRef>{ { 2, 1 } });
    CHECK(plan.fetch.size() == 5);
    CHECK_FALSE(plan.record.files.contains(win19));
    CHECK(plan.record.partial.contains(win19));
  }
  SUBCASE("the .part of an unfinished fetch of what is no longer listed")
  {
    record.partial = { old, gone, "2.0.0-beta.1/windows/x86_64/Agent.msi" };
    disk[old + ".part"] = FileStat{ 5, 5 };
    const auto kept = make_plan(mirror, record, disk, Prune::no);
    CHECK(kept.record.partial.contains(old));
    CHECK_FALSE(kept.record.partial.contains(gone)); // no .part left
    CHECK(kept.remove_parts.empty());
    const auto pruned = make_plan(mirror, record, disk, Prune::yes);
    CHECK(pruned.remove_parts == std::vector<std::string>{ old });
    CHECK(pruned.record.partial.contains(old)); // until it is removed
  }
}
