#include <agentdl/catalog/sections.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <set>

namespace agentdl::catalog_detail {

namespace {

const std::vector<std::pair<std::string, std::string>> k_builtin_platform_aliases = {
  { "darwin", "macos" }, { "mac", "macos" },     { "osx", "macos" },
  { "win", "windows" },  { "win32", "windows" },
};
const std::vector<std::pair<std::string, std::string>> k_builtin_arch_aliases = {
  { "aarch64", "arm64" },
  { "amd64", "x86_64" },
  { "x64", "x86_64" },
};

void load_alias_table(const TomlReader& in,
                      const toml::table& aliases,
                      std::string_view kind,
                      const std::vector<std::string>& declared,
                      std::vector<std::pair<std::string, std::string>>& out,
                      std::vector<std::pair<std::string, std::string>>& own)
{
  const auto* table = in.optional_table(aliases, kind, fmt::format("aliases.{}", kind));
  std::map<std::string, std::string> merged(out.begin(), out.end());
  std::map<std::string, std::string> declared_here;
  if (table) {
    for (auto&& [key, node] : *table) {
      const auto alias = lowercase(key.str());
      if (!is_valid_name(alias)) {
        in.fail_at(in.pos(key.source()),
                   fmt::format("{} alias \"{}\" must be 1 to 64 {}", kind, key.str(), k_name_rule));
      }
      if (std::binary_search(declared.begin(), declared.end(), alias)) {
        in.fail_at(in.pos(key.source()),
                   fmt::format("{} alias \"{}\" is also a declared {}", kind, key.str(), kind));
      }
      const auto& target = in.as_string(node, fmt::format("{} alias \"{}\"", kind, key.str()));
      if (!std::binary_search(declared.begin(), declared.end(), target)) {
        in.fail_at(node,
                   fmt::format("{} alias \"{}\" names undeclared {} \"{}\" (declared: {})",
                               kind,
                               key.str(),
                               kind,
                               target,
                               quoted_list(declared)));
      }
      merged[alias] = target;
      declared_here[alias] = target;
    }
  }
  out.assign(merged.begin(), merged.end());
  own.assign(declared_here.begin(), declared_here.end());
}

} // namespace

void load_platforms(const TomlReader& in, const toml::table& root, Catalog& catalog)
{
  const auto* table = in.optional_table(root, "platforms", "platforms");
  if (!table) {
    return;
  }
  std::set<std::string> arch_names;
  struct Pending
  {
    Platform platform;
    std::vector<std::string> archs;
    std::optional<std::string> default_arch;
  };
  std::vector<Pending> pending;
  for (auto&& [key, node] : *table) {
    check_name(in, key, "platform");
    const auto where = fmt::format("[platforms.{}]", key.str());
    const auto& t = in.as_table(node, where);
    in.check_keys(t, where, { "archs", "default_arch" });
    const auto* archs_node = t.get("archs");
    if (!archs_node) {
      in.fail_at(t, fmt::format("{} has no \"archs\" (e.g. archs = [\"x86_64\"])", where));
    }
    Pending p;
    p.platform.name = std::string(key.str());
    for (auto& [arch, arch_node] : in.string_array(*archs_node, "archs")) {
      check_name(in, *arch_node, arch, "arch");
      if (std::find(p.archs.begin(), p.archs.end(), arch) != p.archs.end()) {
        in.fail_at(*arch_node, fmt::format("arch \"{}\" is listed twice in {}", arch, where));
      }
      p.archs.push_back(arch);
      arch_names.insert(arch);
    }
    if (p.archs.empty()) {
      in.fail_at(*archs_node, fmt::format("archs of {} must not be empty", where));
    }
    if (const auto* d = t.get("default_arch")) {
      const auto& name = in.as_string(*d, "default_arch");
      if (std::find(p.archs.begin(), p.archs.end(), name) == p.archs.end()) {
        in.fail_at(*d,
                   fmt::format("default_arch \"{}\" is not one of the archs of {} ({})",
                               name,
                               where,
                               quoted_list(p.archs)));
      }
      p.default_arch = name;
    }
    pending.push_back(std::move(p));
  }
  catalog.archs.assign(arch_names.begin(), arch_names.end());
  for (auto& p : pending) {
    for (const auto& arch : p.archs) {
      p.platform.archs.push_back(*catalog.find_arch(arch));
    }
    if (p.default_arch) {
      p.platform.default_arch = catalog.find_arch(*p.default_arch);
    }
    catalog.platforms.push_back(std::move(p.platform));
  }
  std::sort(catalog.platforms.begin(), catalog.platforms.end(), [](auto& a, auto& b) {
    return a.name < b.name;
  });
}

void load_aliases(const TomlReader& in, const toml::table& root, Catalog& catalog)
{
  catalog.platform_aliases = k_builtin_platform_aliases;
  catalog.arch_aliases = k_builtin_arch_aliases;
  const auto* table = in.optional_table(root, "aliases", "aliases");
  if (!table) {
    std::sort(catalog.platform_aliases.begin(), catalog.platform_aliases.end());
    std::sort(catalog.arch_aliases.begin(), catalog.arch_aliases.end());
    return;
  }
  in.check_keys(*table, "[aliases]", { "platform", "arch" });
  std::vector<std::string> platform_names;
  for (const auto& p : catalog.platforms) {
    platform_names.push_back(p.name);
  }
  load_alias_table(
    in, *table, "platform", platform_names, catalog.platform_aliases, catalog.own_platform_aliases);
  load_alias_table(
    in, *table, "arch", catalog.archs, catalog.arch_aliases, catalog.own_arch_aliases);
}

} // namespace agentdl::catalog_detail
