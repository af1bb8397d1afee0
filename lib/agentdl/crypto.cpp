#include "crypto_api.hpp"

#include <agentdl/crypto.hpp>

#include <array>
#include <atomic>
#include <memory>
#include <stdexcept>

namespace agentdl {

namespace {

// Returns the libcrypto table; crypto_init() has loaded it, so failing here
// is a bug in the caller.
const detail::OpenSslApi& api()
{
  static const detail::OpenSslApi& k_api = []() -> const detail::OpenSslApi& {
    auto loaded = detail::openssl_api();
    if (!loaded) {
      throw std::logic_error("crypto used before crypto_init(): " + loaded.error().message);
    }
    return **loaded;
  }();
  return k_api;
}

// SHA-256 fetched once: EVP_sha256() would look it up again per digest.
const EVP_MD* sha256_md()
{
  static EVP_MD* const k_md = api().md_fetch(nullptr, "SHA256", nullptr);
  return k_md;
}

const EVP_MD* md5_md()
{
  static EVP_MD* const k_md = api().md_fetch(nullptr, "MD5", nullptr);
  return k_md;
}

EVP_MAC* hmac_mac()
{
  static EVP_MAC* const k_mac = api().mac_fetch(nullptr, "HMAC", nullptr);
  return k_mac;
}

EVP_MD_CTX* context(void* p)
{
  return static_cast<EVP_MD_CTX*>(p);
}

EVP_MAC_CTX* mac_context(void* p)
{
  return static_cast<EVP_MAC_CTX*>(p);
}

using MacContext = std::unique_ptr<EVP_MAC_CTX, void (*)(EVP_MAC_CTX*)>;

// Returns a new HMAC-SHA256 context keyed with `key`.
MacContext keyed_context(std::span<const unsigned char> key)
{
  const auto& openssl = api();
  MacContext ctx(hmac_mac() ? openssl.mac_ctx_new(hmac_mac()) : nullptr, openssl.mac_ctx_free);
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = { openssl.param_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                openssl.param_end() };
  if (!ctx || openssl.mac_init(ctx.get(), key.data(), key.size(), params) != 1) {
    throw std::runtime_error("libcrypto cannot start an HMAC-SHA256");
  }
  return ctx;
}

} // namespace

Expected<void> crypto_init()
{
  AGENTDL_TRY(detail::openssl_api());
  if (!sha256_md() || !md5_md() || !hmac_mac()) {
    return fail(Errc::io, "libcrypto has no SHA-256, MD5 or HMAC");
  }
  return {};
}

Sha256::Sha256()
  : m_context(api().md_ctx_new())
{
  if (!m_context || api().digest_init(context(m_context), sha256_md(), nullptr) != 1) {
    api().md_ctx_free(context(m_context));
    throw std::runtime_error("libcrypto cannot start a SHA-256 digest");
  }
}

Sha256::~Sha256()
{
  api().md_ctx_free(context(m_context));
}

void Sha256::update(std::span<const unsigned char> data)
{
  api().digest_update(context(m_context), data.data(), data.size());
}

void Sha256::update(std::string_view data)
{
  api().digest_update(context(m_context), data.data(), data.size());
}

Sha256Digest Sha256::finish()
{
  Sha256Digest digest{};
  unsigned int length = 0;
  api().digest_final(context(m_context), digest.data(), &length);
  return digest;
}

namespace {

// Returns the `Digest` (an array of its size) of `data` by `md`. It runs once
// per request in agentdl-serve, so the context is made once per thread.
template<typename Digest>
Digest digest_of(const EVP_MD* md, std::string_view data, const char* name)
{
  const auto& openssl = api();
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(openssl.md_ctx_free)> ctx(
    openssl.md_ctx_new(), openssl.md_ctx_free);
  Digest digest{};
  unsigned int length = 0;
  if (!md || !ctx || openssl.digest_init(ctx.get(), md, nullptr) != 1 ||
      openssl.digest_update(ctx.get(), data.data(), data.size()) != 1 ||
      openssl.digest_final(ctx.get(), digest.data(), &length) != 1) {
    throw std::runtime_error(std::string("libcrypto failed to compute ") + name);
  }
  return digest;
}

} // namespace

Sha256Digest sha256(std::string_view data)
{
  return digest_of<Sha256Digest>(sha256_md(), data, "a SHA-256");
}

Md5Digest md5(std::string_view data)
{
  return digest_of<Md5Digest>(md5_md(), data, "an MD5");
}

HmacSha256::HmacSha256(std::span<const unsigned char> key)
  : m_keyed(keyed_context(key).release())
{
  static std::atomic<std::uint64_t> next_id{ 1 };
  m_id = next_id.fetch_add(1, std::memory_order_relaxed);
}

HmacSha256::HmacSha256(std::string_view key)
  : HmacSha256(byte_view(key))
{
}

HmacSha256::~HmacSha256()
{
  api().mac_ctx_free(mac_context(m_keyed));
}

Sha256Digest HmacSha256::sign(std::string_view data) const
{
  const auto& openssl = api();
  // Each thread keeps copies of the keyed states it used last, and restarts
  // one per message (EVP_MAC_init without a key keeps the key): the key's
  // pads are not computed again, and nothing is allocated per message.
  struct Copy
  {
    std::uint64_t id = 0;
    MacContext ctx{ nullptr, nullptr };
  };
  thread_local std::array<Copy, 4> copies;
  thread_local std::size_t next_slot = 0;
  Copy* copy = nullptr;
  for (auto& c : copies) {
    if (c.id == m_id) {
      copy = &c;
    }
  }
  if (copy && openssl.mac_init(copy->ctx.get(), nullptr, 0, nullptr) != 1) {
    copy = nullptr;
  }
  if (!copy) {
    copy = &copies[next_slot++ % copies.size()];
    copy->ctx = MacContext(openssl.mac_ctx_dup(mac_context(m_keyed)), openssl.mac_ctx_free);
    copy->id = copy->ctx ? m_id : 0;
  }
  Sha256Digest digest{};
  std::size_t length = 0;
  if (!copy->ctx ||
      openssl.mac_update(
        copy->ctx.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      openssl.mac_final(copy->ctx.get(), digest.data(), &length, digest.size()) != 1) {
    copy->id = 0;
    throw std::runtime_error("libcrypto failed to compute an HMAC-SHA256");
  }
  return digest;
}

Sha256Digest hmac_sha256(std::span<const unsigned char> key, std::string_view data)
{
  return HmacSha256(key).sign(data);
}

Expected<void> random_bytes(std::span<unsigned char> out)
{
  if (api().rand_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    return fail(Errc::io, "the system's random number generator failed");
  }
  return {};
}

bool equal_constant_time(std::span<const unsigned char> a, std::span<const unsigned char> b)
{
  return a.size() == b.size() && api().memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace agentdl
