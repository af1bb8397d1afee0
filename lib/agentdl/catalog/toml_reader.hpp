// Reading a TOML document with positions: typed values, unknown keys and
// syntax errors, each reported as "FILE:LINE:COLUMN: message". Nothing here
// knows what a catalog is (ccache's util/configreader is the model).
#pragma once

#include <agentdl/catalog/toml.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agentdl::catalog_detail {

// A line and a column (1-based) in the file.
struct Position
{
  std::uint32_t line = 0;
  std::uint32_t column = 0;
};

// Thrown by TomlReader::fail_at: the first problem found ends reading, so
// that the caller can return one error and nothing half-read.
struct ReadError
{
  std::string message;
};

// Returns what `node` is, for messages: "a string", "an array", ...
std::string_view type_name(const toml::node& node);

// Returns the message of a toml++ syntax error in a text that starts
// `line_offset` lines into the file `source`.
std::string syntax_error(std::string_view source,
                         const toml::parse_error& error,
                         std::uint32_t line_offset = 0);

// Reads values from a parsed document of the file `source`; every failure
// throws ReadError with the file, line and column.
class TomlReader
{
public:
  explicit TomlReader(std::string_view source)
    : m_source(source)
  {
  }

  // Throws ReadError with `message` at `pos`.
  [[noreturn]] void fail_at(Position pos, std::string message) const;

  // Throws ReadError with `message` at where `node` starts.
  [[noreturn]] void fail_at(const toml::node& node, std::string message) const;

  // Returns the position of `region` in the file: toml++ counts lines from
  // the start of the text it parsed, which may be a piece of the file.
  Position pos(const toml::source_region& region) const
  {
    return { region.begin.line + m_line_offset, region.begin.column };
  }

  // Sets how many lines of the file precede the text being read.
  void set_line_offset(std::uint32_t offset) const { m_line_offset = offset; }

  // Fails on any key of `table` not in `allowed`, naming the table as `where`.
  void check_keys(const toml::table& table,
                  std::string_view where,
                  std::initializer_list<std::string_view> allowed) const;

  // Returns `node` as a table; fails naming it `what` if it is not one.
  const toml::table& as_table(const toml::node& node, std::string_view what) const;

  // Returns the table at `key` of `parent`, nullptr if absent.
  const toml::table* optional_table(const toml::table& parent,
                                    std::string_view key,
                                    std::string_view what) const;

  // Returns `node` as a string; fails naming it `what` if it is not one.
  const std::string& as_string(const toml::node& node, std::string_view what) const;

  // Returns the string at `key`, nullopt if absent.
  std::optional<std::string> optional_string(const toml::table& table,
                                             std::string_view key,
                                             std::string_view what) const;

  // Returns the boolean at `key`, nullopt if absent.
  std::optional<bool> optional_bool(const toml::table& table,
                                    std::string_view key,
                                    std::string_view what) const;

  // Returns the integer at `key`, nullopt if absent; fails if it is below `min`.
  std::optional<std::int64_t> optional_int(const toml::table& table,
                                           std::string_view key,
                                           std::string_view what,
                                           std::int64_t min) const;

  // Returns the strings of the array `node` with their nodes (for positions).
  std::vector<std::pair<std::string, const toml::node*>> string_array(const toml::node& node,
                                                                      std::string_view what) const;

private:
  std::string_view m_source;
  mutable std::uint32_t m_line_offset = 0;
};

} // namespace agentdl::catalog_detail
