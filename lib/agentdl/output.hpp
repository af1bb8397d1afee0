// What agentdl shows: the JSON objects of the contract (a resolution, a
// release list, an error) and the text table of `agentdl list`.
#pragma once

#include <agentdl/auth.hpp>
#include <agentdl/catalog.hpp>
#include <agentdl/error.hpp>
#include <agentdl/resolver.hpp>

#include <optional>
#include <string>

namespace agentdl {

// Returns the JSON object of `resolution` handed out at `location`: version,
// channel (null for a version query), platform, arch, url, filename, sha256
// and size (null when unknown), and expires_at (RFC 3339, UTC) when the
// location is signed.
std::string resolution_json(const Resolution& resolution, const SignedLocation& location);

// Returns the release list of the contract's list route: "releases", the
// releases of `channel` (all when absent) that `scope` may read, newest
// first, each with its channels, the channels it is current in,
// published_at, yanked and its artifacts; "channels", each channel `scope`
// may read (of those `channel` reaches, when given) with its includes and
// current release; "platforms" with their archs and default_arch;
// "default_channel"; and "aliases", the catalog's own.
std::string releases_json(const Catalog& catalog,
                          std::optional<ChannelId> channel,
                          const Scope& scope = Scope::everything());

// Returns the JSON object of release `index`, as one entry of releases_json.
std::string release_json(const Catalog& catalog, std::size_t index);

// Returns the text table of `agentdl list` for `releases_json`, the object
// releases_json() makes (or a server's answer, which is the same). Fails with
// Errc::network if the text is not such an object.
Expected<std::string> releases_table(std::string_view releases_json);

// Returns {"error":{"code":...,"message":...,"details":{...}}} for `error`.
std::string error_json(const Error& error);

} // namespace agentdl
