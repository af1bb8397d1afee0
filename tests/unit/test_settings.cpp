#include <agentdl/settings.hpp>

#include <doctest/doctest.h>

TEST_CASE("settings: durations and listen addresses")
{
  CHECK(agentdl::parse_duration("90s") == std::chrono::seconds(90));
  CHECK(agentdl::parse_duration("15m") == std::chrono::seconds(900));
  CHECK(agentdl::parse_duration("1h") == std::chrono::seconds(3600));
  CHECK(agentdl::parse_duration("7d") == std::chrono::seconds(7 * 86400));
  for (const auto* bad : { "", "0s", "s", "10", "10x", "-1s", "1.5h", " 1s", "1s " }) {
    CAPTURE(bad);
    CHECK_FALSE(agentdl::parse_duration(bad).has_value());
  }
  const auto v6 = agentdl::parse_listen_address("[::1]:8080");
  REQUIRE(v6.has_value());
  CHECK(v6->host == "::1");
  CHECK(v6->port == 8080);
  const auto v4 = agentdl::parse_listen_address("127.0.0.1:0");
  REQUIRE(v4.has_value());
  CHECK(v4->host == "127.0.0.1");
  CHECK(v4->port == 0);
  CHECK(agentdl::parse_listen_address("localhost").error() ==
        "must be HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080");
  CHECK(agentdl::parse_listen_address("::1:80").error() ==
        "must be HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080");
  CHECK(agentdl::parse_listen_address("[::1]8080").error() ==
        "must be [IPv6]:PORT, e.g. [::1]:8080");
  CHECK(agentdl::parse_listen_address(":80").error() ==
        "has no host (use 0.0.0.0 or [::] for all addresses)");
  CHECK(agentdl::parse_listen_address("h:65536").error() == "has no valid port (0 to 65535)");
  CHECK(agentdl::parse_listen_address("h:").error() == "has no valid port (0 to 65535)");
}
