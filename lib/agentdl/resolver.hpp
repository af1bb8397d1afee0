// Resolution: for a channel or a version, a platform and an arch, which
// release and which artifact, and where it lives.
#pragma once

#include <agentdl/catalog.hpp>
#include <agentdl/error.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentdl {

// What a client asks. An absent parameter is nullopt; a given but empty one is
// an empty string (a 400, unlike absent). With `version`, `channel` is ignored.
struct Query
{
  std::optional<std::string_view> channel{};
  std::optional<std::string_view> version{};
  std::optional<std::string_view> platform{};
  std::optional<std::string_view> arch{};
};

// The answer: pointers into the catalog, valid as long as it lives.
struct Resolution
{
  const Release* release = nullptr;
  const Artifact* artifact = nullptr;
  const Channel* channel = nullptr; // the channel asked for; nullptr for a version
  const Platform* platform = nullptr;
  std::string_view arch;
};

// Resolves `query` against `catalog`. Fails with bad_request (details:
// parameter, value, allowed) or not_found (details: channel, version,
// platform, arch). O(log n) in the number of releases.
Expected<Resolution> resolve(const Catalog& catalog, const Query& query);

// Returns the channel `name` (case-insensitive), or the default channel when
// `name` is absent. Fails with bad_request naming the allowed channels.
Expected<const Channel*> find_channel(const Catalog& catalog, std::optional<std::string_view> name);

// Returns, one line each, which releases resolving `query` considered and why
// each was passed over or chosen; for `agentdl resolve --explain`.
std::vector<std::string> explain(const Catalog& catalog, const Query& query);

} // namespace agentdl
