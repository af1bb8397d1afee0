#include <agentdl/catalog/toml_reader.hpp>

#include <doctest/doctest.h>

#include <string>

using agentdl::catalog_detail::ReadError;
using agentdl::catalog_detail::TomlReader;

namespace {

// Returns the message `read` throws, or "" if it throws nothing.
template<typename Read>
std::string failure(Read&& read)
{
  try {
    read();
  } catch (const ReadError& e) {
    return e.message;
  }
  return "";
}

const toml::table k_doc = toml::parse(R"(name = "agent"
count = 3
flag = true
list = ["a", "b"]
mixed = ["a", 1]
[table]
key = "v"
)");

} // namespace

TEST_CASE("toml_reader: typed values")
{
  const TomlReader in("f.toml");
  CHECK(in.as_string(*k_doc.get("name"), "name") == "agent");
  CHECK(in.optional_string(k_doc, "name", "name") == "agent");
  CHECK_FALSE(in.optional_string(k_doc, "absent", "absent"));
  CHECK(in.optional_int(k_doc, "count", "count", 0) == 3);
  CHECK_FALSE(in.optional_int(k_doc, "absent", "absent", 0));
  CHECK(in.optional_bool(k_doc, "flag", "flag") == true);
  CHECK(in.optional_table(k_doc, "table", "[table]") == k_doc.get("table")->as_table());
  CHECK(in.optional_table(k_doc, "absent", "[absent]") == nullptr);
  const auto list = in.string_array(*k_doc.get("list"), "list");
  REQUIRE(list.size() == 2);
  CHECK(list[1].first == "b");
  CHECK(in.pos(list[1].second->source()).column == 14);
}

TEST_CASE("toml_reader: errors name the file, line and column, and what is wrong")
{
  const TomlReader in("f.toml");
  CHECK(failure([&] { in.as_string(*k_doc.get("count"), "name"); }) ==
        "f.toml:2:9: name must be a string, not an integer");
  CHECK(failure([&] { in.optional_bool(k_doc, "name", "flag"); }) ==
        "f.toml:1:8: flag must be true or false, not a string");
  CHECK(failure([&] { in.optional_int(k_doc, "count", "count", 5); }) ==
        "f.toml:2:9: count must be at least 5, not 3");
  CHECK(failure([&] { in.optional_int(k_doc, "list", "count", 0); }) ==
        "f.toml:4:8: count must be an integer, not an array");
  CHECK(failure([&] { in.as_table(*k_doc.get("flag"), "[flag]"); }) ==
        "f.toml:3:8: [flag] must be a table, not a boolean");
  CHECK(failure([&] { in.string_array(*k_doc.get("name"), "list"); }) ==
        "f.toml:1:8: list must be an array of strings, not a string");
  CHECK(failure([&] { in.string_array(*k_doc.get("mixed"), "mixed"); }) ==
        "f.toml:5:15: mixed must be an array of strings, but holds an integer");
  CHECK(failure([&] {
          in.check_keys(k_doc, "the file", { "name", "count" });
        }) == "f.toml:3:1: unknown key \"flag\" in the file (expected one of: name, count)");
  CHECK(
    failure([&] { in.check_keys(*k_doc.get("table")->as_table(), "[table]", { "key" }); }).empty());
}

TEST_CASE("toml_reader: a piece of a file counts lines from the file's start")
{
  const TomlReader in("f.toml");
  in.set_line_offset(40);
  CHECK(failure([&] { in.as_string(*k_doc.get("count"), "name"); }) ==
        "f.toml:42:9: name must be a string, not an integer");
  try {
    (void)toml::parse("a = 1\nb = [\n");
    FAIL("no syntax error");
  } catch (const toml::parse_error& e) {
    CHECK(agentdl::catalog_detail::syntax_error("f.toml", e, 40) ==
          "f.toml:42:7: Error while parsing array: encountered end-of-file");
  }
}
