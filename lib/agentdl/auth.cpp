#include <agentdl/auth.hpp>
#include <agentdl/crypto.hpp>

#include <boost/url/grammar/ci_string.hpp>

#include <algorithm>
#include <array>

namespace agentdl {

namespace {

// Returns sha256(`token`), remembering the last token hashed on this thread:
// a client sends the same token with every request, and hashing is the
// largest cost of answering one. The token is compared in constant time.
Sha256Digest cached_sha256(std::string_view token)
{
  thread_local std::string last_token;
  thread_local Sha256Digest last_digest{};
  if (!last_token.empty() && equal_constant_time(byte_view(token), byte_view(last_token))) {
    return last_digest;
  }
  last_digest = sha256(token);
  last_token.assign(token.data(), token.size());
  return last_digest;
}

} // namespace

std::optional<std::string_view> bearer_token(std::optional<std::string_view> authorization)
{
  if (!authorization) {
    return std::nullopt;
  }
  const auto header = *authorization;
  const auto space = header.find(' ');
  if (space == std::string_view::npos ||
      !boost::urls::grammar::ci_is_equal(header.substr(0, space), "bearer")) {
    return std::nullopt;
  }
  auto token = header.substr(space + 1);
  while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) {
    token.remove_prefix(1);
  }
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) {
    token.remove_suffix(1);
  }
  return token;
}

Expected<Caller> authenticate(const Catalog& catalog, std::optional<std::string_view> authorization)
{
  if (catalog.auth.mode == AuthMode::none) {
    return Caller{};
  }
  const auto token = bearer_token(authorization);
  if (!token) {
    if (!catalog.auth.public_channels.empty()) {
      return Caller{ .token = nullptr, .anonymous = true };
    }
    return fail(Errc::unauthorized, "Authentication required: send Authorization: Bearer <token>");
  }
  const auto digest = cached_sha256(*token);

  // Compare against every token, without stopping at a match, so the time taken
  // does not tell which (or whether one) matched.
  const TokenEntry* match = nullptr;
  for (const auto& entry : catalog.auth.tokens) {
    const bool equal = equal_constant_time(entry.sha256, digest);
    if (equal && !match) {
      match = &entry;
    }
  }
  if (!match || token->empty()) {
    return fail(Errc::unauthorized, "Invalid token");
  }
  return Caller{ match };
}

std::string www_authenticate(Errc code, bool token_given)
{
  if (code == Errc::forbidden) {
    return R"(Bearer realm="agentdl", error="insufficient_scope")";
  }
  return token_given ? R"(Bearer realm="agentdl", error="invalid_token")"
                     : R"(Bearer realm="agentdl")";
}

namespace {

// Tells whether auth lets `caller` read everything: auth is off, or its
// token has channels = ["*"].
bool reads_everything(const Caller& caller)
{
  return caller.token ? caller.token->all_channels : !caller.anonymous;
}

// Calls `visit(c)` for each channel whose scope `caller` holds: its token's,
// then the public ones (which every caller holds when auth is required).
template<typename Visit>
bool any_held_channel(const Catalog& catalog, const Caller& caller, Visit visit)
{
  if (caller.token) {
    for (const auto c : caller.token->channels) {
      if (visit(c)) {
        return true;
      }
    }
  }
  for (const auto c : catalog.auth.public_channels) {
    if (visit(c)) {
      return true;
    }
  }
  return false;
}

} // namespace

bool may_read_channel(const Catalog& catalog, const Caller& caller, ChannelId channel)
{
  return reads_everything(caller) || any_held_channel(catalog, caller, [&](ChannelId c) {
           return static_cast<bool>(catalog.channels[c].reaches[channel]);
         });
}

Scope Scope::of(const Catalog& catalog, const Caller& caller)
{
  Scope scope;
  if (reads_everything(caller)) {
    return scope;
  }
  scope.m_all = false;
  scope.m_channels.assign(catalog.channels.size(), false);
  any_held_channel(catalog, caller, [&](ChannelId c) {
    const auto& reaches = catalog.channels[c].reaches;
    for (std::size_t i = 0; i < reaches.size(); ++i) {
      if (reaches[i]) {
        scope.m_channels[i] = true;
      }
    }
    return false; // every held channel
  });
  return scope;
}

bool Scope::may_read(const Release& release) const
{
  return m_all || std::any_of(release.channels.begin(), release.channels.end(), [&](ChannelId c) {
           return m_channels[c];
         });
}

bool may_read_release(const Catalog& catalog, const Caller& caller, const Release& release)
{
  return reads_everything(caller) || any_held_channel(catalog, caller, [&](ChannelId c) {
           return catalog.in_channel(release, c);
         });
}

} // namespace agentdl
