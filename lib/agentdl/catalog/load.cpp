#include <agentdl/catalog/blocks.hpp>
#include <agentdl/catalog/parse.hpp>
#include <agentdl/catalog/sections.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace agentdl {

namespace catalog_detail {

namespace {

// Blocks worth reading one at a time: with one release or none there is
// nothing to gain over one parse.
constexpr std::size_t k_min_blocks = 3;

std::filesystem::path catalog_folder(std::string_view source_name, const LoadOptions& options)
{
  return options.folder.empty() ? std::filesystem::path(source_name).parent_path() : options.folder;
}

void load_default_channel(const TomlReader& in, const toml::table& root, Catalog& catalog)
{
  if (const auto* node = root.get("default_channel")) {
    const auto& name = in.as_string(*node, "default_channel");
    catalog.default_channel = catalog.find_channel(name);
    if (!catalog.default_channel) {
      in.fail_at(*node, fmt::format("default_channel \"{}\" is not a declared channel", name));
    }
  } else {
    catalog.default_channel = catalog.find_channel("stable");
  }
}

// Loads everything the releases depend on; returns the channel nodes that
// load_after_releases needs.
std::vector<ChannelNodes> load_before_releases(const TomlReader& in,
                                               const toml::table& root,
                                               Catalog& catalog,
                                               const LoadOptions& options)
{
  in.check_keys(root,
                "the catalog",
                { "default_channel",
                  "platforms",
                  "aliases",
                  "channels",
                  "storage",
                  "releases",
                  "server",
                  "page",
                  "auth",
                  "mirror" });
  load_platforms(in, root, catalog);
  load_aliases(in, root, catalog);
  auto channel_nodes = load_channels(in, root, catalog);
  load_default_channel(in, root, catalog);
  load_server(in, root, catalog, options); // before storage: hmac links sign under public_url
  load_page(in, root, catalog);
  load_storage(in, root, catalog, options);
  load_mirror(in, root, catalog);
  return channel_nodes;
}

void load_after_releases(const TomlReader& in,
                         const toml::table& root,
                         const std::vector<ChannelNodes>& channel_nodes,
                         Catalog& catalog)
{
  in.set_line_offset(0);
  finish_releases(in, catalog);
  resolve_channels(in, channel_nodes, catalog);
  load_auth(in, root, catalog);
}

std::optional<Expected<Catalog>> parse_blocks(const std::vector<Block>& blocks,
                                              std::string_view source_name,
                                              const LoadOptions& options)
{
  TomlReader in(source_name);
  toml::table head;
  try {
    head = toml::parse(blocks[0].text);
  } catch (const toml::parse_error& e) {
    return fail(Errc::config, syntax_error(source_name, e));
  }
  if (head.contains("releases")) {
    return std::nullopt;
  }
  Catalog catalog;
  catalog.source = std::string(source_name);
  catalog.folder = catalog_folder(source_name, options);
  try {
    const auto channel_nodes = load_before_releases(in, head, catalog, options);
    catalog.releases.reserve(blocks.size() - 1);
    for (std::size_t i = 1; i < blocks.size(); ++i) {
      toml::table block;
      try {
        block = toml::parse(blocks[i].text);
      } catch (const toml::parse_error& e) {
        return fail(Errc::config, syntax_error(source_name, e, blocks[i].line_offset));
      }
      const auto* releases = block.get("releases");
      if (!releases || block.size() != 1) {
        return std::nullopt;
      }
      in.set_line_offset(blocks[i].line_offset);
      load_release_array(in, *releases, catalog);
    }
    load_after_releases(in, head, channel_nodes, catalog);
  } catch (const ReadError& e) {
    return fail(Errc::config, e.message);
  }
  return catalog;
}

} // namespace

Expected<Catalog> parse_whole(std::string_view text,
                              std::string_view source_name,
                              const LoadOptions& options)
{
  TomlReader in(source_name);
  toml::table root;
  try {
    // No source path: toml++ would give every node a shared_ptr to it, and
    // messages here name the file themselves.
    root = toml::parse(text);
  } catch (const toml::parse_error& e) {
    return fail(Errc::config, syntax_error(source_name, e));
  }
  Catalog catalog;
  catalog.source = std::string(source_name);
  catalog.folder = catalog_folder(source_name, options);
  try {
    const auto channel_nodes = load_before_releases(in, root, catalog, options);
    if (const auto* releases = root.get("releases")) {
      load_release_array(in, *releases, catalog);
    }
    load_after_releases(in, root, channel_nodes, catalog);
  } catch (const ReadError& e) {
    return fail(Errc::config, e.message);
  }
  return catalog;
}

std::optional<Expected<Catalog>> parse_in_blocks(std::string_view text,
                                                 std::string_view source_name,
                                                 const LoadOptions& options)
{
  const auto blocks = split_blocks(text);
  if (!blocks) {
    return std::nullopt;
  }
  return parse_blocks(*blocks, source_name, options);
}

} // namespace catalog_detail

Expected<Catalog> parse_catalog(std::string_view text,
                                std::string_view source_name,
                                const LoadOptions& options)
{
  if (const auto blocks = catalog_detail::split_blocks(text);
      blocks && blocks->size() >= catalog_detail::k_min_blocks) {
    if (auto loaded = catalog_detail::parse_blocks(*blocks, source_name, options)) {
      return std::move(*loaded);
    }
  }
  return catalog_detail::parse_whole(text, source_name, options);
}

Expected<Catalog> load_catalog(const std::filesystem::path& path, const LoadOptions& options)
{
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return fail(Errc::config,
                fmt::format("{}: cannot read: is a directory, not a catalog file", path.string()));
  }
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) {
    return fail(Errc::config,
                fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
  }
  // One read of the known size: a large catalog is read at disk speed, not
  // through a growing stringstream.
  std::string content(static_cast<std::size_t>(file.tellg()), '\0');
  file.seekg(0);
  file.read(content.data(), static_cast<std::streamsize>(content.size()));
  if (!file) {
    return fail(Errc::config,
                fmt::format("{}: cannot read: {}", path.string(), std::strerror(errno)));
  }
  return parse_catalog(content, path.string(), options);
}

} // namespace agentdl
