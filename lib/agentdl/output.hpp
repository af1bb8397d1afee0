// What agentdl shows: the JSON objects of the contract (a resolution, a
// release list, an error) and the text table of `agentdl list`.
#pragma once

#include <agentdl/catalog.hpp>
#include <agentdl/error.hpp>
#include <agentdl/resolver.hpp>

#include <optional>
#include <string>

namespace agentdl {

// Returns the JSON object of `resolution`: version, channel (null for a
// version query), platform, arch, url, filename, sha256 and size (null when
// unknown).
std::string resolution_json(const Resolution& resolution);

// Returns {"releases":[...]} for the releases of `channel` (all when absent),
// newest first, each with its channels, the channels it is current in,
// published_at, yanked and its artifacts.
std::string releases_json(const Catalog& catalog, std::optional<ChannelId> channel);

// Returns the text table of `agentdl list` for the same releases.
std::string releases_table(const Catalog& catalog, std::optional<ChannelId> channel);

// Returns {"error":{"code":...,"message":...,"details":{...}}} for `error`.
std::string error_json(const Error& error);

} // namespace agentdl
