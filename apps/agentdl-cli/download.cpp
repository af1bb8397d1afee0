#include "download.hpp"

#include "interrupt.hpp"
#include "progress.hpp"

#include <agentdl/crypto.hpp>
#include <agentdl/token.hpp>

#include <fmt/format.h>

#include <array>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace agentdl::cli {

namespace fs = std::filesystem;

namespace {

Error io_error(std::string_view what, const fs::path& path, int error)
{
  return Error(Errc::internal, fmt::format("cannot {} {}: {}", what, path.string(), std::strerror(error)));
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

// Adds the content of the file at `path` to `hash`; returns its size.
Expected<std::uint64_t> hash_file(const fs::path& path, Sha256& hash)
{
  File file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file) {
    return std::unexpected(io_error("read", path, errno));
  }
  std::vector<unsigned char> buffer(1 << 20);
  std::uint64_t total = 0;
  for (;;) {
    const auto n = ::read(file.fd(), buffer.data(), buffer.size());
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
  std::error_code ec;
  if (wanted.sha256.empty() || !fs::is_regular_file(path, ec)) {
    return false;
  }
  const auto size = fs::file_size(path, ec);
  if (ec || (wanted.size && size != *wanted.size)) {
    return false;
  }
  Sha256 hash;
  const auto read = hash_file(path, hash);
  return read && to_hex(hash.finish()) == wanted.sha256;
}

// Returns the first byte of a `Content-Range: bytes FIRST-LAST/TOTAL`.
std::optional<std::uint64_t> range_start(std::optional<std::string_view> header)
{
  if (!header || !header->starts_with("bytes ")) {
    return std::nullopt;
  }
  const auto text = header->substr(6);
  std::uint64_t first = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), first);
  if (ec != std::errc() || end == text.data() + text.size() || *end != '-') {
    return std::nullopt;
  }
  return first;
}

// Returns the Content-Length of `head`, if it has a valid one.
std::optional<std::uint64_t> content_length(const HttpResponse& head)
{
  const auto text = head.header("Content-Length");
  std::uint64_t n = 0;
  if (!text || text->empty() ||
      std::from_chars(text->data(), text->data() + text->size(), n).ptr != text->data() + text->size()) {
    return std::nullopt;
  }
  return n;
}

// Hashes and writes a download on a thread of its own, in blocks of 1 MiB,
// so that hashing overlaps receiving when there is a second core.
class BlockWriter
{
public:
  BlockWriter(int fd, const fs::path& path, Sha256& hash, std::uint64_t offset)
    : m_fd(fd)
    , m_path(path)
    , m_hash(hash)
    , m_offset(offset)
  {
    for (auto& block : m_blocks) {
      block.reserve(k_block_size);
      m_free.push_back(&block);
    }
    m_thread = std::thread([this] { run(); });
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
      m_current->insert(m_current->end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
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
      m_offset += static_cast<std::uint64_t>(n);
    }
    return std::nullopt;
  }

  const int m_fd;
  const fs::path& m_path;
  Sha256& m_hash;        // used by the thread only, until finish()
  std::uint64_t m_offset; // used by the thread only
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

// The .part file being written, and the hash of everything in it.
class PartFile
{
public:
  explicit PartFile(fs::path path)
    : m_path(std::move(path))
  {
  }

  const fs::path& path() const { return m_path; }
  std::uint64_t size() const { return m_size; }

  // Returns the size of the .part on disk (0 if there is none).
  std::uint64_t size_on_disk() const
  {
    struct stat st = {};
    return ::stat(m_path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  }

  // Opens the .part to continue it at its end (hashing what it holds) or, if
  // `restart`, to write it anew.
  Expected<void> open(bool restart)
  {
    // Not through a symbolic link, nor into anything but a plain file: the
    // .part may sit in a folder that others can write to.
    m_file = File(::open(m_path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644));
    if (!m_file) {
      return std::unexpected(io_error("create", m_path, errno));
    }
    struct stat st = {};
    if (::fstat(m_file.fd(), &st) != 0 || !S_ISREG(st.st_mode)) {
      m_file = File();
      return std::unexpected(Error(Errc::internal, fmt::format("{} is not a regular file", m_path.string())));
    }
    m_hash.emplace();
    m_size = 0;
    if (restart) {
      if (::ftruncate(m_file.fd(), 0) != 0) {
        return std::unexpected(io_error("truncate", m_path, errno));
      }
    } else {
      m_size = AGENTDL_TRY(hash_file(m_path, *m_hash));
      if (::lseek(m_file.fd(), static_cast<off_t>(m_size), SEEK_SET) < 0) {
        return std::unexpected(io_error("seek in", m_path, errno));
      }
    }
    m_writer.emplace(m_file.fd(), m_path, *m_hash, m_size);
    return {};
  }

  bool is_open() const { return static_cast<bool>(m_file); }

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
  // next run replaces it.
  Expected<void> commit(const fs::path& target)
  {
    AGENTDL_TRY(drain());
    if (::close(m_file.release()) != 0) {
      return std::unexpected(io_error("write", m_path, errno));
    }
    if (::rename(m_path.c_str(), target.c_str()) != 0) {
      return std::unexpected(io_error("rename the download onto", target, errno));
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
    close();
    ::unlink(m_path.c_str());
  }

private:
  fs::path m_path;
  File m_file;
  std::optional<Sha256> m_hash;
  std::optional<BlockWriter> m_writer;
  std::uint64_t m_size = 0;
};

Error mismatch(std::string_view what, const Wanted& wanted, const std::string& expected, const std::string& got)
{
  return Error(Errc::integrity,
               fmt::format("{} mismatch for {}: expected {}, got {}", what, wanted.filename, expected, got));
}

Error size_mismatch(const Wanted& wanted, const std::string& got)
{
  return mismatch("size", wanted, fmt::format("{} bytes", *wanted.size), got);
}

// Returns the Error for an artifact URL's answer that is not the file.
Error fetch_error(const HttpResponse& response)
{
  Errc code = Errc::network;
  if (response.status == 404 || response.status == 410) {
    code = Errc::not_found;
  } else if (response.status == 401) {
    code = Errc::unauthorized;
  } else if (response.status == 403) {
    code = Errc::forbidden;
  }
  const auto reason = reason_phrase(response.status);
  return Error(code,
               reason.empty()
                 ? fmt::format("{} answered HTTP {}", response.url, response.status)
                 : fmt::format("{} answered HTTP {} ({})", response.url, response.status, reason));
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
  const auto& name = wanted.filename;
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos || name.ends_with(".part")) {
    return fail(Errc::network,
                fmt::format("the artifact's URL {} does not end in a usable file name; give one with -o FILE",
                            wanted.url));
  }
  return options.directory ? fs::path(*options.directory) / name : fs::path(name);
}

Expected<Saved> download(HttpClient& client,
                         const Wanted& wanted,
                         const fs::path& target,
                         const SaveOptions& options)
{
  if (!options.force && already_there(target, wanted)) {
    return Saved{ target, false };
  }
  PartFile part(fs::path(target.string() + ".part"));
  ProgressBar bar(options.progress);
  bool restart = options.force; // the next transfer ignores what the .part holds

  // Checks the complete .part and renames it onto the target.
  const auto finish = [&]() -> Expected<Saved> {
    if (wanted.size && part.size() != *wanted.size) {
      const auto got = part.size();
      part.remove();
      return std::unexpected(size_mismatch(wanted, fmt::format("{}", got)));
    }
    const auto digest = AGENTDL_TRY(part.finish_hash());
    if (!wanted.sha256.empty() && digest != wanted.sha256) {
      part.remove();
      return std::unexpected(mismatch("sha256", wanted, wanted.sha256, digest));
    }
    AGENTDL_TRY(part.commit(target));
    return Saved{ target, true };
  };

  for (int attempt = 0;; ++attempt) {
    std::uint64_t offset = restart ? 0 : part.size_on_disk();
    restart = false;
    if (wanted.size && offset > *wanted.size) {
      offset = 0;
    } else if (wanted.size && offset > 0 && offset == *wanted.size) {
      // An earlier run stopped after the last byte: check what it got.
      AGENTDL_TRY(part.open(false));
      return finish();
    }

    std::optional<Error> stopped; // why the sink stopped the transfer
    const BodySink sink = [&](const HttpResponse& head, std::span<const char> data) -> bool {
      if (!part.is_open()) {
        // The first bytes of the file: only now is the .part written. A 206
        // continues it; a 200 is the whole file, whatever the .part held.
        const bool append = head.status == 206;
        if (append && range_start(head.header("Content-Range")) != offset) {
          stopped = Error(Errc::network,
                          fmt::format("{} answered a range that does not start at byte {}", head.url, offset));
          return false;
        }
        if (const auto length = content_length(head); !append && wanted.size && length &&
                                                      *length != *wanted.size) {
          // Not worth fetching: it cannot be the artifact.
          stopped = size_mismatch(wanted, fmt::format("{}", *length));
          return false;
        }
        if (const auto opened = part.open(!append); !opened) {
          stopped = opened.error();
          return false;
        }
        bar.start(part.size(), wanted.size);
      }
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
    const ProgressSink progress = [&](std::uint64_t received, std::uint64_t total) {
      bar.update(received, total);
      return interrupted() == 0;
    };

    const HttpRequest request{
      .url = wanted.url,
      .follow = Follow::yes,
      .bearer_token = std::nullopt,
      .range_from = offset > 0 ? std::optional(offset) : std::nullopt,
    };
    const auto response = client.perform(request, &sink, &progress);
    bar.clear();

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
    const bool last_try = attempt >= client.settings().retries;
    if (!response) {
      part.close();
      if (response.error().transient && !last_try && wait_before_retry(attempt + 1)) {
        continue;
      }
      return std::unexpected(response.error().error);
    }
    if (response->status == 416 && offset > 0) {
      // The .part is not a prefix the server can continue: start over.
      part.close();
      restart = true;
      continue;
    }
    if (response->status < 200 || response->status > 299) {
      part.close();
      if (transient_status(response->status) && !last_try && wait_before_retry(attempt + 1)) {
        continue;
      }
      return std::unexpected(fetch_error(*response));
    }
    if (!part.is_open()) {
      AGENTDL_TRY(part.open(true)); // an empty file: no body came
    }
    return finish();
  }
}

} // namespace agentdl::cli
