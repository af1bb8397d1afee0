// The loaders of the catalog's sections, one per idea ([platforms] and
// [aliases], [channels], [storage] and [mirror], [server], [auth],
// [[releases]]), and the rules they share. Each reads from a TomlReader into
// the Catalog being built, and throws ReadError at the first problem.
#pragma once

#include <agentdl/catalog.hpp>
#include <agentdl/catalog/toml_reader.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace agentdl::catalog_detail {

// What a platform, arch or channel name may hold.
inline constexpr std::string_view k_name_rule = "lowercase letters, digits, '.', '_' or '-'";

// Tells whether `name` is a valid platform, arch or channel name.
bool is_valid_name(std::string_view name);

// Returns `names` joined by ", ", for messages.
std::string quoted_list(const std::vector<std::string>& names);

// Fails unless `key` is a valid name of a `kind` ("platform", ...).
void check_name(const TomlReader& in, const toml::key& key, std::string_view kind);

// Fails unless `name`, read from `node`, is a valid name of a `kind`.
void check_name(const TomlReader& in,
                const toml::node& node,
                std::string_view name,
                std::string_view kind);

// Returns the duration at `key` ("90s", "15m"), `fallback` if absent.
std::chrono::seconds read_duration(const TomlReader& in,
                                   const toml::table& table,
                                   std::string_view key,
                                   std::string_view what,
                                   std::chrono::seconds fallback);

// Returns the catalog's position of `region`, and back.
SourcePos source_pos(const TomlReader& in, const toml::source_region& region);
Position position(SourcePos pos);

// [platforms] and [aliases] (the built-in aliases, merged with the file's).
void load_platforms(const TomlReader& in, const toml::table& root, Catalog& catalog);
void load_aliases(const TomlReader& in, const toml::table& root, Catalog& catalog);

// The nodes of a channel's `includes` and `current`, for the checks that
// need the releases first.
struct ChannelNodes
{
  const toml::node* includes = nullptr;
  const toml::node* current = nullptr;
};

// [channels]: names, includes (no cycles), what each reaches. Returns the
// nodes resolve_channels needs once the releases are loaded.
std::vector<ChannelNodes> load_channels(const TomlReader& in,
                                        const toml::table& root,
                                        Catalog& catalog);

// Resolves `current` pins and each channel's current release.
void resolve_channels(const TomlReader& in,
                      const std::vector<ChannelNodes>& nodes,
                      Catalog& catalog);

// [storage] and [mirror]; the signer, with its secrets from the environment
// or a file (`options`).
void load_storage(const TomlReader& in,
                  const toml::table& root,
                  Catalog& catalog,
                  const LoadOptions& options);
void load_mirror(const TomlReader& in, const toml::table& root, Catalog& catalog);

// [page].
void load_page(const TomlReader& in, const toml::table& root, Catalog& catalog);

// [server].
// `options.listen` replaces `listen`; public_url defaults to http:// and the
// first listen address.
void load_server(const TomlReader& in,
                 const toml::table& root,
                 Catalog& catalog,
                 const LoadOptions& options);

// [auth] and its [[auth.tokens]] (after the channels).
void load_auth(const TomlReader& in, const toml::table& root, Catalog& catalog);

// Loads the releases of one `releases` array (the whole file's, or one
// block's) into catalog.releases, in file order.
void load_release_array(const TomlReader& in, const toml::node& node, Catalog& catalog);

// Sorts the releases newest first, rejects two of equal precedence, and
// builds the version index.
void finish_releases(const TomlReader& in, Catalog& catalog);

} // namespace agentdl::catalog_detail
