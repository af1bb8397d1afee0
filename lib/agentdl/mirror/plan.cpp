#include <agentdl/mirror/plan.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

namespace agentdl::mirror {

namespace {

// Returns the canonical names of `wanted` (lowercased, aliases applied)
// among `names`; fails naming the first that is neither a name nor an alias.
Expected<std::set<std::string>> canonical(
  const std::vector<std::string>& wanted,
  const std::vector<std::string>& names,
  const std::vector<std::pair<std::string, std::string>>& aliases,
  std::string_view option,
  std::string_view kind)
{
  std::set<std::string> out;
  for (const auto& name : wanted) {
    auto key = lowercase(name);
    const auto alias = std::find_if(
      aliases.begin(), aliases.end(), [&](const auto& pair) { return pair.first == key; });
    if (alias != aliases.end()) {
      key = alias->second;
    }
    if (std::find(names.begin(), names.end(), key) == names.end()) {
      return fail(Errc::usage,
                  fmt::format("{} \"{}\" names no {} of the upstream ({}s: {})",
                              option,
                              name,
                              kind,
                              kind,
                              fmt::join(names, ", ")));
    }
    out.insert(std::move(key));
  }
  return out;
}

// Tells why a mirror cannot store a file named `name` at its layout path,
// if it cannot: it must be one plain name, neither hidden nor a .part.
std::optional<std::string_view> unstorable(std::string_view name)
{
  if (name.empty()) {
    return "it is empty";
  }
  if (name.starts_with('.')) {
    return "it starts with '.'";
  }
  if (name.ends_with(".part")) {
    return "it ends with \".part\", as the files of unfinished downloads do";
  }
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '/' || c == '\\' || u < 0x20 || u == 0x7f) {
      return "it holds a '/', a '\\' or a control character";
    }
  }
  return std::nullopt;
}

bool reaches_any(const std::vector<std::string>& channels, const std::vector<std::string>& reach)
{
  return std::any_of(channels.begin(), channels.end(), [&](const auto& c) {
    return std::binary_search(reach.begin(), reach.end(), c);
  });
}

} // namespace

std::string layout_path(const ListedRelease& release, const ListedArtifact& artifact)
{
  return fmt::format(
    "{}/{}/{}/{}", release.version.str(), artifact.platform, artifact.arch, artifact.filename);
}

Expected<Listing> mirror_listing(const Listing& upstream, const Filters& filters)
{
  std::vector<std::string> channel_names;
  for (const auto& c : upstream.channels) {
    channel_names.push_back(c.name);
  }
  std::vector<std::string> platform_names;
  std::vector<std::string> arch_names;
  for (const auto& p : upstream.platforms) {
    platform_names.push_back(p.name);
    arch_names.insert(arch_names.end(), p.archs.begin(), p.archs.end());
  }
  std::sort(arch_names.begin(), arch_names.end());
  arch_names.erase(std::unique(arch_names.begin(), arch_names.end()), arch_names.end());

  const auto asked_channels =
    AGENTDL_TRY(canonical(filters.channels, channel_names, {}, "--channel", "channel"));
  const auto platforms = AGENTDL_TRY(canonical(
    filters.platforms, platform_names, upstream.platform_aliases, "--platform", "platform"));
  const auto archs =
    AGENTDL_TRY(canonical(filters.archs, arch_names, upstream.arch_aliases, "--arch", "arch"));
  std::optional<Version> since;
  if (filters.since) {
    auto parsed = Version::parse(*filters.since);
    if (!parsed) {
      return fail(
        Errc::usage,
        fmt::format("--since \"{}\" is not a version: {}", *filters.since, parsed.error()));
    }
    since = std::move(*parsed);
  }

  // The selected channels: those asked for and what they include (sorted).
  std::vector<std::string> selected;
  for (const auto& name : asked_channels) {
    const auto reach = upstream.reach(name);
    selected.insert(selected.end(), reach.begin(), reach.end());
  }
  if (filters.channels.empty()) {
    selected = channel_names;
  }
  std::sort(selected.begin(), selected.end());
  selected.erase(std::unique(selected.begin(), selected.end()), selected.end());

  std::vector<Version> currents;
  for (const auto& name : selected) {
    if (const auto& current = upstream.find_channel(name)->current) {
      currents.push_back(*Version::parse(*current));
    }
  }

  Listing out;
  out.platforms = upstream.platforms;
  out.platform_aliases = upstream.platform_aliases;
  out.arch_aliases = upstream.arch_aliases;
  for (const auto& release : upstream.releases) {
    const bool current =
      std::find(currents.begin(), currents.end(), release.version) != currents.end();
    // A release of no channel is resolvable by its version: it is mirrored
    // unless channels are asked for.
    const bool in_selection = filters.channels.empty() || reaches_any(release.channels, selected);
    if (release.yanked || !in_selection || (since && release.version < *since && !current)) {
      continue;
    }
    ListedRelease& mirrored = out.releases.emplace_back();
    mirrored.version = release.version;
    mirrored.published_at = release.published_at;
    for (const auto& channel : release.channels) {
      if (std::binary_search(selected.begin(), selected.end(), channel)) {
        mirrored.channels.push_back(channel);
      }
    }
    for (const auto& artifact : release.artifacts) {
      if ((!platforms.empty() && !platforms.contains(artifact.platform)) ||
          (!archs.empty() && !archs.contains(artifact.arch))) {
        continue;
      }
      if (const auto why = unstorable(artifact.filename)) {
        return fail(Errc::config,
                    fmt::format("the artifact of release {} for {}/{} is named \"{}\", which a "
                                "mirror cannot store: {}",
                                release.version.str(),
                                artifact.platform,
                                artifact.arch,
                                artifact.filename,
                                *why));
      }
      auto& stored = mirrored.artifacts.emplace_back(artifact);
      stored.path = layout_path(release, artifact);
      if (!is_layout_path(stored.path)) {
        // A platform or arch named "..", or holding a '/': not a name a
        // catalog accepts, and no folder of a mirror's.
        return fail(Errc::config,
                    fmt::format("the artifact of release {} for {}/{} would lie at \"{}\", "
                                "outside a mirror's VERSION/PLATFORM/ARCH/FILE",
                                release.version.str(),
                                artifact.platform,
                                artifact.arch,
                                stored.path));
      }
    }
  }

  for (const auto& name : selected) {
    ListedChannel channel = *upstream.find_channel(name);
    const auto reach = upstream.reach(name);
    // What the mirror's catalog would pick by itself: its highest release
    // of the channel (none is yanked).
    const ListedRelease* own_pick = nullptr;
    for (const auto& release : out.releases) {
      if (reaches_any(release.channels, reach) &&
          (!own_pick || release.version > own_pick->version)) {
        own_pick = &release;
      }
    }
    channel.pinned =
      channel.current && (!own_pick || own_pick->version != *Version::parse(*channel.current));
    out.channels.push_back(std::move(channel));
  }
  if (upstream.default_channel &&
      std::binary_search(selected.begin(), selected.end(), *upstream.default_channel)) {
    out.default_channel = upstream.default_channel;
  }
  return out;
}

Plan make_plan(const Listing& mirror,
               const Record& record,
               const std::map<std::string, FileStat>& on_disk,
               Prune prune)
{
  Plan plan;
  std::set<std::string> listed;
  for (std::size_t r = 0; r < mirror.releases.size(); ++r) {
    const auto& release = mirror.releases[r];
    for (std::size_t a = 0; a < release.artifacts.size(); ++a) {
      const auto& artifact = release.artifacts[a];
      listed.insert(artifact.path);
      const auto entry = record.files.find(artifact.path);
      const auto disk = on_disk.find(artifact.path);
      const bool in_place =
        entry != record.files.end() && disk != on_disk.end() &&
        disk->second == FileStat{ entry->second.size, entry->second.mtime_ns } &&
        entry->second.sha256 == artifact.sha256 &&
        (!artifact.size || *artifact.size == entry->second.size);
      if (in_place) {
        plan.skip.push_back({ r, a });
        plan.record.files.insert(*entry);
      } else {
        plan.fetch.push_back({ r, a });
        plan.record.partial.insert(artifact.path);
      }
    }
  }
  for (const auto& [path, entry] : record.files) {
    if (listed.contains(path) || !on_disk.contains(path)) {
      continue; // listed: decided above; gone: nothing to keep a record of
    }
    plan.record.files.emplace(path, entry);
    if (prune == Prune::yes) {
      plan.remove.push_back(path);
    }
  }
  for (const auto& path : record.partial) {
    if (listed.contains(path) || !on_disk.contains(path + ".part")) {
      continue;
    }
    plan.record.partial.insert(path);
    if (prune == Prune::yes) {
      plan.remove_parts.push_back(path);
    }
  }
  return plan;
}

} // namespace agentdl::mirror
