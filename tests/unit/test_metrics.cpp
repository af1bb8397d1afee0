#include <agentdl/metrics.hpp>

#include <doctest/doctest.h>

using namespace std::chrono_literals;

TEST_CASE("metrics: Prometheus text")
{
  agentdl::Metrics metrics;
  metrics.count_request("download_latest", 302, 80us);
  metrics.count_request("download_latest", 302, 2ms);
  metrics.count_request("unknown", 404, 10s);
  metrics.count_request("bogus-route", 418, 1ns);
  metrics.count_request("files", 206, 1ms);
  metrics.count_request("files", 416, 1ms);
  metrics.count_file_served();
  metrics.count_file_bytes(1000);
  metrics.count_file_bytes(24);
  metrics.count_reload(true);
  metrics.count_reload(false);
  metrics.count_reload(false);
  metrics.set_releases(4);
  metrics.add_connections(3);
  metrics.add_connections(-1);
  CHECK(metrics.connections() == 2);
  CHECK(
    metrics.render() ==
    "# HELP agentdl_requests_total HTTP requests answered, by route and status.\n"
    "# TYPE agentdl_requests_total counter\n"
    "agentdl_requests_total{route=\"download_latest\",status=\"302\"} 2\n"
    "agentdl_requests_total{route=\"files\",status=\"206\"} 1\n"
    "agentdl_requests_total{route=\"files\",status=\"416\"} 1\n"
    "agentdl_requests_total{route=\"unknown\",status=\"404\"} 1\n"
    "agentdl_requests_total{route=\"unknown\",status=\"other\"} 1\n"
    "# HELP agentdl_request_duration_seconds Time from a request's header to its response.\n"
    "# TYPE agentdl_request_duration_seconds histogram\n"
    "agentdl_request_duration_seconds_bucket{le=\"5e-05\"} 1\n"
    "agentdl_request_duration_seconds_bucket{le=\"0.0001\"} 2\n"
    "agentdl_request_duration_seconds_bucket{le=\"0.00025\"} 2\n"
    "agentdl_request_duration_seconds_bucket{le=\"0.0005\"} 2\n"
    "agentdl_request_duration_seconds_bucket{le=\"0.001\"} 4\n"
    "agentdl_request_duration_seconds_bucket{le=\"0.0025\"} 5\n"
    "agentdl_request_duration_seconds_bucket{le=\"0.005\"} 5\n"
    "agentdl_request_duration_seconds_bucket{le=\"0.01\"} 5\n"
    "agentdl_request_duration_seconds_bucket{le=\"0.025\"} 5\n"
    "agentdl_request_duration_seconds_bucket{le=\"0.1\"} 5\n"
    "agentdl_request_duration_seconds_bucket{le=\"0.5\"} 5\n"
    "agentdl_request_duration_seconds_bucket{le=\"1\"} 5\n"
    "agentdl_request_duration_seconds_bucket{le=\"+Inf\"} 6\n"
    "agentdl_request_duration_seconds_sum 10.004080001\n"
    "agentdl_request_duration_seconds_count 6\n"
    "# HELP agentdl_catalog_reloads_total Catalog reloads (SIGHUP, or a new catalog polled from "
    "--catalog-url), by result.\n"
    "# TYPE agentdl_catalog_reloads_total counter\n"
    "agentdl_catalog_reloads_total{result=\"ok\"} 1\n"
    "agentdl_catalog_reloads_total{result=\"error\"} 2\n"
    "# HELP agentdl_access_log_dropped_total Access log lines dropped: the log could not keep up.\n"
    "# TYPE agentdl_access_log_dropped_total counter\n"
    "agentdl_access_log_dropped_total 0\n"
    "# HELP agentdl_files_served_total Mirror files sent whole (200 or 206).\n"
    "# TYPE agentdl_files_served_total counter\n"
    "agentdl_files_served_total 1\n"
    "# HELP agentdl_file_bytes_sent_total Bytes of mirror files sent.\n"
    "# TYPE agentdl_file_bytes_sent_total counter\n"
    "agentdl_file_bytes_sent_total 1024\n"
    "# HELP agentdl_releases Releases in the catalog being served.\n"
    "# TYPE agentdl_releases gauge\n"
    "agentdl_releases 4\n"
    "# HELP agentdl_open_connections Client connections open now.\n"
    "# TYPE agentdl_open_connections gauge\n"
    "agentdl_open_connections 2\n");
}

TEST_CASE("metrics: the catalog store's polls, shown once there was one")
{
  agentdl::Metrics metrics;
  CHECK(metrics.render().find("agentdl_catalog_polls_total") == std::string::npos);
  metrics.count_catalog_poll(true, std::chrono::system_clock::time_point(1'700'000'000s));
  metrics.count_catalog_poll(false, std::chrono::system_clock::time_point(1'700'000'030s));
  metrics.count_catalog_poll(false, std::chrono::system_clock::time_point(1'700'000'060s));
  const auto text = metrics.render();
  CHECK(text.find("# TYPE agentdl_catalog_polls_total counter\n"
                  "agentdl_catalog_polls_total{result=\"ok\"} 1\n"
                  "agentdl_catalog_polls_total{result=\"error\"} 2\n") != std::string::npos);
  CHECK(text.find("# TYPE agentdl_catalog_last_poll_ok_timestamp_seconds gauge\n"
                  "agentdl_catalog_last_poll_ok_timestamp_seconds 1700000000\n") !=
        std::string::npos);
}
