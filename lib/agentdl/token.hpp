// Bearer tokens: making them, and their SHA-256 digests as the catalog holds
// them; the text encodings of bytes agentdl writes (hex, base64url).
#pragma once

#include <agentdl/error.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace agentdl {

// Returns a new token: 32 bytes from the OS's CSPRNG (OpenSSL RAND_bytes),
// base64url without padding (43 characters). Fails only if the CSPRNG does.
// This and sha256_hex() need crypto_init() (crypto.hpp) first.
Expected<std::string> new_token();

// Returns what is wrong with `token` as a bearer token ("is empty", "holds
// white space or control characters"), if anything.
std::optional<std::string_view> token_problem(std::string_view token);

// Returns `bytes` in base64url (RFC 4648 section 5) without padding.
std::string base64url(std::span<const unsigned char> bytes);

// Returns `bytes` in base64 (RFC 4648 section 4), padded with '='.
std::string base64(std::span<const unsigned char> bytes);

// Returns `bytes` as lowercase hex.
std::string to_hex(std::span<const unsigned char> bytes);

// Returns the lowercase hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

} // namespace agentdl
