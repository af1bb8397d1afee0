#include <agentdl/version.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>

namespace agentdl {

namespace {

bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

bool is_identifier_char(char c)
{
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

bool all_digits(std::string_view s)
{
  return std::all_of(s.begin(), s.end(), is_digit);
}

// Checks one dot-separated list of SemVer identifiers (prerelease or build).
std::expected<void, std::string> check_identifiers(std::string_view list,
                                                   std::string_view what,
                                                   bool numeric_no_leading_zero)
{
  if (list.empty()) {
    return std::unexpected(fmt::format("empty {}", what));
  }
  std::size_t start = 0;
  while (true) {
    const auto dot = list.find('.', start);
    const auto id = list.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (id.empty()) {
      return std::unexpected(fmt::format("empty identifier in {} \"{}\"", what, list));
    }
    if (!std::all_of(id.begin(), id.end(), is_identifier_char)) {
      return std::unexpected(
        fmt::format("{} \"{}\" may hold only letters, digits, '-' and '.'", what, list));
    }
    if (numeric_no_leading_zero && id.size() > 1 && id[0] == '0' && all_digits(id)) {
      return std::unexpected(
        fmt::format("numeric identifier \"{}\" in {} has a leading zero", id, what));
    }
    if (dot == std::string_view::npos) {
      return {};
    }
    start = dot + 1;
  }
}

// Compares two prerelease lists by SemVer 2.0 rules (both non-empty).
std::strong_ordering compare_prerelease(std::string_view a, std::string_view b)
{
  while (true) {
    const auto a_dot = a.find('.');
    const auto b_dot = b.find('.');
    const auto a_id = a.substr(0, a_dot);
    const auto b_id = b.substr(0, b_dot);
    const bool a_num = all_digits(a_id);
    const bool b_num = all_digits(b_id);
    std::strong_ordering order = std::strong_ordering::equal;
    if (a_num && b_num) {
      // No leading zeros, so a longer number is a larger one.
      order = a_id.size() <=> b_id.size();
      if (order == 0) {
        order = a_id.compare(b_id) <=> 0;
      }
    } else if (a_num != b_num) {
      order = a_num ? std::strong_ordering::less : std::strong_ordering::greater;
    } else {
      order = a_id.compare(b_id) <=> 0;
    }
    if (order != 0) {
      return order;
    }
    if (a_dot == std::string_view::npos || b_dot == std::string_view::npos) {
      // A larger set of identifiers has higher precedence when all before are equal.
      return (a_dot != std::string_view::npos) <=> (b_dot != std::string_view::npos);
    }
    a.remove_prefix(a_dot + 1);
    b.remove_prefix(b_dot + 1);
  }
}

} // namespace

std::expected<Version, std::string> Version::parse(std::string_view text)
{
  std::string_view s = text;
  if (!s.empty() && (s[0] == 'v' || s[0] == 'V')) {
    s.remove_prefix(1);
  }
  if (s.empty()) {
    return std::unexpected("is empty (expected e.g. 1.8.3)");
  }
  if (s.size() > std::numeric_limits<std::uint16_t>::max()) {
    return std::unexpected("is too long");
  }

  Version v;
  v.m_text = std::string(s);

  const auto plus = s.find('+');
  const auto dash = s.substr(0, plus).find('-');
  const auto core = s.substr(0, std::min(plus, dash));

  std::size_t start = 0;
  while (true) {
    const auto dot = core.find('.', start);
    const auto part = core.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (v.m_count == 4) {
      return std::unexpected("has more than 4 numeric components");
    }
    if (part.empty() || !all_digits(part)) {
      return std::unexpected("must be 1 to 4 dot-separated numbers, then optional -prerelease "
                             "and +build (e.g. 1.8.3, 1.9.0-beta.2)");
    }
    if (part.size() > 1 && part[0] == '0') {
      return std::unexpected(fmt::format("component \"{}\" has a leading zero", part));
    }
    std::uint64_t n = 0;
    const auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), n);
    if (ec != std::errc{} || ptr != part.data() + part.size()) {
      return std::unexpected(fmt::format("component \"{}\" is too large", part));
    }
    v.m_numbers[v.m_count++] = n;
    if (dot == std::string_view::npos) {
      break;
    }
    start = dot + 1;
  }

  if (dash != std::string_view::npos) {
    const auto pre = s.substr(dash + 1, plus == std::string_view::npos ? plus : plus - dash - 1);
    if (auto ok = check_identifiers(pre, "prerelease", true); !ok) {
      return std::unexpected(ok.error());
    }
    v.m_prerelease_begin = static_cast<std::uint16_t>(dash + 1);
    v.m_prerelease_end = static_cast<std::uint16_t>(dash + 1 + pre.size());
  }
  if (plus != std::string_view::npos) {
    if (auto ok = check_identifiers(s.substr(plus + 1), "build metadata", false); !ok) {
      return std::unexpected(ok.error());
    }
  }
  return v;
}

std::uint64_t Version::precedence_hash() const
{
  // Numeric prerelease identifiers have no leading zeros, so equal precedence
  // means equal components (padded to four) and equal prerelease text. FNV-1a
  // over those, then a final mix so that the low bits (the index's slot)
  // depend on every input bit.
  std::uint64_t h = 14695981039346656037ull;
  const auto add = [&h](std::uint64_t byte) { h = (h ^ byte) * 1099511628211ull; };
  for (const auto number : m_numbers) {
    for (int shift = 0; shift < 64; shift += 8) {
      add((number >> shift) & 0xff);
    }
  }
  for (auto i = m_prerelease_begin; i < m_prerelease_end; ++i) {
    add(static_cast<unsigned char>(m_text[i]));
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

std::strong_ordering Version::operator<=>(const Version& other) const
{
  for (std::size_t i = 0; i < m_numbers.size(); ++i) {
    if (auto order = m_numbers[i] <=> other.m_numbers[i]; order != 0) {
      return order;
    }
  }
  const std::string_view a =
    std::string_view(m_text).substr(m_prerelease_begin, m_prerelease_end - m_prerelease_begin);
  const std::string_view b =
    std::string_view(other.m_text)
      .substr(other.m_prerelease_begin, other.m_prerelease_end - other.m_prerelease_begin);
  if (a.empty() || b.empty()) {
    // A version without prerelease has higher precedence than one with.
    return a.empty() <=> b.empty();
  }
  return compare_prerelease(a, b);
}

} // namespace agentdl
