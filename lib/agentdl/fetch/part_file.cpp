#include <agentdl/fetch/part_file.hpp>
#include <agentdl/token.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <memory>
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
      return std::unexpected(io_error("read", path.string(), errno));
    }
    if (n == 0) {
      return total;
    }
    hash.update(std::span(buffer.data(), static_cast<std::size_t>(n)));
    total += static_cast<std::uint64_t>(n);
  }
}

} // namespace

// Writes a download as it comes, and hashes it on a thread of its own.
// libcurl hands over 16 KiB at a time; append() gathers them into 512 KiB
// blocks, writes each full block to the .part with one write(2), and passes
// it to the thread, which hashes it from memory and gives it back. So
// receiving and writing overlap hashing, nothing is read back from the file,
// and the two threads meet once per block, not once per 16 KiB. The hash is
// of the bytes written; a block not yet full is written by finish().
class HashingWriter
{
public:
  // Writes at the descriptor's offset; what the file holds before is in `hash` already.
  HashingWriter(int fd, const fs::path& path, Sha256& hash)
    : m_fd(fd)
    , m_path(path)
    , m_hash(hash)
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

  // Takes `data`; fails with a write's error (a full disk), now or from an
  // earlier block.
  Expected<void> append(std::span<const char> data)
  {
    if (m_error) {
      return std::unexpected(*m_error);
    }
    while (!data.empty()) {
      if (!m_filling) {
        m_filling = take_free_block();
      }
      const auto n = std::min(data.size(), k_block - m_filling->size);
      std::memcpy(m_filling->data.get() + m_filling->size, data.data(), n);
      m_filling->size += n;
      data = data.subspan(n);
      if (m_filling->size == k_block) {
        AGENTDL_TRY(write_block());
      }
    }
    return {};
  }

  // Writes the block being filled, waits until every block is hashed, and
  // stops the thread; returns the first write error.
  Expected<void> finish()
  {
    if (m_thread.joinable()) {
      if (m_filling && m_filling->size > 0 && !m_error) {
        (void)write_block();
      }
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
  // 16 blocks of 512 KiB: one filling, the others written and waiting to be
  // hashed. Measured with bench/download_bench.sh: 4 blocks of 1 MiB left
  // the receiving thread waiting for one in about a third of the runs (0.55x
  // curl's throughput in those, 0.97x in the others); 8 MiB in all made
  // that rarer (bench/README.md).
  static constexpr std::size_t k_block = 512 * 1024;
  static constexpr std::size_t k_blocks = 16;

  struct Block
  {
    std::unique_ptr<unsigned char[]> data;
    std::size_t size = 0;
  };

  // Returns a block the thread has hashed, or a new one while fewer than
  // k_blocks exist (a small download needs only a few), else waits for one.
  Block* take_free_block()
  {
    std::unique_lock lock(m_mutex);
    if (m_free.empty() && m_allocated < k_blocks) {
      auto& block = m_blocks[m_allocated++];
      block.data = std::make_unique_for_overwrite<unsigned char[]>(k_block);
      return &block;
    }
    m_changed.wait(lock, [&] { return !m_free.empty(); });
    auto* block = m_free.front();
    m_free.pop_front();
    block->size = 0;
    return block;
  }

  // Writes the block being filled and hands it to the thread.
  Expected<void> write_block()
  {
    auto* block = std::exchange(m_filling, nullptr);
    std::size_t done = 0;
    while (done < block->size) {
      const auto n = ::write(m_fd, block->data.get() + done, block->size - done);
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        m_error = io_error("write", m_path.string(), errno);
        // Not hashed: what reached the file no longer matters, the download failed.
        std::lock_guard lock(m_mutex);
        m_free.push_back(block);
        return std::unexpected(*m_error);
      }
      done += static_cast<std::size_t>(n);
    }
    {
      std::lock_guard lock(m_mutex);
      m_written.push_back(block);
    }
    m_changed.notify_all();
    return {};
  }

  void run()
  {
    std::unique_lock lock(m_mutex);
    for (;;) {
      m_changed.wait(lock, [&] { return !m_written.empty() || m_closing; });
      if (m_written.empty()) {
        return; // closing, and everything is hashed
      }
      auto* block = m_written.front();
      m_written.pop_front();
      lock.unlock();
      m_hash.update(std::span(block->data.get(), block->size));
      lock.lock();
      m_free.push_back(block);
      m_changed.notify_all();
    }
  }

  const int m_fd;
  const fs::path& m_path;
  Sha256& m_hash; // used by the thread only, until finish()
  std::array<Block, k_blocks> m_blocks;
  std::size_t m_allocated = 0;  // of m_blocks, given memory; the receiving thread's
  Block* m_filling = nullptr;   // the receiving thread's
  std::optional<Error> m_error; // the receiving thread's: a write failed

  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::deque<Block*> m_free;    // hashed, to be filled
  std::deque<Block*> m_written; // written, to be hashed, in file order
  bool m_closing = false;
  std::thread m_thread;
};

PartFile::PartFile(fs::path path)
  : m_path(std::move(path))
{
}

PartFile::~PartFile() = default;

Expected<bool> PartFile::open_existing()
{
  if (!is_open()) {
    m_file = UniqueFd(::open(m_path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (!m_file) {
      if (errno == ENOENT) {
        return false;
      }
      return std::unexpected(io_error("open", m_path.string(), errno));
    }
    AGENTDL_TRY(check_and_lock());
  }
  m_hash.emplace();
  m_size = AGENTDL_TRY(hash_to_end());
  return true;
}

void PartFile::continue_writing()
{
  m_writer = std::make_unique<HashingWriter>(m_file.get(), m_path, *m_hash);
}

Expected<void> PartFile::start_over()
{
  if (!is_open()) {
    m_file = UniqueFd(
      ::open(m_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644));
    if (!m_file) {
      return std::unexpected(io_error("create", m_path.string(), errno));
    }
    AGENTDL_TRY(check_and_lock());
  }
  if (::ftruncate(m_file.get(), 0) != 0 || ::lseek(m_file.get(), 0, SEEK_SET) != 0) {
    return std::unexpected(io_error("empty", m_path.string(), errno));
  }
  m_hash.emplace();
  m_size = 0;
  m_writer = std::make_unique<HashingWriter>(m_file.get(), m_path, *m_hash);
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
    return std::unexpected(io_error("rename the download onto", target.string(), errno));
  }
  if (::close(m_file.release()) != 0) {
    return std::unexpected(io_error("write", target.string(), errno));
  }
  return {};
}

void PartFile::close()
{
  (void)drain();
  m_file = UniqueFd();
}

void PartFile::remove()
{
  (void)drain();
  ::unlink(m_path.c_str());
  m_file = UniqueFd();
}

Expected<void> PartFile::check_and_lock()
{
  struct stat st = {};
  if (::fstat(m_file.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) {
    m_file = UniqueFd();
    return fail(Errc::io,
                fmt::format("{} is not a plain file of this user's; remove it and run again",
                            m_path.string()));
  }
  if (::flock(m_file.get(), LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    m_file = UniqueFd();
    if (error == EWOULDBLOCK) {
      return fail(Errc::io,
                  fmt::format("{} is being downloaded by another agentdl; wait for it to finish",
                              m_path.string()));
    }
    return std::unexpected(io_error("lock", m_path.string(), error));
  }
  // O_NONBLOCK only kept open() from hanging on a FIFO.
  ::fcntl(m_file.get(), F_SETFL, ::fcntl(m_file.get(), F_GETFL) & ~O_NONBLOCK);
  return {};
}

// Hashes the open .part from its start and leaves its offset at the end.
Expected<std::uint64_t> PartFile::hash_to_end()
{
  const auto total = AGENTDL_TRY(hash_fd(m_file.get(), m_path, *m_hash));
  if (::lseek(m_file.get(), static_cast<off_t>(total), SEEK_SET) < 0) {
    return std::unexpected(io_error("seek in", m_path.string(), errno));
  }
  return total;
}

bool holds(const fs::path& path, std::string_view sha256, std::optional<std::uint64_t> size)
{
  if (sha256.empty()) {
    return false;
  }
  const UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  struct stat st = {};
  if (!file || ::fstat(file.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      (size && static_cast<std::uint64_t>(st.st_size) != *size)) {
    return false;
  }
  Sha256 hash;
  return hash_fd(file.get(), path, hash) && to_hex(hash.finish()) == sha256;
}

} // namespace agentdl::fetch
