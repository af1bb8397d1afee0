#include <agentdl/catalog/sections.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace agentdl::catalog_detail {

bool is_valid_name(std::string_view name)
{
  if (name.empty() || name.size() > 64) {
    return false;
  }
  const auto ok = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  };
  return std::all_of(name.begin(), name.end(), ok) && name[0] != '.' && name[0] != '-';
}

std::string quoted_list(const std::vector<std::string>& names)
{
  return fmt::format("{}", fmt::join(names, ", "));
}

void check_name(const TomlReader& in, const toml::key& key, std::string_view kind)
{
  if (!is_valid_name(key.str())) {
    in.fail_at(in.pos(key.source()),
               fmt::format("{} name \"{}\" must be 1 to 64 {}", kind, key.str(), k_name_rule));
  }
}

void check_name(const TomlReader& in,
                const toml::node& node,
                std::string_view name,
                std::string_view kind)
{
  if (!is_valid_name(name)) {
    in.fail_at(node, fmt::format("{} name \"{}\" must be 1 to 64 {}", kind, name, k_name_rule));
  }
}

std::chrono::seconds read_duration(const TomlReader& in,
                                   const toml::table& table,
                                   std::string_view key,
                                   std::string_view what,
                                   std::chrono::seconds fallback)
{
  const auto* node = table.get(key);
  if (!node) {
    return fallback;
  }
  auto parsed = parse_duration(in.as_string(*node, what));
  if (!parsed) {
    in.fail_at(*node, fmt::format("{} {}", what, parsed.error()));
  }
  return *parsed;
}

SourcePos source_pos(const TomlReader& in, const toml::source_region& region)
{
  const auto at = in.pos(region);
  return { at.line, at.column };
}

Position position(SourcePos pos)
{
  return { pos.line, pos.column };
}

} // namespace agentdl::catalog_detail
