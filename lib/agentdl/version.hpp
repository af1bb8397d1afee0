// Release versions: 1 to 4 numeric components, an optional SemVer prerelease and
// build, an optional leading `v`; ordered by precedence.
#pragma once

#include <agentdl/error.hpp>

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agentdl {

class Version
{
public:
  // Parses `text` ("1.8.3", "v1.9.0-beta.2+build.7", "1.8.3.1200"); the error
  // says what is wrong, to follow `invalid version "TEXT": `.
  static std::expected<Version, std::string> parse(std::string_view text);

  // Returns the version as written, without a leading `v`.
  const std::string& str() const { return m_text; }

  // Returns the number of numeric components as written (1 to 4).
  std::size_t component_count() const { return m_count; }

  // Returns numeric component `i` (0-based); components not written count as 0.
  std::uint64_t component(std::size_t i) const { return m_numbers[i]; }

  // Returns whether the version has a prerelease part ("-beta.2").
  bool is_prerelease() const { return m_prerelease_begin != m_prerelease_end; }

  // Returns a hash that is equal for versions of equal precedence ("1.8" and
  // "1.8.0+b1"), for the catalog's version index.
  std::uint64_t precedence_hash() const;

  // Compares by precedence: components numerically, then SemVer prerelease
  // rules; build metadata is ignored.
  std::strong_ordering operator<=>(const Version& other) const;

  // Tells whether the versions have equal precedence ("1.8" == "1.8.0+b1").
  bool operator==(const Version& other) const { return (*this <=> other) == 0; }

private:
  std::string m_text;
  std::array<std::uint64_t, 4> m_numbers{};
  std::uint8_t m_count = 0;
  // The prerelease identifiers as a range of m_text (without the '-').
  std::uint16_t m_prerelease_begin = 0;
  std::uint16_t m_prerelease_end = 0;
};

} // namespace agentdl
