// The catalog of a mirror (DIR/agentdl.toml): what agentdl-serve reads to
// answer for the mirrored releases from the mirror's own files.
#pragma once

#include <agentdl/mirror/listing.hpp>

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace agentdl::mirror {

// The tables a sync keeps as the operator wrote them (kept_tables()).
inline constexpr std::array<std::string_view, 4> k_kept_tables = { "storage",
                                                                   "server",
                                                                   "page",
                                                                   "auth" };

// The name of a mirror's catalog in its folder.
inline constexpr std::string_view k_catalog_name = "agentdl.toml";

// Returns the text of the catalog of `mirror` (a listing from
// mirror_listing(), each artifact with its layout path): a first comment
// naming `source`, the upstream's default_channel, platforms and aliases,
// the mirror's channels (includes, and `current` where pinned), `[mirror]
// root = "."`, then `kept` (the operator's tables, from kept_tables()) or, on
// the first sync (nullopt), `[storage] signing = "none"` and `[auth] mode =
// "none"`, and the releases, newest first, with `yanked = false` and their
// artifacts' paths, sha256 and size as known.
std::string write_catalog(const Listing& mirror,
                          const std::optional<std::string>& kept,
                          std::string_view source);

} // namespace agentdl::mirror
