#include <agentdl/mirror/record.hpp>

#include <doctest/doctest.h>

#include <string>

using agentdl::mirror::is_layout_path;
using agentdl::mirror::parse_record;
using agentdl::mirror::Record;
using agentdl::mirror::record_json;
using agentdl::mirror::RecordEntry;

TEST_CASE("mirror record: the layout's paths")
{
  for (const auto* path :
       { "1.8.3/windows/x86_64/Agent.msi", "2.0.0-beta.1+b7/macos/arm64/Agent 2.pkg", "1/a/b/c" }) {
    CAPTURE(path);
    CHECK(is_layout_path(path));
  }
  for (const auto* path : { "agentdl.toml",
                            ".agentdl-sync",
                            "1.8.3/windows/x86_64",
                            "1.8.3/windows/x86_64/sub/Agent.msi",
                            "docs/windows/x86_64/Agent.msi",
                            "../windows/x86_64/Agent.msi",
                            "1.8.3/../x86_64/Agent.msi",
                            "/1.8.3/windows/x86_64/Agent.msi",
                            "1.8.3//x86_64/Agent.msi",
                            "1.8.3/windows/x86_64/a\\b",
                            "1.8.3/windows/x86_64/a\nb" }) {
    CAPTURE(path);
    CHECK_FALSE(is_layout_path(path));
  }
}

TEST_CASE("mirror record: written and read back")
{
  Record record;
  record.files["1.8.3/windows/x86_64/Agent.msi"] =
    RecordEntry{ 48213504, 1700000000123456789, std::string(64, 'a') };
  record.files["1.8.3/macos/arm64/Agent \"2\".pkg"] = RecordEntry{ 0, -5, "" };
  record.partial = { "1.9.0/windows/x86_64/Agent.msi" };
  const auto json = record_json(record);
  CHECK(json ==
        "{\"format\":1,\n\"files\":{\n"
        "\"1.8.3/macos/arm64/Agent \\\"2\\\".pkg\":{\"size\":0,\"mtime_ns\":-5,\"sha256\":\"\"},\n"
        "\"1.8.3/windows/x86_64/Agent.msi\":{\"size\":48213504,"
        "\"mtime_ns\":1700000000123456789,\"sha256\":\"" +
          std::string(64, 'a') +
          "\"}},\n"
          "\"partial\":[\n\"1.9.0/windows/x86_64/Agent.msi\"]}\n");
  const auto read = parse_record(json);
  REQUIRE_MESSAGE(read.has_value(), read.error().message);
  CHECK(*read == record);
  const auto empty = parse_record(record_json({}));
  REQUIRE(empty.has_value());
  CHECK(*empty == Record{});
}

TEST_CASE("mirror record: what is not a record")
{
  const std::string prefix = "not a record of agentdl mirror sync: ";
  const auto entry = [](std::string_view path, std::string_view fields) {
    return "{\"format\":1,\"files\":{\"" + std::string(path) + "\":{" + std::string(fields) +
           "}},\"partial\":[]}";
  };
  const std::string good = R"("size":1,"mtime_ns":2,"sha256":"")";
  for (const auto& [json, message] : std::vector<std::pair<std::string, std::string>>{
         { "", prefix + "not a JSON object" },
         { "[]", prefix + "not a JSON object" },
         { "{\"format\":2,\"files\":{},\"partial\":[]}", prefix + "no \"format\": 1" },
         { "{\"format\":1,\"files\":[],\"partial\":[]}",
           prefix + "no \"files\" object and \"partial\" array" },
         { entry("agentdl.toml", good), prefix + "\"agentdl.toml\" is not a mirror's file" },
         { entry("1.0/a/b/../../../etc", good),
           prefix + "\"1.0/a/b/../../../etc\" is not a mirror's file" },
         { entry("1.0/a/b/c", R"("size":1,"sha256":"")"),
           prefix + "the entry of \"1.0/a/b/c\" has no size, mtime_ns and sha256" },
         { entry("1.0/a/b/c", R"("size":-1,"mtime_ns":2,"sha256":"")"),
           prefix + "the entry of \"1.0/a/b/c\" has a negative size" },
         { "{\"format\":1,\"files\":{},\"partial\":[\"x/../../y\"]}",
           prefix + "\"partial\" names something other than a mirror's file" },
       }) {
    CAPTURE(json);
    const auto read = parse_record(json);
    REQUIRE_FALSE(read.has_value());
    CHECK(read.error().code == agentdl::Errc::io);
    CHECK(read.error().message == message);
  }
}
