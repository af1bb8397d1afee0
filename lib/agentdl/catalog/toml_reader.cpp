#include <agentdl/catalog/toml_reader.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace agentdl::catalog_detail {

std::string_view type_name(const toml::node& node)
{
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string syntax_error(std::string_view source,
                         const toml::parse_error& error,
                         std::uint32_t line_offset)
{
  return fmt::format("{}:{}:{}: {}",
                     source,
                     error.source().begin.line + line_offset,
                     error.source().begin.column,
                     error.description());
}

void TomlReader::fail_at(Position pos, std::string message) const
{
  throw ReadError{ fmt::format("{}:{}:{}: {}", m_source, pos.line, pos.column, message) };
}

void TomlReader::fail_at(const toml::node& node, std::string message) const
{
  fail_at(pos(node.source()), std::move(message));
}

void TomlReader::check_keys(const toml::table& table,
                            std::string_view where,
                            std::initializer_list<std::string_view> allowed) const
{
  for (auto&& [key, value] : table) {
    if (std::find(allowed.begin(), allowed.end(), key.str()) == allowed.end()) {
      fail_at(pos(key.source()),
              fmt::format("unknown key \"{}\" in {} (expected one of: {})",
                          key.str(),
                          where,
                          fmt::join(allowed, ", ")));
    }
  }
}

const toml::table& TomlReader::as_table(const toml::node& node, std::string_view what) const
{
  if (const auto* t = node.as_table()) {
    return *t;
  }
  fail_at(node, fmt::format("{} must be a table, not {}", what, type_name(node)));
}

const toml::table* TomlReader::optional_table(const toml::table& parent,
                                              std::string_view key,
                                              std::string_view what) const
{
  const auto* node = parent.get(key);
  return node ? &as_table(*node, what) : nullptr;
}

const std::string& TomlReader::as_string(const toml::node& node, std::string_view what) const
{
  if (const auto* s = node.as_string()) {
    return s->get();
  }
  fail_at(node, fmt::format("{} must be a string, not {}", what, type_name(node)));
}

std::optional<std::string> TomlReader::optional_string(const toml::table& table,
                                                       std::string_view key,
                                                       std::string_view what) const
{
  const auto* node = table.get(key);
  if (!node) {
    return std::nullopt;
  }
  return as_string(*node, what);
}

std::optional<bool> TomlReader::optional_bool(const toml::table& table,
                                              std::string_view key,
                                              std::string_view what) const
{
  const auto* node = table.get(key);
  if (!node) {
    return std::nullopt;
  }
  if (const auto* b = node->as_boolean()) {
    return b->get();
  }
  fail_at(*node, fmt::format("{} must be true or false, not {}", what, type_name(*node)));
}

std::optional<std::int64_t> TomlReader::optional_int(const toml::table& table,
                                                     std::string_view key,
                                                     std::string_view what,
                                                     std::int64_t min) const
{
  const auto* node = table.get(key);
  if (!node) {
    return std::nullopt;
  }
  const auto* i = node->as_integer();
  if (!i) {
    fail_at(*node, fmt::format("{} must be an integer, not {}", what, type_name(*node)));
  }
  if (i->get() < min) {
    fail_at(*node, fmt::format("{} must be at least {}, not {}", what, min, i->get()));
  }
  return i->get();
}

std::vector<std::pair<std::string, const toml::node*>> TomlReader::string_array(
  const toml::node& node,
  std::string_view what) const
{
  const auto* array = node.as_array();
  if (!array) {
    fail_at(node, fmt::format("{} must be an array of strings, not {}", what, type_name(node)));
  }
  std::vector<std::pair<std::string, const toml::node*>> out;
  for (const auto& element : *array) {
    const auto* s = element.as_string();
    if (!s) {
      fail_at(
        element,
        fmt::format("{} must be an array of strings, but holds {}", what, type_name(element)));
    }
    out.emplace_back(s->get(), &element);
  }
  return out;
}

} // namespace agentdl::catalog_detail
