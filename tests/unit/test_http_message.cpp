#include <agentdl/http_message.hpp>

#include <doctest/doctest.h>

#include <string>

using agentdl::ApiResponse;
using agentdl::HeadFields;
using agentdl::KeepAlive;

namespace {

std::string head(const ApiResponse& response, const HeadFields& fields)
{
  std::string out = "(kept)";
  agentdl::append_response_head(out, response, fields);
  return out;
}

constexpr std::string_view k_date = "Mon, 30 Nov 2026 05:34:38 GMT";

} // namespace

TEST_CASE("http_message: the head of a response")
{
  ApiResponse redirect;
  redirect.status = 302;
  redirect.headers.emplace_back("Location", "https://dl.example.com/a.msi");
  redirect.headers.emplace_back("Cache-Control", "no-cache");
  SUBCASE("HTTP/1.1, keep-alive: no Connection header")
  {
    CHECK(head(redirect, { .version = 11, .date = k_date, .content_length = 0 }) ==
          "(kept)HTTP/1.1 302 Found\r\nServer: agentdl\r\nDate: Mon, 30 Nov 2026 05:34:38 GMT\r\n"
          "Location: https://dl.example.com/a.msi\r\nCache-Control: no-cache\r\n"
          "Content-Length: 0\r\n\r\n");
  }
  SUBCASE("HTTP/1.0 is answered in 1.0, keep-alive said out loud")
  {
    CHECK(head(redirect, { .version = 10, .date = k_date, .content_length = 0 }) ==
          "(kept)HTTP/1.0 302 Found\r\nServer: agentdl\r\nDate: Mon, 30 Nov 2026 05:34:38 GMT\r\n"
          "Location: https://dl.example.com/a.msi\r\nCache-Control: no-cache\r\n"
          "Content-Length: 0\r\nConnection: keep-alive\r\n\r\n");
  }
  SUBCASE("closing, with a Content-Type and the body's length")
  {
    ApiResponse json;
    json.content_type = "application/json";
    json.body = "{}";
    for (const int version : { 10, 11 }) {
      CAPTURE(version);
      CHECK(head(json,
                 { .version = version,
                   .date = k_date,
                   .content_length = 2,
                   .keep_alive = KeepAlive::no }) ==
            std::string("(kept)HTTP/1.") + (version == 10 ? "0" : "1") +
              " 200 OK\r\nServer: agentdl\r\nDate: Mon, 30 Nov 2026 05:34:38 GMT\r\n"
              "Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n");
    }
  }
  SUBCASE("a 304 says no Content-Length (clients built on http_parser would wait for it)")
  {
    ApiResponse not_modified;
    not_modified.status = 304;
    not_modified.headers.emplace_back("ETag", "\"p-1\"");
    CHECK(head(not_modified, { .version = 11, .date = k_date, .content_length = 20000 }) ==
          "(kept)HTTP/1.1 304 Not Modified\r\nServer: agentdl\r\n"
          "Date: Mon, 30 Nov 2026 05:34:38 GMT\r\nETag: \"p-1\"\r\n\r\n");
  }
  SUBCASE("a value with CR, LF or NUL is dropped, never split")
  {
    ApiResponse bad = redirect;
    bad.headers.emplace_back("X-A", "a\r\nSet-Cookie: x");
    bad.headers.emplace_back("X-B", "b\nc");
    bad.headers.emplace_back("X-C", std::string("c\0d", 3));
    const auto text = head(bad, { .date = k_date });
    CHECK(text.find("X-A") == std::string::npos);
    CHECK(text.find("X-B") == std::string::npos);
    CHECK(text.find("X-C") == std::string::npos);
    CHECK(text.ends_with("Cache-Control: no-cache\r\nContent-Length: 0\r\n\r\n"));
  }
}

TEST_CASE("http_message: reason phrases of every status agentdl sends")
{
  CHECK(agentdl::reason_phrase(200) == "OK");
  CHECK(agentdl::reason_phrase(302) == "Found");
  CHECK(agentdl::reason_phrase(400) == "Bad Request");
  CHECK(agentdl::reason_phrase(401) == "Unauthorized");
  CHECK(agentdl::reason_phrase(403) == "Forbidden");
  CHECK(agentdl::reason_phrase(404) == "Not Found");
  CHECK(agentdl::reason_phrase(405) == "Method Not Allowed");
  CHECK(agentdl::reason_phrase(431) == "Request Header Fields Too Large");
  CHECK(agentdl::reason_phrase(500) == "Internal Server Error");
  CHECK(agentdl::reason_phrase(503) == "Service Unavailable");
  CHECK(agentdl::reason_phrase(299).empty());
}

TEST_CASE("http_message: the transport's own errors")
{
  const auto bad = agentdl::transport_error(400, "the Host header is repeated");
  CHECK(bad.status == 400);
  CHECK(bad.content_type == "application/json");
  CHECK(bad.body ==
        R"({"error":{"code":"bad_request","message":"the Host header is repeated","details":{}}})");
  CHECK(agentdl::transport_error(431, "request header is larger than 8 KiB").body ==
        R"({"error":{"code":"bad_request","message":"request header is larger than 8 KiB",)"
        R"("details":{}}})");
  CHECK(agentdl::transport_error(503, "too many connections, try again").body ==
        R"({"error":{"code":"unavailable","message":"too many connections, try again",)"
        R"("details":{}}})");
  CHECK(agentdl::transport_error(500, "std::bad_alloc in session.cpp").body ==
        R"({"error":{"code":"internal_error","message":"Internal server error","details":{}}})");
}

TEST_CASE("http_message: Host values")
{
  for (const auto* good : { "agentdl.test",
                            "127.0.0.1",
                            "127.0.0.1:8080",
                            "[::1]:8080",
                            "[::1]",
                            "Downloads.Example.COM",
                            "xn--bcher-kva.example",
                            "a-b_c~d.example:",
                            "a%20b" }) {
    CAPTURE(good);
    CHECK(agentdl::valid_host(good));
  }
  for (const auto* bad : { "",
                           "127.0.0.1, evil.test",
                           "a b",
                           "user@agentdl.test",
                           ":8080",
                           "agentdl.test:80x",
                           "[::1",
                           "agentdl.test/path",
                           "agentdl.test?q",
                           "\xC3\xA9.example",
                           "a%zz" }) {
    CAPTURE(bad);
    CHECK_FALSE(agentdl::valid_host(bad));
  }
}

TEST_CASE("http_message: CR, LF or NUL anywhere in a long value drops it")
{
  const std::string value(300, 'a');
  for (const char bad : { '\r', '\n', '\0' }) {
    for (const std::size_t at : { 0UL, 7UL, 8UL, 150UL, 295UL, 299UL }) {
      CAPTURE(at);
      auto tainted = value;
      tainted[at] = bad;
      agentdl::ApiResponse response;
      response.headers.emplace_back("X-Long", tainted);
      CHECK(head(response, { .date = k_date }).find("X-Long") == std::string::npos);
    }
  }
  // Other bytes below 0x20 (a tab) and high bytes pass.
  agentdl::ApiResponse fine;
  fine.headers.emplace_back("X-Long", value + "\t\x1f\x7f\x80\xff" + value);
  CHECK(head(fine, { .date = k_date }).find("X-Long: " + value + "\t\x1f\x7f\x80\xff" + value) !=
        std::string::npos);
}

TEST_CASE("http_message: Accept-Encoding and gzip")
{
  using agentdl::accepts_gzip;
  CHECK(accepts_gzip("gzip"));
  CHECK(accepts_gzip("gzip, deflate, br, zstd")); // Chrome
  CHECK(accepts_gzip("deflate,GZIP"));
  CHECK(accepts_gzip("x-gzip"));
  CHECK(accepts_gzip("br;q=1.0, gzip;q=0.8, *;q=0.1"));
  CHECK(accepts_gzip("gzip ; q=0.001"));
  CHECK(accepts_gzip("*"));
  CHECK_FALSE(accepts_gzip(""));
  CHECK_FALSE(accepts_gzip("identity"));
  CHECK_FALSE(accepts_gzip("br, deflate"));
  CHECK_FALSE(accepts_gzip("gzip;q=0"));
  CHECK_FALSE(accepts_gzip("gzip;q=0.000"));
  CHECK_FALSE(accepts_gzip("gzip;q=0, *")); // named beats "*"
  CHECK_FALSE(accepts_gzip("*;q=0"));
  CHECK_FALSE(accepts_gzip("gzipx, xgzip"));
}
