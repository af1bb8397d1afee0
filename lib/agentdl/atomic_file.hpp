// Whole files: written atomically (ccache's core/atomicfile) into a file
// beside, flushed to disk, then renamed over it, so that a reader
// (agentdl-serve reloading a mirror's catalog) sees the old file or the new
// one, never a part; and read back whole.
#pragma once

#include <agentdl/error.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace agentdl {

// Writes `text` to `path` atomically: into PATH.tmp, flushed (fsync), renamed
// onto `path`, and the folder flushed. An existing file's permissions carry
// over. Fails with Errc::io naming the file and the reason; `path` is then
// as it was.
Expected<void> write_file_atomically(const std::filesystem::path& path, std::string_view text);

// Returns the text of the file at `path`, or nullopt when there is none.
// Fails with Errc::io naming the file and the reason.
Expected<std::optional<std::string>> read_text_file(const std::filesystem::path& path);

} // namespace agentdl
