// SHA-256, HMAC-SHA256, MD5, random bytes and constant-time comparison:
// everything agentdl needs from a crypto library (OpenSSL's libcrypto).
//
// The functions call libcrypto through a table of function pointers
// (crypto_api.hpp), filled in one of two ways chosen when linking:
// `agentdl_crypto_linked` links libcrypto, for agentdl-serve and the tests;
// `agentdl_crypto_dlopen` loads libcrypto.so.3 in crypto_init(), for the
// `agentdl` command line, most of whose runs (a local resolve) need no crypto
// and should not pay for loading it.
#pragma once

#include <agentdl/error.hpp>

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace agentdl {

using Sha256Digest = std::array<unsigned char, 32>;
using Md5Digest = std::array<unsigned char, 16>;

// Makes the crypto library ready. Call once before anything below; fails only
// when the library is loaded at run time and cannot be (the message names it).
Expected<void> crypto_init();

// An incremental SHA-256: update() with the data in pieces, then finish().
class Sha256
{
public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  // Adds `data` to the hashed input.
  void update(std::span<const unsigned char> data);
  void update(std::string_view data);

  // Returns the digest of everything added; the object is then spent.
  Sha256Digest finish();

private:
  void* m_context; // EVP_MD_CTX
};

// Returns the SHA-256 of `data`; cheap to call per request.
Sha256Digest sha256(std::string_view data);

// Returns the MD5 of `data` (for nginx's secure_link, which asks for it).
Md5Digest md5(std::string_view data);

// HMAC-SHA256 with one key, for many messages: the key is processed once, and
// each sign() starts from a copy of that state. Thread-safe once made.
class HmacSha256
{
public:
  explicit HmacSha256(std::span<const unsigned char> key);
  explicit HmacSha256(std::string_view key);
  ~HmacSha256();
  HmacSha256(const HmacSha256&) = delete;
  HmacSha256& operator=(const HmacSha256&) = delete;

  // Returns HMAC-SHA256(key, `data`).
  Sha256Digest sign(std::string_view data) const;

private:
  void* m_keyed;      // EVP_MAC_CTX, initialized with the key
  std::uint64_t m_id; // tells this key from others in the per-thread copies
};

// Returns HMAC-SHA256(`key`, `data`) once.
Sha256Digest hmac_sha256(std::span<const unsigned char> key, std::string_view data);

// Fills `out` from the operating system's CSPRNG; fails only if that does.
Expected<void> random_bytes(std::span<unsigned char> out);

// Returns the bytes of `text`, for the functions here that take bytes.
inline std::span<const unsigned char> byte_view(std::string_view text)
{
  return { reinterpret_cast<const unsigned char*>(text.data()), text.size() };
}

// Tells whether `a` and `b` (of the same size) are equal, taking the same time
// wherever they differ.
bool equal_constant_time(std::span<const unsigned char> a, std::span<const unsigned char> b);

} // namespace agentdl
