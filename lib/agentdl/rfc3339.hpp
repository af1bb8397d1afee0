// Times as RFC 3339 writes them ("2026-10-01T12:00:00Z"): the expiry of a
// signed Location, and `agentdl resolve --now`.
#pragma once

#include <agentdl/signing/signer.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace agentdl {

// Returns `time` as RFC 3339 in UTC, to the second: "2026-10-01T12:00:00Z".
std::string rfc3339(SystemTime time);

// Returns the time `text` names: an RFC 3339 date-time with a `Z` or an
// offset ("2026-10-01T12:00:00Z", "2026-10-01T14:00:00.5+02:00"; `t` and `z`
// too); nullopt if it is not one.
std::optional<SystemTime> parse_rfc3339(std::string_view text);

} // namespace agentdl
