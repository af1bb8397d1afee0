#include <agentdl/utf8.hpp>

#include <cstddef>

namespace agentdl {

namespace {

// Returns the length of the well-formed UTF-8 sequence at the start of
// `text`, or 0 if it does not start with one (RFC 3629 section 4, Table 3.7
// of the Unicode standard).
std::size_t sequence_length(std::string_view text)
{
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const auto lead = byte(0);
  if (lead < 0x80) {
    return 1;
  }
  std::size_t length = 0;
  unsigned char low = 0x80; // the range of the second byte
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) {
      low = 0xA0; // not overlong
    } else if (lead == 0xED) {
      high = 0x9F; // not a surrogate
    }
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) {
      low = 0x90; // not overlong
    } else if (lead == 0xF4) {
      high = 0x8F; // not above U+10FFFF
    }
  } else {
    return 0; // a continuation byte, C0, C1 or F5..FF
  }
  if (text.size() < length || byte(1) < low || byte(1) > high) {
    return 0;
  }
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) {
      return 0;
    }
  }
  return length;
}

} // namespace

bool is_valid_utf8(std::string_view text)
{
  while (!text.empty()) {
    const auto n = sequence_length(text);
    if (n == 0) {
      return false;
    }
    text.remove_prefix(n);
  }
  return true;
}

std::string escape_invalid_utf8(std::string_view text)
{
  if (is_valid_utf8(text)) {
    return std::string(text);
  }
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() + 16);
  while (!text.empty()) {
    if (const auto n = sequence_length(text); n > 0) {
      out.append(text.substr(0, n));
      text.remove_prefix(n);
      continue;
    }
    const auto byte = static_cast<unsigned char>(text.front());
    out += "\\x";
    out += k_hex[byte >> 4];
    out += k_hex[byte & 0xF];
    text.remove_prefix(1);
  }
  return out;
}

} // namespace agentdl
