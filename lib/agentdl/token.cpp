#include <agentdl/crypto.hpp>
#include <agentdl/token.hpp>

#include <array>

namespace agentdl {

Expected<std::string> new_token()
{
  std::array<unsigned char, 32> bytes{};
  AGENTDL_TRY(random_bytes(bytes));
  return base64url(bytes);
}

namespace {

// Returns `bytes` in the base64 `alphabet`, without padding.
std::string encode_base64(std::span<const unsigned char> bytes, std::string_view alphabet)
{
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const auto byte : bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += alphabet[(buffer >> bits) & 0x3f];
    }
  }
  if (bits > 0) {
    out += alphabet[(buffer << (6 - bits)) & 0x3f];
  }
  return out;
}

} // namespace

std::string base64url(std::span<const unsigned char> bytes)
{
  return encode_base64(bytes, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
}

std::string base64(std::span<const unsigned char> bytes)
{
  auto out =
    encode_base64(bytes, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
  out.append((4 - out.size() % 4) % 4, '=');
  return out;
}

std::optional<std::string_view> token_problem(std::string_view token)
{
  if (token.empty()) {
    return "is empty";
  }
  for (const char c : token) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      return "holds white space or control characters";
    }
  }
  return std::nullopt;
}

std::string to_hex(std::span<const unsigned char> bytes)
{
  static constexpr std::string_view k_hex = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const auto byte : bytes) {
    out += k_hex[byte >> 4];
    out += k_hex[byte & 0xf];
  }
  return out;
}

std::string sha256_hex(std::string_view data)
{
  return to_hex(sha256(data));
}

} // namespace agentdl
