#include <agentdl/metrics.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace agentdl {

void Metrics::count_request(std::string_view route, int status, std::chrono::nanoseconds elapsed)
{
  const auto r =
    static_cast<std::size_t>(std::find(k_routes.begin(), k_routes.end(), route) - k_routes.begin());
  const auto s = static_cast<std::size_t>(std::find(k_statuses.begin(), k_statuses.end(), status) -
                                          k_statuses.begin());
  m_requests[std::min(r, k_routes.size() - 1)][s].fetch_add(1, std::memory_order_relaxed);

  const double seconds = std::chrono::duration<double>(elapsed).count();
  const auto b = static_cast<std::size_t>(
    std::lower_bound(k_buckets.begin(), k_buckets.end(), seconds) - k_buckets.begin());
  m_latency[b].fetch_add(1, std::memory_order_relaxed);
  m_latency_sum_ns.fetch_add(static_cast<std::uint64_t>(elapsed.count()),
                             std::memory_order_relaxed);
}

void Metrics::count_reload(bool ok)
{
  (ok ? m_reloads_ok : m_reloads_failed).fetch_add(1, std::memory_order_relaxed);
}

void Metrics::count_catalog_poll(bool ok, std::chrono::system_clock::time_point now)
{
  if (ok) {
    m_polls_ok.fetch_add(1, std::memory_order_relaxed);
    m_last_poll_ok.store(
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count(),
      std::memory_order_relaxed);
  } else {
    m_polls_failed.fetch_add(1, std::memory_order_relaxed);
  }
  m_polling.store(true, std::memory_order_release);
}

std::string Metrics::render() const
{
  std::string out;
  out += "# HELP agentdl_requests_total HTTP requests answered, by route and status.\n"
         "# TYPE agentdl_requests_total counter\n";
  for (std::size_t r = 0; r < k_routes.size(); ++r) {
    for (std::size_t s = 0; s <= k_statuses.size(); ++s) {
      const auto n = m_requests[r][s].load(std::memory_order_relaxed);
      if (n == 0) {
        continue;
      }
      const auto status =
        s < k_statuses.size() ? std::to_string(k_statuses[s]) : std::string("other");
      out += fmt::format(
        "agentdl_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", k_routes[r], status, n);
    }
  }
  out += "# HELP agentdl_request_duration_seconds Time from a request's header to its response.\n"
         "# TYPE agentdl_request_duration_seconds histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b < k_buckets.size(); ++b) {
    cumulative += m_latency[b].load(std::memory_order_relaxed);
    out += fmt::format(
      "agentdl_request_duration_seconds_bucket{{le=\"{}\"}} {}\n", k_buckets[b], cumulative);
  }
  cumulative += m_latency.back().load(std::memory_order_relaxed);
  out += fmt::format("agentdl_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\n", cumulative);
  out += fmt::format("agentdl_request_duration_seconds_sum {}\n",
                     static_cast<double>(m_latency_sum_ns.load(std::memory_order_relaxed)) / 1e9);
  out += fmt::format("agentdl_request_duration_seconds_count {}\n", cumulative);
  out += fmt::format("# HELP agentdl_catalog_reloads_total Catalog reloads (SIGHUP, or a new "
                     "catalog polled from --catalog-url), by result.\n"
                     "# TYPE agentdl_catalog_reloads_total counter\n"
                     "agentdl_catalog_reloads_total{{result=\"ok\"}} {}\n"
                     "agentdl_catalog_reloads_total{{result=\"error\"}} {}\n",
                     m_reloads_ok.load(std::memory_order_relaxed),
                     m_reloads_failed.load(std::memory_order_relaxed));
  if (m_polling.load(std::memory_order_acquire)) {
    out += fmt::format(
      "# HELP agentdl_catalog_polls_total Polls of the --catalog-url store, by result (ok: it "
      "answered with a catalog or 304).\n"
      "# TYPE agentdl_catalog_polls_total counter\n"
      "agentdl_catalog_polls_total{{result=\"ok\"}} {}\n"
      "agentdl_catalog_polls_total{{result=\"error\"}} {}\n"
      "# HELP agentdl_catalog_last_poll_ok_timestamp_seconds When the --catalog-url store last "
      "answered (Unix time; 0: not since the start).\n"
      "# TYPE agentdl_catalog_last_poll_ok_timestamp_seconds gauge\n"
      "agentdl_catalog_last_poll_ok_timestamp_seconds {}\n",
      m_polls_ok.load(std::memory_order_relaxed),
      m_polls_failed.load(std::memory_order_relaxed),
      m_last_poll_ok.load(std::memory_order_relaxed));
  }
  out += fmt::format(
    "# HELP agentdl_access_log_dropped_total Access log lines dropped: the log could not keep up.\n"
    "# TYPE agentdl_access_log_dropped_total counter\n"
    "agentdl_access_log_dropped_total {}\n",
    m_log_dropped.load(std::memory_order_relaxed));
  out += fmt::format("# HELP agentdl_files_served_total Mirror files sent whole (200 or 206).\n"
                     "# TYPE agentdl_files_served_total counter\n"
                     "agentdl_files_served_total {}\n"
                     "# HELP agentdl_file_bytes_sent_total Bytes of mirror files sent.\n"
                     "# TYPE agentdl_file_bytes_sent_total counter\n"
                     "agentdl_file_bytes_sent_total {}\n",
                     m_files_served.load(std::memory_order_relaxed),
                     m_file_bytes.load(std::memory_order_relaxed));
  out += fmt::format("# HELP agentdl_releases Releases in the catalog being served.\n"
                     "# TYPE agentdl_releases gauge\n"
                     "agentdl_releases {}\n",
                     m_releases.load(std::memory_order_relaxed));
  out += fmt::format("# HELP agentdl_open_connections Client connections open now.\n"
                     "# TYPE agentdl_open_connections gauge\n"
                     "agentdl_open_connections {}\n",
                     m_connections.load(std::memory_order_relaxed));
  return out;
}

} // namespace agentdl
