// The catalog loader, both parse paths: whole, and one [[releases]] block
// at a time. Whenever the block path takes a file, both must agree: the
// same catalog, or the same error.
#include "fuzz.hpp"

#include <agentdl/catalog.hpp>
#include <agentdl/catalog/parse.hpp>

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
      fuzz::require(whole.error().message == blocks->error().message,
                    "both paths fail with the same message");
    }
  }
  const auto chosen = parse_catalog(text, "fuzz.toml", options);
  fuzz::require(chosen.has_value() == whole.has_value(), "parse_catalog agrees");
  return 0;
}
