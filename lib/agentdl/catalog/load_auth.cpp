#include <agentdl/catalog/sections.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>

namespace agentdl::catalog_detail {

void load_auth(const TomlReader& in, const toml::table& root, Catalog& catalog)
{
  const auto* table = in.optional_table(root, "auth", "auth");
  if (!table) {
    return;
  }
  auto& auth = catalog.auth;
  in.check_keys(*table, "[auth]", { "mode", "tokens", "public_channels" });
  if (const auto* node = table->get("mode")) {
    const auto& mode = in.as_string(*node, "mode");
    if (mode == "required") {
      auth.mode = AuthMode::required;
    } else if (mode == "none") {
      auth.mode = AuthMode::none;
    } else {
      in.fail_at(*node, fmt::format("unknown auth mode \"{}\" (expected required or none)", mode));
    }
  }
  const auto declared = [&] {
    std::vector<std::string> names;
    for (const auto& c : catalog.channels) {
      names.push_back(c.name);
    }
    return quoted_list(names);
  };
  if (const auto* node = table->get("public_channels")) {
    for (auto& [channel, element] : in.string_array(*node, "public_channels")) {
      const auto id = catalog.find_channel(channel);
      if (!id) {
        in.fail_at(*element,
                   fmt::format("public_channels names undeclared channel \"{}\" (declared: {})",
                               channel,
                               declared()));
      }
      if (std::find(auth.public_channels.begin(), auth.public_channels.end(), *id) ==
          auth.public_channels.end()) {
        auth.public_channels.push_back(*id);
      }
    }
  }
  const auto* tokens = table->get("tokens");
  if (!tokens) {
    return;
  }
  const auto* array = tokens->as_array();
  if (!array || !array->is_array_of_tables()) {
    in.fail_at(*tokens, "auth.tokens must be an array of tables ([[auth.tokens]])");
  }
  for (const auto& element : *array) {
    const auto& t = *element.as_table();
    in.check_keys(t, "[[auth.tokens]]", { "name", "sha256", "channels" });
    TokenEntry entry;
    const auto* name = t.get("name");
    if (!name) {
      in.fail_at(t, "[[auth.tokens]] entry has no \"name\"");
    }
    entry.name = in.as_string(*name, "name");
    if (entry.name.empty()) {
      in.fail_at(*name, "token name must not be empty");
    }
    for (const auto& other : auth.tokens) {
      if (other.name == entry.name) {
        in.fail_at(*name, fmt::format("two tokens are named \"{}\"", entry.name));
      }
    }
    const auto* digest = t.get("sha256");
    if (!digest) {
      in.fail_at(t,
                 fmt::format("token \"{}\" has no \"sha256\" (make one with: agentdl token new)",
                             entry.name));
    }
    const auto& hex = in.as_string(*digest, "sha256");
    if (!is_hex_digest(hex)) {
      in.fail_at(
        *digest,
        fmt::format("sha256 \"{}\" of token \"{}\" is not 64 hexadecimal digits", hex, entry.name));
    }
    for (std::size_t i = 0; i < entry.sha256.size(); ++i) {
      std::from_chars(hex.data() + 2 * i, hex.data() + 2 * i + 2, entry.sha256[i], 16);
    }
    const auto* channels = t.get("channels");
    if (!channels) {
      in.fail_at(
        t,
        fmt::format("token \"{}\" has no \"channels\" (e.g. [\"stable\"], or [\"*\"] for all)",
                    entry.name));
    }
    for (auto& [channel, node] : in.string_array(*channels, "channels")) {
      if (channel == "*") {
        entry.all_channels = true;
        continue;
      }
      const auto id = catalog.find_channel(channel);
      if (!id) {
        in.fail_at(*node,
                   fmt::format("token \"{}\" names undeclared channel \"{}\" (declared: {})",
                               entry.name,
                               channel,
                               declared()));
      }
      entry.channels.push_back(*id);
    }
    auth.tokens.push_back(std::move(entry));
  }
}

} // namespace agentdl::catalog_detail
