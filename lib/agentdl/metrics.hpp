// Counters of agentdl-serve, rendered in the Prometheus text format. Updated
// from every connection's thread, so every count is atomic.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace agentdl {

class Metrics
{
public:
  // Counts one answered request of `route` ("download_latest", ... or
  // "unknown") with `status`, which took `elapsed`.
  void count_request(std::string_view route, int status, std::chrono::nanoseconds elapsed);

  // Counts a mirror file sent whole (the body of a 200 or 206 to a GET).
  void count_file_served() { m_files_served.fetch_add(1, std::memory_order_relaxed); }

  // Counts `bytes` of mirror files sent, whether or not their response ended well.
  void count_file_bytes(std::uint64_t bytes)
  {
    m_file_bytes.fetch_add(bytes, std::memory_order_relaxed);
  }

  // Counts one catalog reload, successful or not.
  void count_reload(bool ok);

  // Counts one poll of --catalog-url's store: `ok` when it answered (a
  // catalog or 304), at `now`. Until the first, no poll metric is shown.
  void count_catalog_poll(bool ok, std::chrono::system_clock::time_point now);

  // Counts an access log line dropped because the log writer fell behind.
  void count_log_dropped() { m_log_dropped.fetch_add(1, std::memory_order_relaxed); }

  // Sets the number of releases in the catalog being served.
  void set_releases(std::size_t count) { m_releases.store(count, std::memory_order_relaxed); }

  // Counts a connection opened (+1) or closed (-1).
  void add_connections(std::int64_t delta)
  {
    m_connections.fetch_add(delta, std::memory_order_relaxed);
  }

  // Returns the number of open connections.
  std::int64_t connections() const { return m_connections.load(std::memory_order_relaxed); }

  // Returns all metrics in the Prometheus text exposition format 0.0.4.
  std::string render() const;

  static constexpr std::array<std::string_view, 10> k_routes{
    "download_latest", "download_version", "latest", "version", "releases",
    "healthz",         "metrics",          "files",  "page",    "unknown"
  };
  static constexpr std::array<int, 13> k_statuses{ 200, 206, 302, 304, 400, 401, 403,
                                                   404, 405, 416, 431, 500, 503 };
  // Upper bounds of the latency histogram, in seconds.
  static constexpr std::array<double, 12> k_buckets{ 0.00005, 0.0001, 0.00025, 0.0005,
                                                     0.001,   0.0025, 0.005,   0.01,
                                                     0.025,   0.1,    0.5,     1.0 };

private:
  // Per route: one counter per known status, and one for any other status.
  std::array<std::array<std::atomic<std::uint64_t>, k_statuses.size() + 1>, k_routes.size()>
    m_requests{};
  std::array<std::atomic<std::uint64_t>, k_buckets.size() + 1> m_latency{}; // the last is +Inf
  std::atomic<std::uint64_t> m_latency_sum_ns{ 0 };
  std::atomic<std::uint64_t> m_reloads_ok{ 0 };
  std::atomic<std::uint64_t> m_reloads_failed{ 0 };
  std::atomic<std::uint64_t> m_polls_ok{ 0 };
  std::atomic<std::uint64_t> m_polls_failed{ 0 };
  std::atomic<std::int64_t> m_last_poll_ok{ 0 }; // Unix seconds
  std::atomic<bool> m_polling{ false };
  std::atomic<std::uint64_t> m_log_dropped{ 0 };
  std::atomic<std::uint64_t> m_files_served{ 0 };
  std::atomic<std::uint64_t> m_file_bytes{ 0 };
  std::atomic<std::size_t> m_releases{ 0 };
  std::atomic<std::int64_t> m_connections{ 0 };
};

} // namespace agentdl
