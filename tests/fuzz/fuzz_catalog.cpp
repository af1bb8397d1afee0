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

// Tells whether the error `message` starts with "fuzz.toml:LINE:COLUMN: ",
// both numbers from 1.
bool names_position(std::string_view message)
{
  constexpr std::string_view k_prefix = "fuzz.toml:";
  if (!message.starts_with(k_prefix)) {
    return false;
  }
  message.remove_prefix(k_prefix.size());
  for (const char end : { ':', ':' }) {
    unsigned number = 0;
    const auto [rest, ec] =
      std::from_chars(message.data(), message.data() + message.size(), number);
    if (ec != std::errc() || number == 0 || rest == message.data() + message.size() ||
        *rest != end) {
      return false;
    }
    message.remove_prefix(static_cast<std::size_t>(rest - message.data()) + 1);
  }
  return message.starts_with(' ');
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
    } else {
      // A file with two faults may fail on either: the whole path meets a
      // syntax error anywhere first, the block path an earlier fault in its
      // block, and toml++ checks UTF-8 some bytes ahead of where it parses.
      fuzz::require(names_position(blocks->error().message),
                    "an error names file, line and column");
    }
  }
  if (!whole) {
    fuzz::require(names_position(whole.error().message), "an error names file, line and column");
  }
  const auto chosen = parse_catalog(text, "fuzz.toml", options);
  fuzz::require(chosen.has_value() == whole.has_value(), "parse_catalog agrees");
  return 0;
}
