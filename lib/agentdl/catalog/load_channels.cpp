#include <agentdl/catalog/sections.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace agentdl::catalog_detail {

std::vector<ChannelNodes> load_channels(const TomlReader& in,
                                        const toml::table& root,
                                        Catalog& catalog)
{
  const auto* table = in.optional_table(root, "channels", "channels");
  if (!table) {
    return {};
  }
  std::vector<std::pair<std::string, const toml::table*>> named;
  for (auto&& [key, node] : *table) {
    check_name(in, key, "channel");
    const auto where = fmt::format("[channels.{}]", key.str());
    const auto& t = in.as_table(node, where);
    in.check_keys(t, where, { "current", "includes" });
    named.emplace_back(std::string(key.str()), &t);
  }
  std::sort(named.begin(), named.end());
  for (const auto& [name, t] : named) {
    auto& channel = catalog.channels.emplace_back();
    channel.name = name;
  }
  std::vector<std::string> names;
  for (const auto& c : catalog.channels) {
    names.push_back(c.name);
  }

  std::vector<ChannelNodes> nodes(named.size());
  for (std::size_t i = 0; i < named.size(); ++i) {
    const auto& t = *named[i].second;
    auto& channel = catalog.channels[i];
    nodes[i].current = t.get("current");
    if (nodes[i].current) {
      in.as_string(*nodes[i].current, "current");
    }
    nodes[i].includes = t.get("includes");
    if (!nodes[i].includes) {
      continue;
    }
    for (auto& [name, node] : in.string_array(*nodes[i].includes, "includes")) {
      const auto id = catalog.find_channel(name);
      if (!id) {
        in.fail_at(*node,
                   fmt::format("channel \"{}\" includes undeclared channel \"{}\" (declared: {})",
                               channel.name,
                               name,
                               quoted_list(names)));
      }
      if (std::find(channel.includes.begin(), channel.includes.end(), *id) !=
          channel.includes.end()) {
        in.fail_at(*node, fmt::format("channel \"{}\" includes \"{}\" twice", channel.name, name));
      }
      channel.includes.push_back(*id);
    }
  }

  // Cycles: a depth-first walk from each channel, keeping the path for the message.
  const auto n = catalog.channels.size();
  enum class Mark
  {
    fresh,
    active,
    done
  };
  std::vector<Mark> marks(n, Mark::fresh);
  std::vector<ChannelId> path;
  const auto visit = [&](auto&& self, ChannelId c) -> void {
    marks[c] = Mark::active;
    path.push_back(c);
    for (const auto next : catalog.channels[c].includes) {
      if (marks[next] == Mark::active) {
        std::vector<std::string> cycle;
        auto from = std::find(path.begin(), path.end(), next);
        for (auto it = from; it != path.end(); ++it) {
          cycle.push_back(catalog.channels[*it].name);
        }
        cycle.push_back(catalog.channels[next].name);
        in.fail_at(*nodes[*from].includes,
                   fmt::format("channel includes form a cycle: {}", fmt::join(cycle, " -> ")));
      }
      if (marks[next] == Mark::fresh) {
        self(self, next);
      }
    }
    path.pop_back();
    marks[c] = Mark::done;
  };
  for (ChannelId c = 0; c < n; ++c) {
    if (marks[c] == Mark::fresh) {
      visit(visit, c);
    }
  }
  for (ChannelId c = 0; c < n; ++c) {
    auto& reaches = catalog.channels[c].reaches;
    reaches.assign(n, false);
    std::vector<ChannelId> stack{ c };
    while (!stack.empty()) {
      const auto at = stack.back();
      stack.pop_back();
      if (reaches[at]) {
        continue;
      }
      reaches[at] = true;
      for (const auto next : catalog.channels[at].includes) {
        stack.push_back(next);
      }
    }
  }
  return nodes;
}

// Resolves `current` pins and each channel's current release.
void resolve_channels(const TomlReader& in,
                      const std::vector<ChannelNodes>& nodes,
                      Catalog& catalog)
{
  for (ChannelId c = 0; c < catalog.channels.size(); ++c) {
    auto& channel = catalog.channels[c];
    if (const auto* node = nodes[c].current) {
      const auto& text = node->as_string()->get();
      auto version = Version::parse(text);
      if (!version) {
        in.fail_at(*node, fmt::format("invalid version \"{}\": {}", text, version.error()));
      }
      const auto index = catalog.find_release(*version);
      if (!index) {
        in.fail_at(*node,
                   fmt::format("channel \"{}\" pins current = \"{}\", but there is no such release",
                               channel.name,
                               text));
      }
      const auto& release = catalog.releases[*index];
      if (release.yanked) {
        in.fail_at(
          *node,
          fmt::format("channel \"{}\" pins current = \"{}\", which is yanked", channel.name, text));
      }
      if (!catalog.in_channel(release, c)) {
        in.fail_at(*node,
                   fmt::format("channel \"{}\" pins current = \"{}\", which is not a release of "
                               "channel \"{}\"",
                               channel.name,
                               text,
                               channel.name));
      }
      channel.pin = index;
      channel.current = index;
      continue;
    }
    for (std::size_t i = 0; i < catalog.releases.size(); ++i) {
      const auto& release = catalog.releases[i];
      if (!release.yanked && catalog.in_channel(release, c)) {
        channel.current = i;
        break;
      }
    }
  }
}

} // namespace agentdl::catalog_detail
