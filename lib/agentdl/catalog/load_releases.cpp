#include <agentdl/catalog/sections.hpp>
#include <agentdl/location.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <sstream>

namespace agentdl::catalog_detail {

namespace {

// Loads one [[releases.artifacts]] entry of `release`.
Artifact load_artifact(const TomlReader& in,
                       const toml::node& node,
                       const Release& release,
                       const Catalog& catalog)
{
  const auto& t = in.as_table(node, "an artifact");
  in.check_keys(
    t, "[[releases.artifacts]]", { "platform", "arch", "path", "url", "sha256", "size" });
  Artifact artifact;
  artifact.pos = source_pos(in, t.source());

  const auto* platform = t.get("platform");
  if (!platform) {
    in.fail_at(t, fmt::format("artifact of release {} has no \"platform\"", release.version.str()));
  }
  const auto& platform_name = in.as_string(*platform, "platform");
  const auto platform_id = catalog.find_platform(platform_name);
  if (!platform_id) {
    std::vector<std::string> names;
    for (const auto& p : catalog.platforms) {
      names.push_back(p.name);
    }
    in.fail_at(*platform,
               fmt::format("artifact for unknown platform \"{}\" (declared: {})",
                           platform_name,
                           quoted_list(names)));
  }
  artifact.platform = *platform_id;
  const auto& p = catalog.platforms[*platform_id];
  // Built only for a message: this runs once per artifact of a large catalog.
  const auto archs = [&] {
    std::vector<std::string> names;
    for (const auto a : p.archs) {
      names.push_back(catalog.archs[a]);
    }
    return quoted_list(names);
  };

  const auto* arch = t.get("arch");
  if (!arch) {
    in.fail_at(t,
               fmt::format("artifact of release {} has no \"arch\" (platform {} has: {})",
                           release.version.str(),
                           p.name,
                           archs()));
  }
  const auto& arch_name = in.as_string(*arch, "arch");
  const auto arch_id = catalog.find_arch(arch_name);
  if (!arch_id || std::find(p.archs.begin(), p.archs.end(), *arch_id) == p.archs.end()) {
    in.fail_at(*arch,
               fmt::format("artifact for arch \"{}\", which platform {} does not declare ({})",
                           arch_name,
                           p.name,
                           archs()));
  }
  artifact.arch = *arch_id;

  const auto* path = t.get("path");
  const auto* url = t.get("url");
  if (path && url) {
    in.fail_at(t, "artifact has both \"path\" and \"url\" (give one)");
  }
  if (!path && !url) {
    in.fail_at(t,
               "artifact has neither \"path\" (relative to [storage] base_url) nor \"url\" "
               "(absolute)");
  }
  if (path) {
    const auto& text = in.as_string(*path, "path");
    if (auto ok = check_relative_path(text); !ok) {
      in.fail_at(*path, fmt::format("path \"{}\" {}", text, ok.error()));
    }
    artifact.path = text;
    if (!catalog.storage.base_url.empty()) {
      artifact.location = join_url(catalog.storage.base_url, text);
    } else if (!catalog.mirror.root.empty()) {
      artifact.location = join_url(catalog.server.public_url + "/files/", text);
    } else {
      in.fail_at(*path,
                 fmt::format("path \"{}\" needs [storage] base_url (or a [mirror]) to make a "
                             "URL; or give an absolute url",
                             text));
    }
    artifact.filename = text.substr(text.rfind('/') + 1);
  } else {
    const auto& text = in.as_string(*url, "url");
    auto checked = check_absolute_url(text);
    if (!checked) {
      in.fail_at(*url, fmt::format("url \"{}\" {}", text, checked.error()));
    }
    artifact.location = *checked;
    artifact.filename = url_filename(artifact.location);
    if (artifact.filename.empty()) {
      in.fail_at(*url, fmt::format("url \"{}\" does not end with a file name", text));
    }
  }

  if (const auto* digest = t.get("sha256")) {
    const auto& hex = in.as_string(*digest, "sha256");
    if (!is_hex_digest(hex)) {
      in.fail_at(*digest, fmt::format("sha256 \"{}\" is not 64 hexadecimal digits", hex));
    }
    artifact.sha256 = lowercase(hex);
  }
  if (const auto size = in.optional_int(t, "size", "size", 0)) {
    artifact.size = static_cast<std::uint64_t>(*size);
  }
  return artifact;
}

} // namespace

// Loads the releases of one `releases` array (the whole file's, or one
// block's) into catalog.releases, in file order.
void load_release_array(const TomlReader& in, const toml::node& node, Catalog& catalog)
{
  const auto* array = node.as_array();
  if (!array || !array->is_array_of_tables()) {
    in.fail_at(node, "releases must be an array of tables ([[releases]])");
  }
  std::vector<std::string> channel_names;
  for (const auto& c : catalog.channels) {
    channel_names.push_back(c.name);
  }
  for (const auto& element : *array) {
    const auto& t = *element.as_table();
    in.check_keys(
      t, "[[releases]]", { "version", "channels", "published_at", "yanked", "artifacts" });
    Release release;
    release.pos = source_pos(in, t.source());
    const auto* version = t.get("version");
    if (!version) {
      in.fail_at(t, "release has no \"version\"");
    }
    const auto& text = in.as_string(*version, "version");
    auto parsed = Version::parse(text);
    if (!parsed) {
      in.fail_at(*version, fmt::format("invalid version \"{}\": {}", text, parsed.error()));
    }
    release.version = std::move(*parsed);

    if (const auto* channels = t.get("channels")) {
      for (auto& [name, channel_node] : in.string_array(*channels, "channels")) {
        const auto id = catalog.find_channel(name);
        if (!id) {
          in.fail_at(*channel_node,
                     fmt::format("release {} names undeclared channel \"{}\" (declared: {})",
                                 release.version.str(),
                                 name,
                                 channel_names.empty() ? "none" : quoted_list(channel_names)));
        }
        if (std::find(release.channels.begin(), release.channels.end(), *id) !=
            release.channels.end()) {
          in.fail_at(
            *channel_node,
            fmt::format("release {} lists channel \"{}\" twice", release.version.str(), name));
        }
        release.channels.push_back(*id);
      }
    }
    if (const auto* published = t.get("published_at")) {
      const auto* dt = published->as_date_time();
      if (!dt || !dt->get().offset) {
        in.fail_at(*published,
                   fmt::format("published_at must be a date-time with offset, e.g. "
                               "2026-10-01T12:00:00Z, not {}",
                               type_name(*published)));
      }
      std::ostringstream text_out;
      text_out << dt->get();
      release.published_at = text_out.str();
    }
    release.yanked = in.optional_bool(t, "yanked", "yanked").value_or(false);

    if (const auto* artifacts = t.get("artifacts")) {
      const auto* list = artifacts->as_array();
      if (!list || !list->is_array_of_tables()) {
        in.fail_at(*artifacts, "artifacts must be an array of tables ([[releases.artifacts]])");
      }
      for (const auto& a : *list) {
        auto artifact = load_artifact(in, a, release, catalog);
        for (const auto& other : release.artifacts) {
          if (other.platform == artifact.platform && other.arch == artifact.arch) {
            in.fail_at(position(artifact.pos),
                       fmt::format("release {} has two artifacts for {}/{} (the other at line {})",
                                   release.version.str(),
                                   catalog.platforms[artifact.platform].name,
                                   catalog.archs[artifact.arch],
                                   other.pos.line));
          }
        }
        release.artifacts.push_back(std::move(artifact));
      }
    }
    catalog.releases.push_back(std::move(release));
  }
}

// Sorts the releases newest first, rejects two of equal precedence, and
// builds the version index.
void finish_releases(const TomlReader& in, Catalog& catalog)
{
  // Stable: of two releases of equal precedence, the one written first stays first.
  std::stable_sort(catalog.releases.begin(), catalog.releases.end(), [](auto& a, auto& b) {
    return a.version > b.version;
  });
  for (std::size_t i = 1; i < catalog.releases.size(); ++i) {
    const auto& a = catalog.releases[i - 1];
    const auto& b = catalog.releases[i];
    if (a.version == b.version) {
      const auto& later = a.pos.line > b.pos.line ? a : b;
      const auto& earlier = a.pos.line > b.pos.line ? b : a;
      in.fail_at(position(later.pos),
                 fmt::format("release {} has the same precedence as release {} at line {}",
                             later.version.str(),
                             earlier.version.str(),
                             earlier.pos.line));
    }
  }
  std::size_t capacity = 4;
  while (capacity < 2 * catalog.releases.size()) {
    capacity *= 2;
  }
  catalog.release_slots.assign(capacity, { 0, Catalog::k_empty_slot });
  for (std::size_t i = 0; i < catalog.releases.size(); ++i) {
    const auto hash = catalog.releases[i].version.precedence_hash();
    auto slot = hash & (capacity - 1);
    while (catalog.release_slots[slot].second != Catalog::k_empty_slot) {
      slot = (slot + 1) & (capacity - 1);
    }
    catalog.release_slots[slot] = { hash, static_cast<std::uint32_t>(i) };
  }
}

} // namespace agentdl::catalog_detail
