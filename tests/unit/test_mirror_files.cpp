#include <agentdl/mirror/files.hpp>
#include <agentdl/output.hpp>

#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

using agentdl::Errc;
using agentdl::mirror::FileConditions;
using agentdl::mirror::FileIdentity;
using agentdl::mirror::RangeChoice;
using Kind = agentdl::mirror::RangeChoice::Kind;
using Headers = agentdl::Headers;

namespace {

// Returns the message of the error decoding `encoded` gives (its code must be `code`).
std::string decode_error(std::string_view encoded, Errc code = Errc::bad_request)
{
  const auto decoded = agentdl::mirror::decode_file_path(encoded);
  REQUIRE_FALSE(decoded.has_value());
  CHECK(decoded.error().code == code);
  return decoded.error().message;
}

std::string decoded(std::string_view encoded)
{
  const auto path = agentdl::mirror::decode_file_path(encoded);
  REQUIRE_MESSAGE(path.has_value(), path.error().message);
  return *path;
}

// 1000 bytes, modified at 1700000000.123456789 (Tue, 14 Nov 2023 22:13:20 GMT).
const FileIdentity k_file{ .size = 1000, .mtime_ns = 1700000000123456789, .inode = 0x1234 };
const std::string k_etag = "\"3e8-17979cfe3d85cd15-1234\"";
const std::string k_modified = "Tue, 14 Nov 2023 22:13:20 GMT";

// FileConditions one header at a time (GCC 12 wants every field of a
// designated initializer named).
struct Ask
{
  FileConditions conditions;

  Ask& head(bool value = true)
  {
    conditions.head = value;
    return *this;
  }
  Ask& range(std::optional<std::string_view> value)
  {
    conditions.range = value;
    return *this;
  }
  Ask& if_range(std::string_view value)
  {
    conditions.if_range = value;
    return *this;
  }
  Ask& if_none_match(std::string_view value)
  {
    conditions.if_none_match = value;
    return *this;
  }
  Ask& if_modified_since(std::string_view value)
  {
    conditions.if_modified_since = value;
    return *this;
  }
};

} // namespace

TEST_CASE("mirror files: a request path decodes once to a path under root")
{
  CHECK(decoded("1.8.3/windows/x86_64/Agent.msi") == "1.8.3/windows/x86_64/Agent.msi");
  CHECK(decoded("a/Agent%20Setup%20%C3%A9.msi") == "a/Agent Setup é.msi");
  CHECK(decoded("a/%41%62") == "a/Ab");
  SUBCASE("double encoding stays literal: then it is just a name")
  {
    CHECK(decoded("%252e%252e/x") == "%2e%2e/x");
    CHECK(decoded("a%252Fb") == "a%2Fb");
  }
  SUBCASE("a name that only starts with dots is a name")
  {
    CHECK(decoded("...") == "...");
    CHECK(decoded("..a/.b") == "..a/.b");
  }
}

TEST_CASE("mirror files: a request path that could leave root is refused")
{
  SUBCASE("dot segments, plain or encoded")
  {
    CHECK(decode_error("../etc/passwd") == "file path \"../etc/passwd\" has a \"..\" segment");
    CHECK(decode_error("a/../../x") == "file path \"a/../../x\" has a \"..\" segment");
    CHECK(decode_error("%2e%2e/x") == "file path \"%2e%2e/x\" has a \"..\" segment");
    CHECK(decode_error("%2E%2E/x") == "file path \"%2E%2E/x\" has a \"..\" segment");
    CHECK(decode_error(".%2e/x") == "file path \".%2e/x\" has a \"..\" segment");
    CHECK(decode_error("a/..") == "file path \"a/..\" has a \"..\" segment");
    CHECK(decode_error("./a") == "file path \"./a\" has a \".\" segment");
    CHECK(decode_error("a/%2e/b") == "file path \"a/%2e/b\" has a \".\" segment");
  }
  SUBCASE("encoded separators")
  {
    CHECK(decode_error("..%2Fetc%2Fpasswd") ==
          "file path \"..%2Fetc%2Fpasswd\" has an encoded '/' (%2F)");
    CHECK(decode_error("a%2fb") == "file path \"a%2fb\" has an encoded '/' (%2F)");
    CHECK(decode_error("..%5C..%5Cx") ==
          "file path \"..%5C..%5Cx\" has an encoded backslash (%5C)");
    CHECK(decode_error("a%5cb") == "file path \"a%5cb\" has an encoded backslash (%5C)");
  }
  SUBCASE("a backslash, NUL and control characters")
  {
    CHECK(decode_error("..\\x") == "file path \"..\\x\" contains a backslash (use '/')");
    CHECK(decode_error("a.msi%00.txt") ==
          "file path \"a.msi%00.txt\" contains a control character");
    CHECK(decode_error("a%0Ab") == "file path \"a%0Ab\" contains a control character");
    CHECK(decode_error("a%7Fb") == "file path \"a%7Fb\" contains a control character");
  }
  SUBCASE("absolute paths and empty segments")
  {
    CHECK(decode_error("/etc/passwd") ==
          "file path \"/etc/passwd\" must be relative (no leading '/')");
    CHECK(decode_error("%2Fetc") == "file path \"%2Fetc\" has an encoded '/' (%2F)");
    CHECK(decode_error("a//b") == "file path \"a//b\" has an empty segment");
    CHECK(decode_error("a/") == "file path \"a/\" has an empty segment");
  }
  SUBCASE("malformed percent-encoding and bytes that are not UTF-8")
  {
    CHECK(decode_error("a%zz") == "file path \"a%zz\" has a malformed percent-encoding");
    CHECK(decode_error("a%4") == "file path \"a%4\" has a malformed percent-encoding");
    CHECK(decode_error("a%") == "file path \"a%\" has a malformed percent-encoding");
    CHECK(decode_error("a%C3") == "file path \"a%C3\" is not UTF-8 once decoded");
    CHECK(decode_error("%C0%AE%C0%AE/x") ==
          "file path \"%C0%AE%C0%AE/x\" is not UTF-8 once decoded");
  }
  SUBCASE("the root folder itself is not a file")
  {
    CHECK(decode_error("", Errc::not_found) == "no file at /files/ (a folder is not listed)");
  }
}

TEST_CASE("mirror files: the details of a refused path name it")
{
  const auto decoded = agentdl::mirror::decode_file_path("%2e%2e/x");
  REQUIRE_FALSE(decoded.has_value());
  CHECK(agentdl::error_json(decoded.error()) ==
        R"({"error":{"code":"bad_request","message":"file path \"%2e%2e/x\" has a \"..\" segment",)"
        R"("details":{"path":"%2e%2e/x"}}})");
}

TEST_CASE("mirror files: HTTP dates")
{
  using agentdl::mirror::format_http_date;
  using agentdl::mirror::parse_http_date;
  CHECK(format_http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(format_http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
  CHECK(format_http_date(-1) == "Wed, 31 Dec 1969 23:59:59 GMT");
  CHECK(format_http_date(951782400) == "Tue, 29 Feb 2000 00:00:00 GMT");
  CHECK(format_http_date(253402300799) == "Fri, 31 Dec 9999 23:59:59 GMT");
  SUBCASE("the three forms a recipient must accept")
  {
    CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777);
    CHECK(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == 784111777);
    CHECK(parse_http_date("Sun Nov  6 08:49:37 1994") == 784111777);
    CHECK(parse_http_date("Thu Nov 16 08:49:37 2023") == 1700124577);
    CHECK(parse_http_date("Thursday, 16-Nov-23 08:49:37 GMT") == 1700124577);
    CHECK(parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT") == 951782400);
  }
  SUBCASE("anything else is not a date")
  {
    for (const auto* text : { "",
                              "Sun, 06 Nov 1994 08:49:37",
                              "Sun, 06 Nov 1994 08:49:37 GMT ",
                              "Sun, 06 Nov 1994 08:49:37 UTC",
                              "sun, 06 Nov 1994 08:49:37 GMT",
                              "Sun, 6 Nov 1994 08:49:37 GMT",
                              "Sun, 06 nov 1994 08:49:37 GMT",
                              "Sun, 31 Nov 1994 08:49:37 GMT",
                              "Mon, 29 Feb 2001 00:00:00 GMT",
                              "Sun, 06 Nov 1994 24:00:00 GMT",
                              "Sun, 06 Nov 1994 08:60:00 GMT",
                              "Sun, 06 Nov 1994 08:49:60 GMT",
                              "Sun, 06 Nov 94 08:49:37 GMT",
                              "Sun Nov 6 08:49:37 1994",
                              "1994-11-06T08:49:37Z",
                              "784111777" }) {
      CAPTURE(text);
      CHECK_FALSE(parse_http_date(text).has_value());
    }
  }
}

TEST_CASE("mirror files: the ETag names size, modification time and inode")
{
  CHECK(agentdl::mirror::entity_tag(k_file) == k_etag);
  CHECK(agentdl::mirror::entity_tag({ .size = 0, .mtime_ns = 0, .inode = 1 }) == "\"0-0-1\"");
}

TEST_CASE("mirror files: If-None-Match compares weakly")
{
  using agentdl::mirror::none_match_matches;
  CHECK(none_match_matches(k_etag, k_etag));
  CHECK(none_match_matches("*", k_etag));
  CHECK(none_match_matches(" * ", k_etag));
  CHECK(none_match_matches("W/" + k_etag, k_etag));
  CHECK(none_match_matches("\"x\", " + k_etag, k_etag));
  CHECK(none_match_matches("\"x\",W/\"y\" ,, " + k_etag + " ,", k_etag));
  CHECK_FALSE(none_match_matches("\"x\"", k_etag));
  CHECK_FALSE(none_match_matches("", k_etag));
  CHECK_FALSE(none_match_matches("\"3e8-17979cfe3d85cd15-1234", k_etag));
  CHECK_FALSE(none_match_matches("3e8-17979cfe3d85cd15-1234", k_etag));
  // What follows a malformed element is not read.
  CHECK_FALSE(none_match_matches("\"x\" junk, " + k_etag, k_etag));
  CHECK_FALSE(none_match_matches("*, \"x\"", k_etag));
}

TEST_CASE("mirror files: Range selects one range of bytes")
{
  using agentdl::mirror::select_range;
  const RangeChoice whole;
  SUBCASE("one satisfiable range: clamped to the file")
  {
    CHECK(select_range("bytes=0-99", 1000) == RangeChoice{ Kind::partial, 0, 99 });
    CHECK(select_range("bytes=100-", 1000) == RangeChoice{ Kind::partial, 100, 999 });
    CHECK(select_range("bytes=-100", 1000) == RangeChoice{ Kind::partial, 900, 999 });
    CHECK(select_range("bytes=999-999", 1000) == RangeChoice{ Kind::partial, 999, 999 });
    CHECK(select_range("bytes=500-5000", 1000) == RangeChoice{ Kind::partial, 500, 999 });
    CHECK(select_range("bytes=-5000", 1000) == RangeChoice{ Kind::partial, 0, 999 });
    CHECK(select_range("bytes=0-99999999999999999999999", 1000) ==
          RangeChoice{ Kind::partial, 0, 999 });
    CHECK(select_range("Bytes=0-0", 1000) == RangeChoice{ Kind::partial, 0, 0 });
    CHECK(select_range("bytes= 0-9 ,", 1000) == RangeChoice{ Kind::partial, 0, 9 });
  }
  SUBCASE("one range past the end: unsatisfiable")
  {
    CHECK(select_range("bytes=1000-", 1000) == RangeChoice{ Kind::unsatisfiable });
    CHECK(select_range("bytes=1000-2000", 1000) == RangeChoice{ Kind::unsatisfiable });
    CHECK(select_range("bytes=99999999999999999999999-", 1000) ==
          RangeChoice{ Kind::unsatisfiable });
    CHECK(select_range("bytes=-0", 1000) == RangeChoice{ Kind::unsatisfiable });
    CHECK(select_range("bytes=0-", 0) == RangeChoice{ Kind::unsatisfiable });
  }
  SUBCASE("an empty file: a suffix is the whole of it")
  {
    CHECK(select_range("bytes=-10", 0) == whole);
  }
  SUBCASE("several ranges, another unit or a malformed value: the whole file")
  {
    for (const auto* range : { "bytes=0-1,5-6",
                               "bytes=0-1, 2000-3000",
                               "bytes=-1,-2",
                               "items=0-1",
                               "bytes 0-1",
                               "bytes=",
                               "bytes=,",
                               "bytes=5",
                               "bytes=-",
                               "bytes=a-b",
                               "bytes=1-a",
                               "bytes=+1-2",
                               "bytes=9-5",
                               "bytes=0x10-",
                               "bytes=--5",
                               "" }) {
      CAPTURE(range);
      CHECK(select_range(range, 1000) == whole);
    }
  }
}

TEST_CASE("mirror files: Content-Type by extension, in any case")
{
  using agentdl::mirror::content_type;
  CHECK(content_type("Agent.msi") == "application/x-msi");
  CHECK(content_type("AGENT.MSI") == "application/x-msi");
  CHECK(content_type("Agent.pkg") == "application/octet-stream");
  CHECK(content_type("Agent.exe") == "application/vnd.microsoft.portable-executable");
  CHECK(content_type("Agent.dmg") == "application/x-apple-diskimage");
  CHECK(content_type("Agent.Zip") == "application/zip");
  CHECK(content_type("agent-1.8.3.tar.gz") == "application/gzip");
  CHECK(content_type("agent-1.8.3.TGZ") == "application/gzip");
  CHECK(content_type("agent_1.8.3_amd64.deb") == "application/vnd.debian.binary-package");
  CHECK(content_type("agent-1.8.3.x86_64.rpm") == "application/x-rpm");
  CHECK(content_type("agent.msi.sig") == "application/octet-stream");
  CHECK(content_type("msi") == "application/octet-stream");
  CHECK(content_type("") == "application/octet-stream");
}

TEST_CASE("mirror files: Content-Disposition with an ASCII fallback and filename*")
{
  using agentdl::mirror::content_disposition;
  CHECK(content_disposition("Agent-1.8.3.msi") == "attachment; filename=\"Agent-1.8.3.msi\"");
  CHECK(content_disposition("Agent Setup 1.8.3.msi") ==
        "attachment; filename=\"Agent Setup 1.8.3.msi\"");
  CHECK(content_disposition("Agent Setup é.msi") == "attachment; filename=\"Agent Setup _.msi\"; "
                                                    "filename*=UTF-8''Agent%20Setup%20%C3%A9.msi");
  CHECK(content_disposition("агент.exe") == "attachment; filename=\"_____.exe\"; "
                                            "filename*=UTF-8''%D0%B0%D0%B3%D0%B5%D0%BD%D1%82.exe");
  CHECK(content_disposition("a\"b\\c;d.msi") ==
        "attachment; filename=\"a_b_c;d.msi\"; filename*=UTF-8''a%22b%5Cc%3Bd.msi");
  CHECK(content_disposition("😀.zip") ==
        "attachment; filename=\"_.zip\"; filename*=UTF-8''%F0%9F%98%80.zip");
}

TEST_CASE("mirror files: the answer to a GET or HEAD")
{
  using agentdl::mirror::answer_file;
  const auto answer = [](const Ask& ask) {
    return answer_file("1.8.3/windows/x86_64/Agent Setup é.msi", k_file, ask.conditions);
  };
  const Headers validators{ { "ETag", k_etag }, { "Last-Modified", k_modified } };
  const auto whole_headers = [&] {
    auto headers = validators;
    headers.emplace_back("Accept-Ranges", "bytes");
    headers.emplace_back("Content-Disposition",
                         "attachment; filename=\"Agent Setup _.msi\"; "
                         "filename*=UTF-8''Agent%20Setup%20%C3%A9.msi");
    return headers;
  };
  SUBCASE("GET: 200 with the whole file")
  {
    const auto a = answer(Ask());
    CHECK(a.response.status == 200);
    CHECK(a.response.route == "files");
    CHECK(a.response.content_type == "application/x-msi");
    CHECK(a.response.headers == whole_headers());
    CHECK(a.response.body.empty());
    CHECK((a.content_length == 1000 && a.offset == 0 && a.length == 1000));
  }
  SUBCASE("HEAD: the same head, no bytes; a Range does not apply")
  {
    for (const auto& range :
         { std::optional<std::string_view>(), std::optional<std::string_view>("bytes=0-9") }) {
      const auto a = answer(Ask().head().range(range));
      CHECK(a.response.status == 200);
      CHECK(a.response.headers == whole_headers());
      CHECK((a.content_length == 1000 && a.offset == 0 && a.length == 0));
    }
  }
  SUBCASE("Range: 206 with Content-Range")
  {
    const auto a = answer(Ask().range("bytes=100-199"));
    CHECK(a.response.status == 206);
    auto headers = whole_headers();
    headers.emplace_back("Content-Range", "bytes 100-199/1000");
    CHECK(a.response.headers == headers);
    CHECK((a.content_length == 100 && a.offset == 100 && a.length == 100));
    const auto suffix = answer(Ask().range("bytes=-1"));
    CHECK(suffix.response.headers.back().second == "bytes 999-999/1000");
    CHECK((suffix.content_length == 1 && suffix.offset == 999 && suffix.length == 1));
  }
  SUBCASE("a Range past the end: 416 with the size")
  {
    const auto a = answer(Ask().range("bytes=1000-"));
    CHECK(a.response.status == 416);
    CHECK(a.response.content_type == "application/json");
    CHECK(a.response.headers == Headers{ { "Content-Range", "bytes */1000" } });
    CHECK(
      a.response.body ==
      R"json({"error":{"code":"range_not_satisfiable","message":"range \"bytes=1000-\" starts )json"
      R"json(past the end of the file (1000 bytes)","details":{"range":"bytes=1000-",)json"
      R"json("size":"1000"}}})json");
    CHECK((a.content_length == a.response.body.size() && a.length == 0));
  }
  SUBCASE("several ranges: 200 with the whole file")
  {
    const auto a = answer(Ask().range("bytes=0-1,5-6"));
    CHECK(a.response.status == 200);
    CHECK((a.content_length == 1000 && a.length == 1000));
  }
  SUBCASE("If-Range: the Range applies only while the file is the one named")
  {
    CHECK(answer(Ask().range("bytes=0-9").if_range(k_etag)).response.status == 206);
    CHECK(answer(Ask().range("bytes=0-9").if_range(k_modified)).response.status == 206);
    CHECK(answer(Ask().range("bytes=0-9").if_range("\"other\"")).response.status == 200);
    CHECK(answer(Ask().range("bytes=0-9").if_range("W/" + k_etag)).response.status == 200);
    CHECK(
      answer(Ask().range("bytes=0-9").if_range("Tue, 14 Nov 2023 22:13:19 GMT")).response.status ==
      200);
    CHECK(answer(Ask().range("bytes=0-9").if_range("garbage")).response.status == 200);
    CHECK(answer(Ask().range("bytes=2000-").if_range("\"other\"")).response.status == 200);
  }
  SUBCASE("If-None-Match: 304 with the validators and no body")
  {
    for (const auto& head : { false, true }) {
      const auto a = answer(Ask().head(head).if_none_match("\"x\", " + k_etag));
      CHECK(a.response.status == 304);
      CHECK(a.response.content_type.empty());
      CHECK(a.response.headers == validators);
      CHECK((a.content_length == 1000 && a.length == 0));
    }
    CHECK(answer(Ask().if_none_match("*")).response.status == 304);
    CHECK(answer(Ask().range("bytes=0-9").if_none_match(k_etag)).response.status == 304);
    CHECK(answer(Ask().if_none_match("\"x\"")).response.status == 200);
  }
  SUBCASE("If-Modified-Since: 304 unless modified after it")
  {
    CHECK(answer(Ask().if_modified_since(k_modified)).response.status == 304);
    CHECK(answer(Ask().if_modified_since("Wed, 15 Nov 2023 00:00:00 GMT")).response.status == 304);
    CHECK(answer(Ask().if_modified_since("Tuesday, 14-Nov-23 22:13:20 GMT")).response.status ==
          304);
    CHECK(answer(Ask().if_modified_since("Tue, 14 Nov 2023 22:13:19 GMT")).response.status == 200);
    CHECK(answer(Ask().if_modified_since("yesterday")).response.status == 200);
    // If-None-Match decides alone when both are sent.
    CHECK(answer(Ask().if_none_match("\"x\"").if_modified_since(k_modified)).response.status ==
          200);
  }
}

TEST_CASE("mirror files: a file that cannot be opened")
{
  using agentdl::mirror::open_failure_response;
  using agentdl::mirror::OpenFailure;
  const auto check = [](OpenFailure failure, int status, std::string_view body) {
    const auto response = open_failure_response(failure, "a/b é.msi");
    CHECK(response.status == status);
    CHECK(response.route == "files");
    CHECK(response.content_type == "application/json");
    CHECK(response.body == body);
  };
  const auto* missing =
    R"({"error":{"code":"not_found","message":"no file \"a/b é.msi\" in the mirror","details":{"path":"a/b é.msi"}}})";
  check(OpenFailure::missing, 404, missing);
  check(OpenFailure::not_a_file, 404, missing);
  check(
    OpenFailure::leaves_root,
    403,
    R"({"error":{"code":"forbidden","message":"file \"a/b é.msi\" is a symbolic link that leads out of the mirror","details":{"path":"a/b é.msi"}}})");
  check(
    OpenFailure::denied,
    403,
    R"({"error":{"code":"forbidden","message":"file \"a/b é.msi\" may not be read","details":{"path":"a/b é.msi"}}})");
  check(OpenFailure::failed,
        500,
        R"({"error":{"code":"internal_error","message":"Internal server error","details":{}}})");
}
