// Copying tables of a catalog file through as written: a mirror sync writes
// DIR/agentdl.toml anew each time, but keeps the operator's [server], [auth]
// and [storage] tables byte for byte, comments included.
#pragma once

#include <agentdl/error.hpp>

#include <span>
#include <string>
#include <string_view>

namespace agentdl {

// Returns the text of the top-level tables of the catalog `text` named in
// `names`, with their sub-tables and arrays of tables ([auth] and
// [[auth.tokens]]): each header with the comment lines right above it and
// the lines up to the next header's, as written, in file order; tables apart
// in the file are joined by one blank line, and trailing blank lines are
// dropped. Empty when there are none. Fails with Errc::config when `text` is
// not TOML (naming `source_name`, line and column), or when the text would
// not hold the same settings as the file: one of those tables written
// otherwise than under its own headers (a dotted key, an inline table).
Expected<std::string> kept_tables(std::string_view text,
                                  std::string_view source_name,
                                  std::span<const std::string_view> names);

} // namespace agentdl
