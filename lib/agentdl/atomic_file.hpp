// Writing a file atomically (ccache's core/atomicfile): into a file beside
// it, flushed to disk, then renamed over it, so that a reader (agentdl-serve
// reloading a mirror's catalog) sees the old file or the new one, never a part.
#pragma once

#include <agentdl/error.hpp>

#include <filesystem>
#include <string_view>

namespace agentdl {

// Writes `text` to `path` atomically: into PATH.tmp, flushed (fsync), renamed
// onto `path`, and the folder flushed. An existing file's permissions carry
// over. Fails with Errc::io naming the file and the reason; `path` is then
// as it was.
Expected<void> write_file_atomically(const std::filesystem::path& path, std::string_view text);

} // namespace agentdl
