#include <agentdl/atomic_file.hpp>

#include <cerrno>
#include <fcntl.h>
#include <fstream>
#include <optional>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace agentdl {

namespace {

// Writes all of `text` to `fd`.
bool write_all(int fd, std::string_view text)
{
  while (!text.empty()) {
    const auto n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

} // namespace

Expected<void> write_file_atomically(const std::filesystem::path& path, std::string_view text)
{
  const auto temporary = std::filesystem::path(path.string() + ".tmp");
  std::optional<mode_t> old_mode;
  if (struct stat st = {}; ::stat(path.c_str(), &st) == 0) {
    old_mode = st.st_mode & 07777;
  }
  const int fd =
    ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) {
    return std::unexpected(io_error("create", temporary.string(), errno));
  }
  // A new file's mode passes through the umask; the old file's is kept as it was.
  const bool written =
    (!old_mode || ::fchmod(fd, *old_mode) == 0) && write_all(fd, text) && ::fsync(fd) == 0;
  const int error = errno;
  if (::close(fd) != 0 || !written) {
    const int reported = written ? errno : error;
    ::unlink(temporary.c_str());
    return std::unexpected(io_error("write", temporary.string(), reported));
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int reported = errno;
    ::unlink(temporary.c_str());
    return std::unexpected(io_error("rename onto", path.string(), reported));
  }
  // The rename itself is durable once the folder is flushed.
  auto folder = path.parent_path();
  if (folder.empty()) {
    folder = ".";
  }
  if (const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return {};
}

Expected<std::optional<std::string>> read_text_file(const std::filesystem::path& path)
{
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    if (errno == ENOENT) {
      return std::nullopt;
    }
    return std::unexpected(io_error("read", path.string(), errno));
  }
  std::stringstream text;
  text << file.rdbuf();
  if (file.bad()) {
    return std::unexpected(io_error("read", path.string(), errno));
  }
  return std::move(text).str();
}

} // namespace agentdl
