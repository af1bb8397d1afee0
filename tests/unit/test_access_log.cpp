#include <agentdl/access_log.hpp>

#include <doctest/doctest.h>

using namespace std::chrono_literals;

TEST_CASE("access_log: secrets in the query are redacted")
{
  CHECK(agentdl::redact_target("/v2/agent-releases?channel=stable") ==
        "/v2/agent-releases?channel=stable");
  CHECK(agentdl::redact_target("/files/a.msi?expires=1700000000&sig=c2VjcmV0") ==
        "/files/a.msi?expires=1700000000&sig=REDACTED");
  CHECK(
    agentdl::redact_target(
      "/f?md5=abc&expires=1&X-Amz-Signature=ff&x-amz-credential=AK%2F1&token=t") ==
    "/f?md5=REDACTED&expires=1&X-Amz-Signature=REDACTED&x-amz-credential=REDACTED&token=REDACTED");
  CHECK(agentdl::redact_target("/no-query") == "/no-query");
  CHECK(agentdl::redact_target("/bad path?sig=x") == "/bad path?REDACTED");
}

TEST_CASE("access_log: one JSON object per line")
{
  agentdl::AccessEntry entry;
  entry.time = std::chrono::system_clock::time_point(1'790'000'000'123ms);
  entry.remote = "127.0.0.1:51234";
  entry.method = "GET";
  entry.target = "/v2/agent-releases/latest/download?platform=windows&sig=secret";
  entry.status = 302;
  entry.bytes = 0;
  entry.duration = 42'500ns;
  entry.route = "download_latest";
  entry.token_name = "ci-runner";
  entry.user_agent = "curl/7.88.1";
  CHECK(
    agentdl::access_log_line(entry) ==
    R"j({"time":"2026-09-21T14:13:20.123Z","remote":"127.0.0.1:51234","method":"GET",)j"
    R"j("target":"/v2/agent-releases/latest/download?platform=windows&sig=REDACTED","status":302,)j"
    R"j("bytes":0,"duration_us":42,"route":"download_latest","token":"ci-runner","user_agent":"curl/7.88.1"})j"
    "\n");
}

TEST_CASE("access_log: bytes that are not UTF-8 are escaped, so every line is JSON")
{
  agentdl::AccessEntry entry;
  entry.time = std::chrono::system_clock::time_point(1'790'000'000'000ms);
  entry.remote = "127.0.0.1:1";
  entry.method = "GET";
  entry.target = "/v2/agent-releases/\xFF/download?sig=x";
  entry.status = 400;
  entry.route = "unknown";
  entry.user_agent = "agent \xC3\xA9 \xC0\xAE";
  CHECK(agentdl::access_log_line(entry) ==
        R"j({"time":"2026-09-21T14:13:20.000Z","remote":"127.0.0.1:1","method":"GET",)j"
        R"j("target":"/v2/agent-releases/\\xFF/download?REDACTED","status":400,"bytes":0,)j"
        R"j("duration_us":0,"route":"unknown","user_agent":"agent )j"
        "\xC3\xA9"
        R"j( \\xC0\\xAE"})j"
        "\n");
}

TEST_CASE("access_log: a redirect's Location, without the query when it is signed")
{
  agentdl::AccessEntry entry;
  entry.time = std::chrono::system_clock::time_point(1'790'000'000'000ms);
  entry.remote = "127.0.0.1:1";
  entry.method = "GET";
  entry.target = "/v2/agent-releases/1.8.3/download?platform=windows";
  entry.status = 302;
  entry.route = "download_version";
  entry.location = "https://bucket.s3.amazonaws.com/a.msi?X-Amz-Credential=AKID&X-Amz-Signature=f";
  entry.location_signed = true;
  const auto line = agentdl::access_log_line(entry);
  CHECK(line.find(R"j("location":"https://bucket.s3.amazonaws.com/a.msi")j") != std::string::npos);
  CHECK(line.find("AKID") == std::string::npos);
  CHECK(line.find("X-Amz") == std::string::npos);
  entry.location = "https://dl.example.com/a.msi?v=2";
  entry.location_signed = false;
  CHECK(agentdl::access_log_line(entry).find(
          R"j("location":"https://dl.example.com/a.msi?v=2")j") != std::string::npos);
}

TEST_CASE("access_log: a secret key spelled in another case or percent-encoded is redacted too")
{
  agentdl::AccessEntry entry;
  entry.time = std::chrono::system_clock::time_point(1'790'000'000'000ms);
  entry.remote = "127.0.0.1:1";
  entry.method = "GET";
  entry.status = 200;
  entry.route = "files";
  for (const auto* target : { "/files/a.msi?expires=1&SIG=abc",
                              "/files/a.msi?expires=1&%73ig=abc",
                              "/files/a.msi?Access_Token=abc",
                              "/files/a.msi?x-AMZ-security-token=abc" }) {
    CAPTURE(target);
    entry.target = target;
    const auto line = agentdl::access_log_line(entry);
    CHECK(line.find("abc") == std::string::npos);
    CHECK(line.find("=REDACTED") != std::string::npos);
  }
  // A key that only looks like a secret's is kept.
  entry.target = "/v2/agent-releases?channel=stable&signal=1";
  CHECK(agentdl::access_log_line(entry).find(
          R"j("target":"/v2/agent-releases?channel=stable&signal=1")j") != std::string::npos);
  // A query that cannot hold a secret is written as received, even when it
  // is not a valid URL's, escaped as JSON.
  entry.target = "/v2/agent-releases?channel=\"stable\"";
  CHECK(agentdl::access_log_line(entry).find(
          R"j("target":"/v2/agent-releases?channel=\"stable\"")j") != std::string::npos);
}
