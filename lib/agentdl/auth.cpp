#include <agentdl/auth.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <memory>

namespace agentdl {

namespace {

bool iequals(std::string_view a, std::string_view b)
{
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

// Returns the SHA-256 of `data`. Runs once per request: the digest is fetched
// once and the context reused per thread, which EVP_Digest would redo per call.
std::array<unsigned char, 32> sha256(std::string_view data)
{
  static EVP_MD* const k_sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                                 &EVP_MD_CTX_free);
  std::array<unsigned char, 32> digest{};
  unsigned int length = 0;
  if (!k_sha256 || !ctx || EVP_DigestInit_ex2(ctx.get(), k_sha256, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest.data(), &length) != 1) {
    // Matches no configured digest, so the caller is refused, never let in.
    digest.fill(0xff);
  }
  return digest;
}

// Returns sha256(`token`), remembering the last token hashed on this thread:
// a client sends the same token with every request, and hashing is the
// largest cost of answering one. The token is compared in constant time.
std::array<unsigned char, 32> cached_sha256(std::string_view token)
{
  thread_local std::string last_token;
  thread_local std::array<unsigned char, 32> last_digest{};
  if (!last_token.empty() && token.size() == last_token.size() &&
      CRYPTO_memcmp(token.data(), last_token.data(), token.size()) == 0) {
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
  if (space == std::string_view::npos || !iequals(header.substr(0, space), "bearer")) {
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
    return fail(Errc::unauthorized, "Authentication required: send Authorization: Bearer <token>");
  }
  const auto digest = cached_sha256(*token);

  // Compare against every token, without stopping at a match, so the time taken
  // does not tell which (or whether one) matched.
  const TokenEntry* match = nullptr;
  for (const auto& entry : catalog.auth.tokens) {
    const bool equal = CRYPTO_memcmp(entry.sha256.data(), digest.data(), digest.size()) == 0;
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

bool may_read_channel(const Catalog& catalog, const Caller& caller, ChannelId channel)
{
  if (!caller.token || caller.token->all_channels) {
    return true;
  }
  for (const auto c : caller.token->channels) {
    if (catalog.channels[c].reaches[channel]) {
      return true;
    }
  }
  return false;
}

bool may_read_release(const Catalog& catalog, const Caller& caller, const Release& release)
{
  if (!caller.token || caller.token->all_channels) {
    return true;
  }
  for (const auto c : caller.token->channels) {
    if (catalog.in_channel(release, c)) {
      return true;
    }
  }
  return false;
}

} // namespace agentdl
