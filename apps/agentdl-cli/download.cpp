#include "download.hpp"

#include "interrupt.hpp"
#include "progress.hpp"

#include <agentdl/crypto.hpp>
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
#include <mutex>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace agentdl::cli {

namespace fs = std::filesystem;

namespace {

Error io_error(std::string_view what, const fs::path& path, int error)
{
  return Error(Errc::internal,
               fmt::format("cannot {} {}: {}", what, path.string(), std::strerror(error)));
}

// A file descriptor, closed when it goes.
class File
{
public:
  File() = default;
  explicit File(int fd)
    : m_fd(fd)
  {
  }
  File(File&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1))
  {
  }
  File& operator=(File&& other) noexcept
  {
    std::swap(m_fd, other.m_fd);
    return *this;
  }
  ~File()
  {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  int fd() const { return m_fd; }
  int release() { return std::exchange(m_fd, -1); }
  explicit operator bool() const { return m_fd >= 0; }

private:
  int m_fd = -1;
};

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

// Tells whether the file at `path` is `wanted` (size and sha256 known).
bool already_there(const fs::path& path, const Wanted& wanted)
{
  if (wanted.sha256.empty()) {
    return false;
  }
  const File file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  struct stat st = {};
  if (!file || ::fstat(file.fd(), &st) != 0 || !S_ISREG(st.st_mode) ||
      (wanted.size && static_cast<std::uint64_t>(st.st_size) != *wanted.size)) {
    return false;
  }
  Sha256 hash;
  return hash_fd(file.fd(), path, hash) && to_hex(hash.finish()) == wanted.sha256;
}

// Returns the first byte of a `Content-Range: bytes FIRST-LAST/TOTAL`.
std::optional<std::uint64_t> range_start(std::optional<std::string_view> header)
{
  if (!header || !header->starts_with("bytes ")) {
    return std::nullopt;
  }
  const auto text = header->substr(6);
  const auto dash = text.find('-');
  return dash == std::string_view::npos ? std::nullopt : parse_uint64(text.substr(0, dash));
}

// Hashes and writes a download on a thread of its own, in blocks of 1 MiB,
// so that hashing overlaps receiving when there is a second core.
class BlockWriter
{
public:
  BlockWriter(int fd, const fs::path& path, Sha256& hash)
    : m_fd(fd)
    , m_path(path)
    , m_hash(hash)
  {
    for (auto& block : m_blocks) {
      block.reserve(k_block_size);
      m_free.push_back(&block);
    }
    // The thread takes no signals: Ctrl-C is for the receiving thread to see.
    sigset_t all;
    sigset_t old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    m_thread = std::thread([this] { run(); });
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }

  ~BlockWriter() { (void)finish(); }

  BlockWriter(const BlockWriter&) = delete;
  BlockWriter& operator=(const BlockWriter&) = delete;

  // Copies `data` into the current block, handing full blocks to the thread.
  Expected<void> append(std::span<const char> data)
  {
    while (!data.empty()) {
      if (!m_current) {
        std::unique_lock lock(m_mutex);
        m_changed.wait(lock, [&] { return !m_free.empty(); });
        m_current = m_free.back();
        m_free.pop_back();
        m_current->clear();
      }
      const auto n = std::min(data.size(), k_block_size - m_current->size());
      m_current->insert(
        m_current->end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
      data = data.subspan(n);
      if (m_current->size() == k_block_size) {
        submit();
      }
    }
    std::lock_guard lock(m_mutex);
    if (m_error) {
      return std::unexpected(*m_error);
    }
    return {};
  }

  // Writes what is left and stops the thread; returns the first error.
  Expected<void> finish()
  {
    if (m_thread.joinable()) {
      if (m_current && !m_current->empty()) {
        submit();
      }
      {
        std::lock_guard lock(m_mutex);
        m_closing = true;
      }
      m_changed.notify_all();
      m_thread.join();
    }
    if (m_error) {
      return std::unexpected(*m_error);
    }
    return {};
  }

private:
  static constexpr std::size_t k_block_size = 1 << 20;

  void submit()
  {
    {
      std::lock_guard lock(m_mutex);
      m_full.push_back(m_current);
    }
    m_current = nullptr;
    m_changed.notify_all();
  }

  void run()
  {
    std::unique_lock lock(m_mutex);
    for (;;) {
      m_changed.wait(lock, [&] { return !m_full.empty() || m_closing; });
      if (m_full.empty()) {
        return;
      }
      auto* block = m_full.front();
      m_full.pop_front();
      const bool failed = m_error.has_value();
      lock.unlock();
      std::optional<Error> error;
      if (!failed) {
        error = write(*block);
      }
      lock.lock();
      if (error && !m_error) {
        m_error = std::move(error);
      }
      m_free.push_back(block);
      m_changed.notify_all();
    }
  }

  std::optional<Error> write(const std::vector<char>& block)
  {
    m_hash.update(std::string_view(block.data(), block.size()));
    std::span<const char> data(block);
    while (!data.empty()) {
      const auto n = ::write(m_fd, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        return io_error("write", m_path, errno);
      }
      data = data.subspan(static_cast<std::size_t>(n));
    }
    return std::nullopt;
  }

  const int m_fd;
  const fs::path& m_path;
  Sha256& m_hash; // used by the thread only, until finish()
  std::array<std::vector<char>, 4> m_blocks;
  std::vector<char>* m_current = nullptr; // being filled by append()

  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::vector<std::vector<char>*> m_free;
  std::deque<std::vector<char>*> m_full;
  std::optional<Error> m_error;
  bool m_closing = false;
  std::thread m_thread;
};

// The .part file being written, and the hash of everything in it. It is
// opened through no symbolic link, must be a plain file of ours, and is
// locked while open, so that two runs never write the same .part (the .part
// may sit in a folder others can write to, and cron may start a second run).
class PartFile
{
public:
  explicit PartFile(fs::path path)
    : m_path(std::move(path))
  {
  }

  std::uint64_t size() const { return m_size; }
  bool is_open() const { return static_cast<bool>(m_file); }
  bool is_writing() const { return m_writer.has_value(); }

  // Opens the .part an earlier run left, if any, and hashes what it holds
  // (size() then tells how much). Returns false if there is none.
  Expected<bool> open_existing()
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

  // Continues the .part at its end.
  void continue_writing() { m_writer.emplace(m_file.fd(), m_path, *m_hash); }

  // Empties the .part (making it if needed) and starts writing it anew.
  Expected<void> start_over()
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
    m_writer.emplace(m_file.fd(), m_path, *m_hash);
    return {};
  }

  // Appends `data`, hashing it.
  Expected<void> append(std::span<const char> data)
  {
    m_size += data.size();
    return m_writer->append(data);
  }

  // Writes out what append() holds; returns the first write error.
  Expected<void> drain()
  {
    auto result = m_writer ? m_writer->finish() : Expected<void>();
    m_writer.reset();
    return result;
  }

  // Returns the sha256 of the whole .part; the hash is then spent.
  Expected<std::string> finish_hash()
  {
    AGENTDL_TRY(drain());
    return to_hex(m_hash->finish());
  }

  // Closes the .part and renames it onto `target`. Like curl, wget and apt,
  // without an fsync: it would double the time of a download on some disks,
  // and a file that a crash cut short is not the verified artifact, so the
  // next run replaces it. The lock is held until after the rename.
  Expected<void> commit(const fs::path& target)
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

  // Closes the .part, keeping what it received (for the next attempt or run).
  void close()
  {
    (void)drain();
    m_file = File();
  }

  void remove()
  {
    (void)drain();
    ::unlink(m_path.c_str());
    m_file = File();
  }

private:
  Expected<void> check_and_lock()
  {
    struct stat st = {};
    if (::fstat(m_file.fd(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) {
      m_file = File();
      return fail(Errc::internal,
                  fmt::format("{} is not a plain file of this user's; remove it and run again",
                              m_path.string()));
    }
    if (::flock(m_file.fd(), LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      m_file = File();
      if (error == EWOULDBLOCK) {
        return fail(Errc::internal,
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
  Expected<std::uint64_t> hash_to_end()
  {
    const auto total = AGENTDL_TRY(hash_fd(m_file.fd(), m_path, *m_hash));
    if (::lseek(m_file.fd(), static_cast<off_t>(total), SEEK_SET) < 0) {
      return std::unexpected(io_error("seek in", m_path, errno));
    }
    return total;
  }

  fs::path m_path;
  File m_file;
  std::optional<Sha256> m_hash;
  std::optional<BlockWriter> m_writer;
  std::uint64_t m_size = 0;
};

Error mismatch(std::string_view what,
               const Wanted& wanted,
               const std::string& expected,
               const std::string& got)
{
  return Error(
    Errc::integrity,
    fmt::format("{} mismatch for {}: expected {}, got {}", what, wanted.filename, expected, got));
}

Error size_mismatch(const Wanted& wanted, const std::string& got)
{
  return mismatch("size", wanted, fmt::format("{} bytes", *wanted.size), got);
}

// Returns the Error for an artifact URL's answer that is not the file.
Error fetch_error(const HttpResponse& response)
{
  return Error(
    status_errc(response.status),
    fmt::format("{} answered {}", display_url(response.url), status_text(response.status)));
}

} // namespace

Expected<fs::path> target_path(const Wanted& wanted, const SaveOptions& options)
{
  if (options.output) {
    std::error_code ec;
    if (fs::is_directory(*options.output, ec)) {
      return fail(Errc::usage,
                  fmt::format("-o {} is a folder; give a file name, or save into it with -d {}",
                              *options.output,
                              *options.output));
    }
    return fs::path(*options.output);
  }
  // The name comes from the server: no folders, no hidden files (".profile"),
  // nothing a terminal or a shell script would trip over.
  const auto& name = wanted.filename;
  const bool unusable = name.empty() || name.starts_with('.') || name.ends_with(".part") ||
                        std::ranges::any_of(name, [](char c) {
                          const auto u = static_cast<unsigned char>(c);
                          return u < 0x20 || u == 0x7f || c == '/' || c == '\\';
                        });
  if (unusable) {
    return fail(
      Errc::network,
      fmt::format("the artifact's URL {} does not end in a usable file name; give one with -o FILE",
                  display_url(wanted.url)));
  }
  return options.directory ? fs::path(*options.directory) / name : fs::path(name);
}

Expected<void> download(HttpClient& client,
                        const Wanted& wanted,
                        const fs::path& target,
                        const SaveOptions& options)
{
  if (!options.force && already_there(target, wanted)) {
    return {};
  }
  PartFile part(fs::path(target.string() + ".part"));
  ProgressBar bar(options.progress);
  // Whether the .part may be continued: not with --force, nor when an
  // earlier run left it and there is no sha256 to check the result with;
  // always once this run has written it.
  bool keep_part = !options.force && !wanted.sha256.empty();
  bool started_over_after_mismatch = false;
  bool started_over_after_bad_range = false;
  int failures = 0; // transfers in a row that failed without receiving anything

  for (;;) {
    std::uint64_t offset = 0;
    if (keep_part && AGENTDL_TRY(part.open_existing())) {
      offset = part.size();
      if (wanted.size && offset > *wanted.size) {
        offset = 0; // longer than the artifact: not a prefix of it
      }
    }
    const bool complete = wanted.size && offset > 0 && offset == *wanted.size;

    std::optional<Error> stopped; // why the sink stopped the transfer
    bool bad_range = false;
    std::uint64_t received = 0;
    const BodySink sink = [&](const HttpResponse& head, std::span<const char> data) -> bool {
      if (!part.is_writing()) {
        // The first bytes of the file: only now is the .part written. A 206
        // continues it; a 200 is the whole file, whatever the .part held.
        if (head.status == 206) {
          if (offset == 0 || range_start(head.header("Content-Range")) != offset) {
            bad_range = true;
            return false;
          }
          part.continue_writing();
        } else {
          if (const auto length = head.header("Content-Length").and_then(parse_uint64);
              wanted.size && length && *length != *wanted.size) {
            // Not worth fetching: it cannot be the artifact.
            stopped = size_mismatch(wanted, fmt::format("{}", *length));
            return false;
          }
          if (const auto emptied = part.start_over(); !emptied) {
            stopped = emptied.error();
            return false;
          }
          keep_part = true;
        }
        bar.start(part.size(), wanted.size);
      }
      received += data.size();
      if (wanted.size && part.size() + data.size() > *wanted.size) {
        stopped = size_mismatch(wanted, fmt::format("{}", part.size() + data.size()));
        return false;
      }
      if (const auto written = part.append(data); !written) {
        stopped = written.error();
        return false;
      }
      return true;
    };
    const ProgressSink progress = [&](std::uint64_t now, std::uint64_t total) {
      bar.update(now, total);
      return interrupted() == 0;
    };

    std::optional<std::expected<HttpResponse, TransferFailure>> response;
    if (!complete) {
      // An earlier run that stopped after the last byte needs no transfer.
      const HttpRequest request{
        .url = wanted.url,
        .follow = Follow::yes,
        .bearer_token = wanted.bearer_token,
        .range_from = offset > 0 ? std::optional(offset) : std::nullopt,
        .secret_query = true,
      };
      response = client.perform(request, &sink, &progress);
      bar.clear();
    }
    if (const auto drained = part.drain(); !drained && !stopped) {
      stopped = drained.error();
    }

    if (interrupted() != 0) {
      part.close();
      return fail(Errc::internal, "interrupted");
    }
    if (stopped) {
      if (stopped->code == Errc::integrity) {
        part.remove();
      } else {
        part.close();
      }
      return std::unexpected(std::move(*stopped));
    }
    if (bad_range) {
      // A range that does not continue the .part: fetch it whole, once.
      part.close();
      if (started_over_after_bad_range) {
        return fail(Errc::network,
                    fmt::format("{} answered a range that does not start at byte {}",
                                display_url(wanted.url),
                                offset));
      }
      started_over_after_bad_range = true;
      keep_part = false;
      continue;
    }
    if (response) {
      failures = received > 0 ? 0 : failures;
      const bool may_retry = failures < client.settings().retries;
      if (!*response) {
        part.close();
        if ((*response).error().transient && may_retry && wait_before_retry(++failures)) {
          continue;
        }
        return std::unexpected((*response).error().error);
      }
      const auto& answer = **response;
      if (answer.status == 416 && offset > 0) {
        // The .part is not a prefix the server can continue: start over.
        part.close();
        keep_part = false;
        continue;
      }
      if (answer.status < 200 || answer.status > 299) {
        part.close();
        if (transient_status(answer.status) && may_retry && wait_before_retry(++failures)) {
          continue;
        }
        return std::unexpected(fetch_error(answer));
      }
      if (!part.is_open() || (answer.status != 206 && offset > 0 && received == 0)) {
        AGENTDL_TRY(part.start_over()); // an empty body: the file is empty
        AGENTDL_TRY(part.drain());
      }
    }

    // Check the .part and rename it onto the target.
    std::optional<Error> mismatch_error;
    if (wanted.size && part.size() != *wanted.size) {
      mismatch_error = size_mismatch(wanted, fmt::format("{}", part.size()));
    } else if (const auto digest = AGENTDL_TRY(part.finish_hash());
               !wanted.sha256.empty() && digest != wanted.sha256) {
      mismatch_error = mismatch("sha256", wanted, wanted.sha256, digest);
    }
    if (mismatch_error) {
      part.remove();
      if (offset > 0 && !started_over_after_mismatch) {
        // The .part an earlier run left may hold another file's beginning
        // (an older artifact under the same name): fetch it whole, once.
        started_over_after_mismatch = true;
        keep_part = false;
        continue;
      }
      return std::unexpected(std::move(*mismatch_error));
    }
    AGENTDL_TRY(part.commit(target));
    return {};
  }
}

} // namespace agentdl::cli
