// Bearer-token authentication and channel-scoped authorization for the HTTP API.
#pragma once

#include <agentdl/catalog.hpp>
#include <agentdl/error.hpp>

#include <optional>
#include <string_view>
#include <vector>

namespace agentdl {

// Who is asking: a configured token, anyone (auth mode "none"), or a caller
// without a token who may read the public channels ([auth] public_channels).
struct Caller
{
  const TokenEntry* token = nullptr; // nullptr: auth is off or the caller is anonymous
  bool anonymous = false;            // no token given; only the public channels may be read
};

// Returns the token of an `Authorization: Bearer <token>` value (scheme
// case-insensitive), or nullopt if `header` is absent or not a bearer credential.
std::optional<std::string_view> bearer_token(std::optional<std::string_view> header);

// Checks the `Authorization` header value against the catalog's tokens by
// SHA-256, compared in constant time. Without a bearer token the caller is
// anonymous when the catalog has public channels. Fails with unauthorized
// when auth is required and no bearer token is given (and nothing is
// public), or none matches.
Expected<Caller> authenticate(const Catalog& catalog,
                              std::optional<std::string_view> authorization);

// Returns the WWW-Authenticate value for a 401 or 403: `Bearer realm="agentdl"`,
// with `error="invalid_token"` for a 401 when a token was given, or
// `error="insufficient_scope"` for a 403 (RFC 6750 section 3).
std::string www_authenticate(Errc code, bool token_given);

// Tells whether `caller` may read the channel `channel` (latest resolution):
// one of its channels, or of the public ones, is `channel` or includes it.
bool may_read_channel(const Catalog& catalog, const Caller& caller, ChannelId channel);

// Tells whether `caller` may read `release`: the release is in one of its
// channels or of the public ones, directly or through includes.
bool may_read_release(const Catalog& catalog, const Caller& caller, const Release& release);

// The channels a caller may read, and so the releases: every channel, or those
// its token's channels reach. Two callers with equal scopes see equal lists.
class Scope
{
public:
  // Returns the scope of `caller`: everything when auth is off or its token
  // has `channels = ["*"]`; else what its token's channels and the public
  // ones reach.
  static Scope of(const Catalog& catalog, const Caller& caller);

  // Returns the scope that reads every channel.
  static Scope everything() { return Scope(); }

  // Tells whether channel `channel` may be read.
  bool may_read(ChannelId channel) const { return m_all || m_channels[channel]; }

  // Tells whether `release` may be read: one of its channels may be.
  bool may_read(const Release& release) const;

  auto operator<=>(const Scope&) const = default;

private:
  bool m_all = true;
  std::vector<bool> m_channels; // when !m_all: m_channels[c], channel c may be read
};

} // namespace agentdl
