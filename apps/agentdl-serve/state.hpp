// What every connection of agentdl-serve shares: the catalog snapshot, the
// settings taken at start, metrics, the access log and the draining flag.
// Free of Asio and Beast, so it stays cheap to include.
#pragma once

#include <agentdl/access_log.hpp>
#include <agentdl/catalog.hpp>
#include <agentdl/metrics.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

namespace agentdl::serve {

class State
{
public:
  State(std::string config_path, std::shared_ptr<const Catalog> catalog, int access_log_fd);

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

  // Writes one access log line (a no-op when the log is off).
  void log_access(const AccessEntry& entry) const;

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
  int m_access_log_fd; // -1: off
  Metrics m_metrics;
  std::atomic<bool> m_draining{ false };
};

} // namespace agentdl::serve
