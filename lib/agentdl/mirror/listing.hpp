// What a mirror copies from: the upstream's releases, channels, platforms and
// aliases as one value, made from a catalog file or from an agentdl server's
// release list (CONTRACT section 4's list route), so that the rest of a sync
// does not care which it was.
#pragma once

#include <agentdl/catalog.hpp>
#include <agentdl/error.hpp>
#include <agentdl/version.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agentdl::mirror {

struct ListedArtifact
{
  std::string platform;
  std::string arch;
  std::string filename; // the file's name, as the upstream's URL ends
  std::string sha256;   // lowercase hex; empty when unknown
  std::optional<std::uint64_t> size;
  std::string path; // in a mirror: where the file lies under DIR (layout_path); else empty

  bool operator==(const ListedArtifact&) const = default;
};

struct ListedRelease
{
  Version version;                   // as the upstream writes it
  std::vector<std::string> channels; // its own channels
  std::string published_at;          // RFC 3339; empty when unknown
  bool yanked = false;
  std::vector<ListedArtifact> artifacts;

  bool operator==(const ListedRelease&) const = default;
};

struct ListedChannel
{
  std::string name;
  std::vector<std::string> includes;
  std::optional<std::string> current; // the version the channel resolves to, if any
  bool pinned = false;                // in a mirror: `current` is written as a pin

  bool operator==(const ListedChannel&) const = default;
};

struct ListedPlatform
{
  std::string name;
  std::vector<std::string> archs;
  std::optional<std::string> default_arch;

  bool operator==(const ListedPlatform&) const = default;
};

struct Listing
{
  std::vector<ListedPlatform> platforms;
  // The catalog's own aliases (not the built-in ones), alias -> name.
  std::vector<std::pair<std::string, std::string>> platform_aliases;
  std::vector<std::pair<std::string, std::string>> arch_aliases;
  std::vector<ListedChannel> channels;
  std::optional<std::string> default_channel;
  std::vector<ListedRelease> releases; // newest first

  // Returns the channel named `name`, or nullptr.
  const ListedChannel* find_channel(std::string_view name) const;

  // Returns the names of the channels `name` reaches: itself and those it
  // includes, transitively.
  std::vector<std::string> reach(std::string_view name) const;

  bool operator==(const Listing&) const = default;
};

// Returns the listing of `catalog`: everything in it, yanked releases too.
Listing listing_of(const Catalog& catalog);

// Returns the listing of an agentdl server's release list (its JSON text, as
// the list route answers it, with "channels", "platforms", "default_channel"
// and "aliases"). A release's channel that the list does not show (a token
// sees some channels only) is left out. Fails with Errc::network naming what
// is missing or malformed.
Expected<Listing> parse_listing(std::string_view json);

} // namespace agentdl::mirror
