// The catalog loader, both parse paths: whole, and one [[releases]] block
// at a time. Whenever the block path takes a file, both must agree: the
// same catalog, or the same error.
#include "fuzz.hpp"

#include <agentdl/catalog.hpp>
#include <agentdl/catalog/parse.hpp>

#include <charconv>
#include <cstdio>
#include <string_view>

namespace {

// Returns the line of an error "fuzz.toml:LINE:COLUMN: ...", 0 if none.
unsigned line_of(std::string_view message)
{
  constexpr std::string_view k_prefix = "fuzz.toml:";
  unsigned line = 0;
  if (message.starts_with(k_prefix)) {
    std::from_chars(message.data() + k_prefix.size(), message.data() + message.size(), line);
  }
  return line;
}

// Tells whether errors `a` and `b` ("fuzz.toml:LINE:COLUMN: text") differ
// only in their column.
bool same_but_column(std::string_view a, std::string_view b)
{
  const auto text = [](std::string_view m) {
    const auto at = m.find(": ");
    return at == std::string_view::npos ? m : m.substr(at);
  };
  return line_of(a) == line_of(b) && text(a) == text(b);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  using namespace agentdl;
  const auto text = fuzz::text_of(data, size);
  LoadOptions options;
  options.getenv = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
  const auto whole = catalog_detail::parse_whole(text, "fuzz.toml", options);
  const auto blocks = catalog_detail::parse_in_blocks(text, "fuzz.toml", options);
  if (blocks) {
    fuzz::require(whole.has_value() == blocks->has_value(), "both paths load, or both fail");
    if (whole) {
      fuzz::require(*whole == **blocks, "both paths load the same catalog");
    } else if (whole.error().message != blocks->error().message &&
               line_of(blocks->error().message) >= line_of(whole.error().message) &&
               !same_but_column(whole.error().message, blocks->error().message)) {
      // A file with two errors may fail on either: the whole path meets a
      // syntax error anywhere first, the block path an earlier error in
      // its block first. toml++ may place a bad UTF-8 sequence a column
      // apart in the two. Otherwise the two must say the same.
      std::fprintf(stderr,
                   "whole:  %s\nblocks: %s\n",
                   whole.error().message.c_str(),
                   blocks->error().message.c_str());
      fuzz::require(false, "both paths fail with the same message, or blocks with an earlier one");
    }
  }
  const auto chosen = parse_catalog(text, "fuzz.toml", options);
  fuzz::require(chosen.has_value() == whole.has_value(), "parse_catalog agrees");
  return 0;
}
