// Splitting a catalog file into blocks that parse on their own: the part
// before the first [[releases]], then one block per [[releases]]. Each
// release's TOML tree can then be freed once the release is built, and
// toml++'s search over all arrays of tables (linear at every header) stays short.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace agentdl::catalog_detail {

// One piece of the file for a parse of its own.
struct Block
{
  std::string_view text;
  std::uint32_t line_offset = 0; // lines of the file before it
};

// Tells whether `line` is a table header whose name starts with "releases"
// ([[releases]], [[releases.artifacts]]); sets `release_start` when it is
// exactly [[releases]].
bool is_releases_header(std::string_view line, bool& release_start);

// Returns the blocks of `text`: the head, then one per [[releases]]. Returns
// nothing when splitting by lines could be wrong: a multi-line string (a line
// in it may look like a header), or a table other than the releases' after
// the first release (its keys would belong to the top level).
std::optional<std::vector<Block>> split_blocks(std::string_view text);

} // namespace agentdl::catalog_detail
