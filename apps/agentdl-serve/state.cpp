#include "state.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

namespace agentdl::serve {

std::expected<std::shared_ptr<const Served>, std::string> Served::open(Catalog catalog)
{
  UniqueFd root;
  if (const auto& mirror = catalog.mirror; !mirror.root.empty()) {
    // O_PATH: a handle to resolve beneath, which needs no read permission.
    root = UniqueFd(::open(mirror.root_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (root.get() < 0) {
      const auto shown = mirror.root_path == mirror.root
                           ? fmt::format("\"{}\"", mirror.root)
                           : fmt::format("\"{}\" ({})", mirror.root, mirror.root_path.string());
      return std::unexpected(fmt::format("{}:{}:{}: cannot open mirror root {}: {}",
                                         catalog.source,
                                         mirror.pos.line,
                                         mirror.pos.column,
                                         shown,
                                         std::strerror(errno)));
    }
  }
  return std::shared_ptr<const Served>(new Served(std::move(catalog), std::move(root)));
}

std::expected<std::shared_ptr<LogFile>, std::string> LogFile::open(const std::string& setting)
{
  if (setting == "off") {
    return std::shared_ptr<LogFile>(new LogFile(-1, false));
  }
  if (setting == "-") {
    return std::shared_ptr<LogFile>(new LogFile(STDOUT_FILENO, false));
  }
  const int fd = ::open(setting.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    return std::unexpected(
      fmt::format("cannot open access_log \"{}\": {}", setting, std::strerror(errno)));
  }
  return std::shared_ptr<LogFile>(new LogFile(fd, true));
}

LogFile::~LogFile()
{
  if (m_owned) {
    ::close(m_fd);
  }
}

State::State(CatalogLoader loader,
             std::shared_ptr<const Served> served,
             std::shared_ptr<LogFile> access_log,
             LoadOptions load_options)
  : m_loader(std::move(loader))
  , m_load_options(std::move(load_options))
  , m_served(std::move(served))
  , m_start_settings(m_served->catalog().server)
  , m_log_file(std::move(access_log))
{
  apply(m_start_settings);
  m_logging.store(m_log_file->fd() >= 0, std::memory_order_relaxed);
  m_metrics.set_releases(m_served->catalog().releases.size());
  malloc_trim(0); // as after a reload
  m_log_writer = std::thread([this] { write_log_lines(); });
}

State::~State()
{
  {
    std::lock_guard lock(m_log_mutex);
    m_log_stop = true;
  }
  m_log_ready.notify_one();
  m_log_writer.join(); // writes what is queued first
}

void State::apply(const ServerSettings& settings)
{
  m_header_timeout.store(settings.header_timeout.count(), std::memory_order_relaxed);
  m_idle_timeout.store(settings.idle_timeout.count(), std::memory_order_relaxed);
  m_drain_timeout.store(settings.drain_timeout.count(), std::memory_order_relaxed);
  m_max_connections.store(settings.max_connections, std::memory_order_relaxed);
  m_metrics_enabled.store(settings.metrics, std::memory_order_relaxed);
}

std::expected<void, std::string> State::set_bound_address(std::string address)
{
  {
    std::lock_guard lock(m_reload_mutex);
    m_load_options.bound_address = std::move(address);
  }
  const auto current = served(); // held: a reload may swap it
  const auto& catalog = current->catalog();
  // Only a mirror's links to /files/ can change, and only when the address
  // bound is not the one written (port 0, a host name).
  if (catalog.mirror.root.empty() ||
      catalog.server.listen.front() == m_load_options.bound_address) {
    return {};
  }
  auto reloaded = reload();
  if (!reloaded) {
    return std::unexpected(reloaded.error());
  }
  return {};
}

std::expected<ReloadReport, std::string> State::reload(const CatalogLoader& load)
{
  std::lock_guard lock(m_reload_mutex);
  auto loaded = load(m_load_options);
  if (!loaded) {
    m_metrics.count_reload(false);
    return std::unexpected(loaded.error().message);
  }
  // Opened before anything is swapped: a log or a mirror root that cannot
  // be opened rejects the reload whole rather than apply half of it.
  auto log_file = LogFile::open(loaded->server.access_log);
  if (!log_file) {
    m_metrics.count_reload(false);
    return std::unexpected(log_file.error());
  }
  auto next = Served::open(std::move(*loaded));
  if (!next) {
    m_metrics.count_reload(false);
    return std::unexpected(next.error());
  }

  const auto current = served();
  const auto& before = current->catalog().server;
  const auto& after = (*next)->catalog().server;
  ReloadReport report;
  report.releases = (*next)->catalog().releases.size();
  const auto changed = [&](bool differs, std::string_view key) {
    if (differs) {
      report.applied.emplace_back(key);
    }
  };
  changed(before.api_prefix != after.api_prefix, "api_prefix");
  // public_url matters only to a mirror's links (and follows the address bound).
  changed(!(*next)->catalog().mirror.root.empty() && before.public_url != after.public_url,
          "public_url");
  changed(before.header_timeout != after.header_timeout, "header_timeout");
  changed(before.idle_timeout != after.idle_timeout, "idle_timeout");
  changed(before.drain_timeout != after.drain_timeout, "drain_timeout");
  changed(before.catalog_poll != after.catalog_poll, "catalog_poll");
  changed(before.max_connections != after.max_connections, "max_connections");
  changed(before.access_log != after.access_log, "access_log");
  changed(before.metrics != after.metrics, "metrics");
  if (!m_load_options.listen && after.listen != m_start_settings.listen) {
    report.need_restart.emplace_back("listen");
  }
  if (after.threads != m_start_settings.threads) {
    report.need_restart.emplace_back("threads");
  }
  if (after.defer_accept != m_start_settings.defer_accept) {
    report.need_restart.emplace_back("defer_accept");
  }

  apply(after);
  {
    std::lock_guard log_lock(m_log_mutex);
    m_log_file = std::move(*log_file); // the old file closes once its last batch is written
    m_logging.store(m_log_file->fd() >= 0, std::memory_order_relaxed);
  }
  m_metrics.count_reload(true);
  m_metrics.set_releases(report.releases);
  {
    std::lock_guard served_lock(m_served_mutex);
    m_served.swap(*next);
  }
  next->reset(); // the previous catalog, outside the lock (workers may still hold it)
  m_served_generation.fetch_add(1, std::memory_order_release);
  // Loading a catalog builds a TOML tree several times the catalog's size;
  // give those pages back rather than keep them for the daemon's life.
  malloc_trim(0);
  return report;
}

void State::log_access(const AccessEntry& entry)
{
  if (!logging()) {
    return;
  }
  // Formatted before the lock is taken, into this thread's own buffer.
  thread_local std::string line;
  line.clear();
  append_access_log_line(line, entry);
  bool wake = false;
  {
    std::lock_guard lock(m_log_mutex);
    if (m_log_lines >= k_log_queue_limit) {
      m_metrics.count_log_dropped();
      return;
    }
    if (m_log_queue.empty() || m_log_queue.back().file != m_log_file) {
      m_log_queue.push_back({ m_log_file, {} });
      // One allocation per batch, not a doubling every few lines.
      m_log_queue.back().text.reserve(k_log_batch_bytes + 4096);
    }
    m_log_queue.back().text += line;
    // The first line starts the writer's wait; a full batch ends it early.
    wake = ++m_log_lines == 1 ||
           (m_log_bytes < k_log_batch_bytes && m_log_bytes + line.size() >= k_log_batch_bytes);
    m_log_bytes += line.size();
  }
  if (wake) {
    m_log_ready.notify_one();
  }
}

void State::write_log_lines()
{
  std::vector<LogBatch> batches;
  while (true) {
    {
      std::unique_lock lock(m_log_mutex);
      m_log_ready.wait(lock, [this] { return m_log_stop || m_log_lines > 0; });
      if (m_log_lines == 0) {
        return; // stopping, and everything is written
      }
      // Gather more lines for one write, unless stopping.
      m_log_ready.wait_for(lock, k_log_flush_interval, [this] {
        return m_log_stop || m_log_bytes >= k_log_batch_bytes;
      });
      batches.swap(m_log_queue);
      m_log_lines = 0;
      m_log_bytes = 0;
    }
    // Each batch's file stays open until its lines are written, whatever a
    // reload does; whole lines, one write(2) per batch where the file takes it.
    for (const auto& batch : batches) {
      std::size_t written = 0;
      const auto& out = batch.text;
      while (batch.file->fd() >= 0 && written < out.size()) {
        const auto n = ::write(batch.file->fd(), out.data() + written, out.size() - written);
        if (n < 0 && errno == EINTR) {
          continue;
        }
        if (n <= 0) {
          break; // a full disk or a closed pipe must not take the server down
        }
        written += static_cast<std::size_t>(n);
      }
    }
    batches.clear();
  }
}

} // namespace agentdl::serve
