// What the fuzz targets share: turning the fuzzer's bytes into fields, and
// stopping on a broken property (libFuzzer keeps the input that did it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace agentdl::fuzz {

// Returns the fuzzer's input as text.
inline std::string_view text_of(const std::uint8_t* data, std::size_t size)
{
  return { reinterpret_cast<const char*>(data), size };
}

// Returns `text` cut at each '\n' into at most `count` fields; the last
// field keeps the rest, and missing fields are empty.
inline std::vector<std::string_view> fields(std::string_view text, std::size_t count)
{
  std::vector<std::string_view> out;
  while (out.size() + 1 < count) {
    const auto newline = text.find('\n');
    if (newline == std::string_view::npos) {
      break;
    }
    out.push_back(text.substr(0, newline));
    text.remove_prefix(newline + 1);
  }
  out.push_back(text);
  out.resize(count);
  return out;
}

// Stops the run when `holds` is false: a property of the code under test
// is broken, not merely an input refused.
inline void require(bool holds, const char* property)
{
  if (!holds) {
    std::fprintf(stderr, "fuzz: property broken: %s\n", property);
    std::abort();
  }
}

} // namespace agentdl::fuzz
