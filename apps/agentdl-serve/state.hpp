// What every connection of agentdl-serve shares: the catalog snapshot, the
// settings taken at start, metrics, the access log and the draining flag.
// Free of Asio and Beast, so it stays cheap to include.
#pragma once

#include <agentdl/access_log.hpp>
#include <agentdl/catalog.hpp>
#include <agentdl/metrics.hpp>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace agentdl::serve {

class State
{
public:
  State(std::string config_path, std::shared_ptr<const Catalog> catalog, int access_log_fd);
  ~State();
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  // Returns the catalog to answer one request with; a reload never changes it
  // under the request.
  std::shared_ptr<const Catalog> catalog() const
  {
    return m_catalog.load(std::memory_order_acquire);
  }

  // Loads the catalog file again and swaps it in; on failure keeps the old one.
  // Returns the error message, or an empty string on success.
  std::string reload();

  // Tells whether requests are logged ([server] access_log is not "off").
  bool logging() const { return m_access_log_fd >= 0; }

  // Queues one access log line for the log writer thread (a no-op when the
  // log is off). A reader that stalls never blocks a connection: past
  // k_log_queue_limit waiting lines, lines are dropped and counted.
  void log_access(const AccessEntry& entry);

  // Tells whether the server is draining (SIGTERM): answer with Connection: close.
  bool draining() const { return m_draining.load(std::memory_order_relaxed); }
  void start_draining() { m_draining.store(true, std::memory_order_relaxed); }

  Metrics& metrics() { return m_metrics; }

  // Settings read once at start: [server] changes need a restart.
  const ServerSettings& settings() const { return m_settings; }

private:
  std::string m_config_path;
  std::atomic<std::shared_ptr<const Catalog>> m_catalog;
  std::mutex m_reload_mutex;
  ServerSettings m_settings;
  void write_log_lines();

  int m_access_log_fd; // -1: off
  Metrics m_metrics;
  static constexpr std::size_t k_log_queue_limit = 65536;
  std::mutex m_log_mutex;
  std::condition_variable m_log_ready;
  std::vector<std::string> m_log_queue;
  bool m_log_stop = false;
  std::thread m_log_writer;
  std::atomic<bool> m_draining{ false };
};

} // namespace agentdl::serve
