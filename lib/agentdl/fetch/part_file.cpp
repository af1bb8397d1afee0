#include <agentdl/fetch/part_file.hpp>
#include <agentdl/token.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace agentdl::fetch {

namespace fs = std::filesystem;

namespace {

Error io_error(std::string_view what, const fs::path& path, int error)
{
  return Error(Errc::io,
               fmt::format("cannot {} {}: {}", what, path.string(), std::strerror(error)));
}

// Adds the content of the open file `fd` (named `path`, for messages) to
// `hash`, reading it from its start; returns its size.
Expected<std::uint64_t> hash_fd(int fd, const fs::path& path, Sha256& hash)
{
  std::vector<unsigned char> buffer(1 << 20);
  std::uint64_t total = 0;
  for (;;) {
    const auto n = ::pread(fd, buffer.data(), buffer.size(), static_cast<off_t>(total));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return std::unexpected(io_error("read", path, errno));
    }
    if (n == 0) {
      return total;
    }
    hash.update(std::span(buffer.data(), static_cast<std::size_t>(n)));
    total += static_cast<std::uint64_t>(n);
  }
}

} // namespace

// Writes a download as it comes, and hashes it behind on a thread of its own.
// append() writes the bytes to the .part at once, as curl -o does; the thread
// reads them back from the page cache and hashes them. So receiving and
// writing overlap hashing, the receiving thread copies nothing more than a
// plain download, and the hash is of what reached the file.
class HashingWriter
{
public:
  // Writes at the descriptor's offset; `hashed` bytes of the file are in `hash` already.
  HashingWriter(int fd, const fs::path& path, Sha256& hash, std::uint64_t hashed)
    : m_fd(fd)
    , m_path(path)
    , m_hash(hash)
    , m_written(hashed)
    , m_hashed(hashed)
  {
    // The thread takes no signals: Ctrl-C is for the receiving thread to see.
    sigset_t all;
    sigset_t old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    m_thread = std::thread([this] { run(); });
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }

  ~HashingWriter() { (void)finish(); }

  HashingWriter(const HashingWriter&) = delete;
  HashingWriter& operator=(const HashingWriter&) = delete;

  // Writes `data`; fails with the write's error (a full disk), or the hashing
  // thread's.
  Expected<void> append(std::span<const char> data)
  {
    while (!data.empty()) {
      const auto n = ::write(m_fd, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        return std::unexpected(io_error("write", m_path, errno));
      }
      data = data.subspan(static_cast<std::size_t>(n));
      {
        std::lock_guard lock(m_mutex);
        m_written += static_cast<std::uint64_t>(n);
      }
      m_changed.notify_one();
    }
    std::lock_guard lock(m_mutex);
    if (m_error) {
      return std::unexpected(*m_error);
    }
    return {};
  }

  // Waits until everything written is hashed, and stops the thread; returns
  // the first error.
  Expected<void> finish()
  {
    if (m_thread.joinable()) {
      {
        std::lock_guard lock(m_mutex);
        m_closing = true;
      }
      m_changed.notify_one();
      m_thread.join();
    }
    if (m_error) {
      return std::unexpected(*m_error);
    }
    return {};
  }

private:
  static constexpr std::size_t k_chunk = 1 << 20;

  void run()
  {
    std::vector<unsigned char> buffer(k_chunk);
    std::unique_lock lock(m_mutex);
    for (;;) {
      m_changed.wait(lock, [&] { return m_written > m_hashed || m_closing || m_error; });
      if (m_error || (m_written == m_hashed && m_closing)) {
        return;
      }
      const auto offset = m_hashed;
      const auto length =
        static_cast<std::size_t>(std::min<std::uint64_t>(m_written - offset, k_chunk));
      lock.unlock();
      const auto n = ::pread(m_fd, buffer.data(), length, static_cast<off_t>(offset));
      if (n > 0) {
        m_hash.update(std::span(buffer.data(), static_cast<std::size_t>(n)));
      }
      lock.lock();
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        // The bytes written cannot be read back: the hash would not be of the file.
        m_error = io_error("read back", m_path, n < 0 ? errno : EIO);
        return;
      }
      m_hashed += static_cast<std::uint64_t>(n);
    }
  }

  const int m_fd;
  const fs::path& m_path;
  Sha256& m_hash; // used by the thread only, until finish()

  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::uint64_t m_written; // bytes of the file written so far
  std::uint64_t m_hashed;  // of them, hashed
  std::optional<Error> m_error;
  bool m_closing = false;
  std::thread m_thread;
};

File::~File()
{
  if (m_fd >= 0) {
    ::close(m_fd);
  }
}

PartFile::PartFile(fs::path path)
  : m_path(std::move(path))
{
}

PartFile::~PartFile() = default;

Expected<bool> PartFile::open_existing()
{
  if (!is_open()) {
    m_file = File(::open(m_path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (!m_file) {
      if (errno == ENOENT) {
        return false;
      }
      return std::unexpected(io_error("open", m_path, errno));
    }
    AGENTDL_TRY(check_and_lock());
  }
  m_hash.emplace();
  m_size = AGENTDL_TRY(hash_to_end());
  return true;
}

void PartFile::continue_writing()
{
  m_writer = std::make_unique<HashingWriter>(m_file.fd(), m_path, *m_hash, m_size);
}

Expected<void> PartFile::start_over()
{
  if (!is_open()) {
    m_file =
      File(::open(m_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644));
    if (!m_file) {
      return std::unexpected(io_error("create", m_path, errno));
    }
    AGENTDL_TRY(check_and_lock());
  }
  if (::ftruncate(m_file.fd(), 0) != 0 || ::lseek(m_file.fd(), 0, SEEK_SET) != 0) {
    return std::unexpected(io_error("empty", m_path, errno));
  }
  m_hash.emplace();
  m_size = 0;
  m_writer = std::make_unique<HashingWriter>(m_file.fd(), m_path, *m_hash, m_size);
  return {};
}

Expected<void> PartFile::append(std::span<const char> data)
{
  m_size += data.size();
  return m_writer->append(data);
}

Expected<void> PartFile::drain()
{
  auto result = m_writer ? m_writer->finish() : Expected<void>();
  m_writer.reset();
  return result;
}

Expected<std::string> PartFile::finish_hash()
{
  AGENTDL_TRY(drain());
  return to_hex(m_hash->finish());
}

// Like curl, wget and apt, without an fsync: it would double the time of a
// download on some disks, and a file that a crash cut short is not the
// verified artifact, so the next run replaces it (mirror sync flushes the
// folder's filesystem once, before its catalog lists the new files). The
// lock is held until after the rename.
Expected<void> PartFile::commit(const fs::path& target)
{
  AGENTDL_TRY(drain());
  if (::rename(m_path.c_str(), target.c_str()) != 0) {
    return std::unexpected(io_error("rename the download onto", target, errno));
  }
  if (::close(m_file.release()) != 0) {
    return std::unexpected(io_error("write", target, errno));
  }
  return {};
}

void PartFile::close()
{
  (void)drain();
  m_file = File();
}

void PartFile::remove()
{
  (void)drain();
  ::unlink(m_path.c_str());
  m_file = File();
}

Expected<void> PartFile::check_and_lock()
{
  struct stat st = {};
  if (::fstat(m_file.fd(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) {
    m_file = File();
    return fail(Errc::io,
                fmt::format("{} is not a plain file of this user's; remove it and run again",
                            m_path.string()));
  }
  if (::flock(m_file.fd(), LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    m_file = File();
    if (error == EWOULDBLOCK) {
      return fail(Errc::io,
                  fmt::format("{} is being downloaded by another agentdl; wait for it to finish",
                              m_path.string()));
    }
    return std::unexpected(io_error("lock", m_path, error));
  }
  // O_NONBLOCK only kept open() from hanging on a FIFO.
  ::fcntl(m_file.fd(), F_SETFL, ::fcntl(m_file.fd(), F_GETFL) & ~O_NONBLOCK);
  return {};
}

// Hashes the open .part from its start and leaves its offset at the end.
Expected<std::uint64_t> PartFile::hash_to_end()
{
  const auto total = AGENTDL_TRY(hash_fd(m_file.fd(), m_path, *m_hash));
  if (::lseek(m_file.fd(), static_cast<off_t>(total), SEEK_SET) < 0) {
    return std::unexpected(io_error("seek in", m_path, errno));
  }
  return total;
}

bool holds(const fs::path& path, std::string_view sha256, std::optional<std::uint64_t> size)
{
  if (sha256.empty()) {
    return false;
  }
  const File file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  struct stat st = {};
  if (!file || ::fstat(file.fd(), &st) != 0 || !S_ISREG(st.st_mode) ||
      (size && static_cast<std::uint64_t>(st.st_size) != *size)) {
    return false;
  }
  Sha256 hash;
  return hash_fd(file.fd(), path, hash) && to_hex(hash.finish()) == sha256;
}

} // namespace agentdl::fetch
