#include "file_sender.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <fcntl.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace agentdl::serve {

namespace {

using mirror::OpenFailure;

// O_NONBLOCK: opening a FIFO for reading must not wait for a writer. O_NOCTTY:
// a terminal device in root must not become the daemon's.
constexpr int k_open_flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;

// Set when openat2 answered ENOSYS (a kernel before 5.6, or a seccomp filter).
std::atomic<bool> g_no_openat2{ false };

// openat2 with RESOLVE_BENEATH: the kernel refuses any step out of `root`,
// through "..", an absolute symbolic link or a /proc magic link (EXDEV, ELOOP).
std::expected<UniqueFd, int> open_with_openat2(int root, const std::string& path)
{
  open_how how{};
  how.flags = k_open_flags;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  // EAGAIN: a rename raced a ".." in a link's target; the man page says retry.
  for (int attempt = 0; attempt < 8; ++attempt) {
    const auto fd = ::syscall(SYS_openat2, root, path.c_str(), &how, sizeof(how));
    if (fd >= 0) {
      return UniqueFd(static_cast<int>(fd));
    }
    if (errno != EINTR && errno != EAGAIN) {
      break;
    }
  }
  return std::unexpected(errno);
}

// Without openat2: one component at a time from `root`, following no
// symbolic link at all (ELOOP), so that nothing can lead out. The path has
// no "." or ".." segment (decode_file_path), so no step goes up either.
std::expected<UniqueFd, int> open_by_components(int root, const std::string& path)
{
  UniqueFd folder;
  int at = root;
  std::size_t start = 0;
  while (true) {
    const auto slash = path.find('/', start);
    const auto name = path.substr(start, slash == std::string::npos ? slash : slash - start);
    if (slash == std::string::npos) {
      const int fd = ::openat(at, name.c_str(), k_open_flags | O_NOFOLLOW);
      if (fd < 0) {
        return std::unexpected(errno);
      }
      return UniqueFd(fd);
    }
    const int fd = ::openat(at, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      int error = errno;
      struct stat st
      {};
      // O_DIRECTORY says ENOTDIR for a symbolic link too: tell the two apart.
      if (error == ENOTDIR && ::fstatat(at, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISLNK(st.st_mode)) {
        error = ELOOP;
      }
      return std::unexpected(error);
    }
    folder = UniqueFd(fd);
    at = fd;
    start = slash + 1;
  }
}

OpenFailure failure_of(int error)
{
  switch (error) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
      return OpenFailure::missing;
    case EXDEV: // RESOLVE_BENEATH: a step out of root
    case ELOOP: // a magic link, a loop, or (without openat2) any symbolic link
      return OpenFailure::leaves_root;
    case ENXIO: // a socket
    case ENODEV:
      return OpenFailure::not_a_file;
    case EACCES:
    case EPERM:
      return OpenFailure::denied;
    default:
      return OpenFailure::failed;
  }
}

} // namespace

std::expected<OpenedFile, OpenFailure> open_beneath(int root, const std::string& path)
{
  std::expected<UniqueFd, int> opened = std::unexpected(ENOSYS);
  if (!g_no_openat2.load(std::memory_order_relaxed)) {
    opened = open_with_openat2(root, path);
    if (!opened && opened.error() == ENOSYS) {
      g_no_openat2.store(true, std::memory_order_relaxed);
    }
  }
  if (g_no_openat2.load(std::memory_order_relaxed)) {
    opened = open_by_components(root, path);
  }
  if (!opened) {
    return std::unexpected(failure_of(opened.error()));
  }
  struct stat st
  {};
  if (::fstat(opened->get(), &st) != 0) {
    return std::unexpected(OpenFailure::failed);
  }
  // Only a regular file: a folder, a FIFO or a device has no size to promise.
  if (!S_ISREG(st.st_mode)) {
    return std::unexpected(OpenFailure::not_a_file);
  }
  mirror::FileIdentity identity;
  identity.size = static_cast<std::uint64_t>(st.st_size);
  identity.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
                      static_cast<std::int64_t>(st.st_mtim.tv_nsec);
  identity.inode = static_cast<std::uint64_t>(st.st_ino);
  return OpenedFile{ std::move(*opened), identity };
}

void limit_unsent_bytes(int socket)
{
  // A failure only costs the finer wake-ups: the file is sent all the same.
  ::setsockopt(socket, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &k_unsent_bytes, sizeof(k_unsent_bytes));
}

void FileSender::open(UniqueFd file, std::uint64_t offset, std::uint64_t length)
{
  m_file = std::move(file);
  m_offset = offset;
  m_left = length;
  m_sent = 0;
  m_head = {};
}

FileSender::Progress FileSender::send(int socket, std::error_code& error)
{
  std::uint64_t turn = 0;
  while (!m_head.empty() || m_left > 0) {
    ssize_t n = 0;
    if (!m_head.empty()) {
      // MSG_MORE: the head goes out in the same segment as the file's first bytes.
      n = ::send(socket, m_head.data(), m_head.size(), MSG_NOSIGNAL | MSG_MORE);
      if (n > 0) {
        m_head.remove_prefix(static_cast<std::size_t>(n));
      }
    } else {
      auto offset = static_cast<off_t>(m_offset);
      n = ::sendfile(socket, m_file.get(), &offset, std::min<std::uint64_t>(m_left, k_turn_bytes));
      if (n == 0) {
        // The file was cut short in place: the promised length cannot be met,
        // and the client must see the response end early, not wait.
        error = std::make_error_code(std::errc::io_error);
        return Progress::failed;
      }
      if (n > 0) {
        const auto sent = static_cast<std::uint64_t>(n);
        m_offset += sent;
        m_left -= sent;
        m_sent += sent;
        turn += sent;
      }
    }
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN) {
        return Progress::blocked;
      }
      error = std::error_code(errno, std::system_category());
      return Progress::failed;
    }
    if (turn >= k_turn_bytes) {
      return Progress::turn;
    }
  }
  return Progress::done;
}

void FileSender::close()
{
  m_file.reset();
  m_head = {};
  m_left = 0;
}

} // namespace agentdl::serve
