// What every connection of agentdl-serve shares: the catalog snapshot (with
// the mirror's root folder), the [server] settings that a reload may change,
// metrics, the access log and the draining flag. Free of Asio and Beast, so
// it stays cheap to include.
#pragma once

#include <agentdl/access_log.hpp>
#include <agentdl/catalog.hpp>
#include <agentdl/metrics.hpp>
#include <agentdl/snapshot.hpp>
#include <agentdl/unique_fd.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace agentdl::serve {

// The access log's file: stdout, a file agentdl-serve opened, or none ("off").
class LogFile
{
public:
  // Opens the file `setting` names: "-" is stdout, "off" none, else a path
  // opened for appending (created 0640). The error names the path and why.
  static std::expected<std::shared_ptr<LogFile>, std::string> open(const std::string& setting);

  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;
  ~LogFile();

  // Returns the descriptor to write to, -1 for "off".
  int fd() const { return m_fd; }

private:
  LogFile(int fd, bool owned)
    : m_fd(fd)
    , m_owned(owned)
  {
  }

  int m_fd;
  bool m_owned;
};

// A catalog as agentdl-serve serves it: its snapshot and, with [mirror],
// the root folder, opened with the catalog so that a reload can move it and
// a request keeps the folder of the catalog it started with.
class Served
{
public:
  // Opens the [mirror] root of `catalog`, if it has one, and makes the
  // snapshot. Fails with "FILE:LINE:COLUMN: cannot open mirror root ..." when
  // root is not a folder agentdl-serve can open.
  static std::expected<std::shared_ptr<const Served>, std::string> open(Catalog catalog);

  Served(const Served&) = delete;
  Served& operator=(const Served&) = delete;

  const Snapshot& snapshot() const { return m_snapshot; }
  const Catalog& catalog() const { return m_snapshot.catalog(); }

  // Returns the descriptor of the mirror's root folder (O_PATH), -1 without [mirror].
  int root() const { return m_root.get(); }

private:
  Served(Catalog catalog, UniqueFd root)
    : m_snapshot(std::move(catalog))
    , m_root(std::move(root))
  {
  }

  Snapshot m_snapshot;
  UniqueFd m_root;
};

// What a reload changed.
struct ReloadReport
{
  std::size_t releases = 0;
  std::vector<std::string> applied;      // [server] keys that changed and apply now
  std::vector<std::string> need_restart; // keys that changed but apply only after a restart
};

// Loads the catalog again, with the options it was first loaded with: from
// its file, or for --catalog-url from the text last fetched.
using CatalogLoader = std::function<Expected<Catalog>(const LoadOptions& options)>;

class State
{
public:
  // `load_options` are those the catalog was loaded with (--listen), used
  // again by every reload; `loader` is what a reload (SIGHUP) loads.
  State(CatalogLoader loader,
        std::shared_ptr<const Served> served,
        std::shared_ptr<LogFile> access_log,
        LoadOptions load_options);
  ~State();
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  // Returns the catalog to answer one request with; a reload never changes
  // it under the request.
  std::shared_ptr<const Served> served() const
  {
    std::lock_guard lock(m_served_mutex);
    return m_served;
  }

  // Returns a number that changes whenever served() does: a worker keeps
  // its own copy of served() and loads it again only when this moved, so
  // that requests do not all take the same shared pointer's lock.
  std::uint64_t served_generation() const
  {
    return m_served_generation.load(std::memory_order_acquire);
  }

  // Tells the first address bound ("127.0.0.1:38211", port 0 made real):
  // public_url's default from now on. Loads the catalog again when links to
  // /files/ would change; on failure keeps the current one and says why.
  std::expected<void, std::string> set_bound_address(std::string address);

  // Loads the catalog again and swaps it in with the [server] settings
  // that can change without a restart (timeouts, max_connections,
  // access_log, metrics; api_prefix, public_url and [mirror] root come with
  // the catalog). A root that cannot be opened rejects the reload.
  // The access log file is reopened, so that a rotated log gets a new file.
  // On failure nothing changes and the error says why.
  std::expected<ReloadReport, std::string> reload() { return reload(m_loader); }

  // Swaps in what `load` loads, as reload() does: a catalog fetched anew.
  std::expected<ReloadReport, std::string> reload(const CatalogLoader& load);

  // Tells whether requests are logged ([server] access_log is not "off").
  bool logging() const { return m_logging.load(std::memory_order_relaxed); }

  // Queues one access log line for the log writer thread (a no-op when the
  // log is off). A reader that stalls never blocks a connection: past
  // k_log_queue_limit waiting lines, lines are dropped and counted.
  void log_access(const AccessEntry& entry);

  // Tells whether the server is draining (SIGTERM): answer with Connection: close.
  bool draining() const { return m_draining.load(std::memory_order_relaxed); }
  void start_draining() { m_draining.store(true, std::memory_order_relaxed); }

  Metrics& metrics() { return m_metrics; }

  // The settings in force, read by every connection (a reload may change them).
  std::chrono::seconds header_timeout() const { return seconds(m_header_timeout); }
  std::chrono::seconds idle_timeout() const { return seconds(m_idle_timeout); }
  std::chrono::seconds drain_timeout() const { return seconds(m_drain_timeout); }
  std::size_t max_connections() const { return m_max_connections.load(std::memory_order_relaxed); }
  bool metrics_enabled() const { return m_metrics_enabled.load(std::memory_order_relaxed); }

  // The settings the server started with; `threads` and `listen` keep them
  // until a restart.
  const ServerSettings& start_settings() const { return m_start_settings; }

private:
  using Rep = std::chrono::seconds::rep;
  static std::chrono::seconds seconds(const std::atomic<Rep>& value)
  {
    return std::chrono::seconds(value.load(std::memory_order_relaxed));
  }
  void apply(const ServerSettings& settings);
  void write_log_lines();

  CatalogLoader m_loader;
  LoadOptions m_load_options;
  // A mutex, not std::atomic<std::shared_ptr>: workers take it only when
  // the generation moved, and libstdc++ 12's atomic<shared_ptr> locks with
  // a pointer bit that ThreadSanitizer cannot see, so it reports a race on
  // every concurrent load and store.
  mutable std::mutex m_served_mutex;
  std::shared_ptr<const Served> m_served; // guarded by m_served_mutex
  std::atomic<std::uint64_t> m_served_generation{ 0 };
  std::mutex m_reload_mutex;
  const ServerSettings m_start_settings;

  std::atomic<Rep> m_header_timeout{ 0 };
  std::atomic<Rep> m_idle_timeout{ 0 };
  std::atomic<Rep> m_drain_timeout{ 0 };
  std::atomic<std::size_t> m_max_connections{ 0 };
  std::atomic<bool> m_metrics_enabled{ true };
  std::atomic<bool> m_logging{ false };

  Metrics m_metrics;
  // Queued lines are written in batches: when k_log_batch_bytes are
  // waiting, else k_log_flush_interval after the first line of a batch. The
  // writer is woken twice per batch at most, not once per request (on a
  // busy core each wake-up is a context switch).
  static constexpr std::size_t k_log_queue_limit = 65536;
  static constexpr std::size_t k_log_batch_bytes = 64 * 1024;
  static constexpr std::chrono::milliseconds k_log_flush_interval{ 50 };
  // Lines for one file: a reload's new file gets the lines queued after it.
  struct LogBatch
  {
    std::shared_ptr<LogFile> file;
    std::string text;
  };
  std::mutex m_log_mutex;
  std::condition_variable m_log_ready;
  std::shared_ptr<LogFile> m_log_file; // guarded by m_log_mutex
  std::vector<LogBatch> m_log_queue;   // guarded by m_log_mutex
  std::size_t m_log_lines = 0;         // in m_log_queue
  std::size_t m_log_bytes = 0;         // in m_log_queue
  bool m_log_stop = false;
  std::thread m_log_writer;
  std::atomic<bool> m_draining{ false };
};

} // namespace agentdl::serve
