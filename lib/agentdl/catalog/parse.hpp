// The two ways the loader reads a catalog file: whole, or one [[releases]]
// block at a time (blocks.hpp). parse_catalog() picks one; tests run both.
#pragma once

#include <agentdl/catalog.hpp>

#include <optional>
#include <string_view>

namespace agentdl::catalog_detail {

// Parses `text` as one TOML document and loads the catalog from it.
Expected<Catalog> parse_whole(std::string_view text,
                              std::string_view source_name,
                              const LoadOptions& options = {});

// Parses `text` one block at a time, freeing each release's tree once the
// release is built. Returns nothing when the file cannot be read that way
// (split_blocks declines, or a block holds more than releases).
std::optional<Expected<Catalog>> parse_in_blocks(std::string_view text,
                                                 std::string_view source_name,
                                                 const LoadOptions& options = {});

} // namespace agentdl::catalog_detail
