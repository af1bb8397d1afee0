#include <agentdl/catalog.hpp>
#include <agentdl/location.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>
// toml++ is compiled into this file (header-only mode) rather than linked as a
// shared library: one less library for every `agentdl` run to load.
#define TOML_HEADER_ONLY 1
#define TOML_ENABLE_FORMATTERS 0
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <map>
#include <set>
#include <sstream>

namespace agentdl {

namespace {

// An empty slot of Catalog::release_slots.
constexpr std::uint32_t k_no_release = 0xffffffff;

// Thrown inside the loader only, caught by parse_catalog: the first problem
// found ends loading, so nothing half-loaded ever escapes.
struct LoadError
{
  std::string message;
};

constexpr std::string_view k_name_rule = "lowercase letters, digits, '.', '_' or '-'";

const std::vector<std::pair<std::string, std::string>> k_builtin_platform_aliases = {
  { "darwin", "macos" }, { "mac", "macos" },     { "osx", "macos" },
  { "win", "windows" },  { "win32", "windows" },
};
const std::vector<std::pair<std::string, std::string>> k_builtin_arch_aliases = {
  { "aarch64", "arm64" },
  { "amd64", "x86_64" },
  { "x64", "x86_64" },
};

bool is_valid_name(std::string_view s)
{
  if (s.empty() || s.size() > 64) {
    return false;
  }
  const auto ok = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  };
  return std::all_of(s.begin(), s.end(), ok) && s[0] != '.' && s[0] != '-';
}

bool is_hex_digest(std::string_view s)
{
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

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

std::string quoted_list(const std::vector<std::string>& names)
{
  return fmt::format("{}", fmt::join(names, ", "));
}

// Reads one catalog: knows the file name for messages, and how to fetch typed
// values with errors that say where, what is wrong, and what would be right.
class Loader
{
public:
  explicit Loader(std::string_view source)
    : m_source(source)
  {
  }

  [[noreturn]] void fail_at(SourcePos pos, std::string message) const
  {
    throw LoadError{ fmt::format("{}:{}:{}: {}", m_source, pos.line, pos.column, message) };
  }

  [[noreturn]] void fail_at(const toml::node& node, std::string message) const
  {
    fail_at(pos(node.source()), std::move(message));
  }

  // Returns the position of `region` in the file: toml++ counts lines from
  // the start of the text it parsed, which may be one block of the file.
  SourcePos pos(const toml::source_region& region) const
  {
    return { region.begin.line + m_line_offset, region.begin.column };
  }

  // Sets how many lines of the file precede the text being read.
  void set_line_offset(std::uint32_t offset) const { m_line_offset = offset; }

  // Fails on any key of `table` not in `allowed`, naming the table as `where`.
  void check_keys(const toml::table& table,
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

  const toml::table& as_table(const toml::node& node, std::string_view what) const
  {
    if (const auto* t = node.as_table()) {
      return *t;
    }
    fail_at(node, fmt::format("{} must be a table, not {}", what, type_name(node)));
  }

  const toml::table* optional_table(const toml::table& parent,
                                    std::string_view key,
                                    std::string_view what) const
  {
    const auto* node = parent.get(key);
    return node ? &as_table(*node, what) : nullptr;
  }

  const std::string& as_string(const toml::node& node, std::string_view what) const
  {
    if (const auto* s = node.as_string()) {
      return s->get();
    }
    fail_at(node, fmt::format("{} must be a string, not {}", what, type_name(node)));
  }

  const toml::node* get(const toml::table& table, std::string_view key) const
  {
    return table.get(key);
  }

  std::optional<std::string> optional_string(const toml::table& table,
                                             std::string_view key,
                                             std::string_view what) const
  {
    const auto* node = table.get(key);
    if (!node) {
      return std::nullopt;
    }
    return as_string(*node, what);
  }

  std::optional<bool> optional_bool(const toml::table& table,
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

  std::optional<std::int64_t> optional_int(const toml::table& table,
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

  // Returns the strings of array `node` with their nodes (for positions).
  std::vector<std::pair<std::string, const toml::node*>> string_array(const toml::node& node,
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

  // Checks a platform, arch or channel name as declared in the file.
  void check_name(const toml::key& key, std::string_view kind) const
  {
    if (!is_valid_name(key.str())) {
      fail_at(pos(key.source()),
              fmt::format("{} name \"{}\" must be 1 to 64 {}", kind, key.str(), k_name_rule));
    }
  }

  void check_name(const toml::node& node, std::string_view name, std::string_view kind) const
  {
    if (!is_valid_name(name)) {
      fail_at(node, fmt::format("{} name \"{}\" must be 1 to 64 {}", kind, name, k_name_rule));
    }
  }

  std::chrono::seconds duration(const toml::table& table,
                                std::string_view key,
                                std::string_view what,
                                std::chrono::seconds fallback) const
  {
    const auto* node = table.get(key);
    if (!node) {
      return fallback;
    }
    auto parsed = parse_duration(as_string(*node, what));
    if (!parsed) {
      fail_at(*node, fmt::format("{} {}", what, parsed.error()));
    }
    return *parsed;
  }

private:
  std::string_view m_source;
  mutable std::uint32_t m_line_offset = 0;
};

void load_platforms(const Loader& in, const toml::table& root, Catalog& catalog)
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
    in.check_name(key, "platform");
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
      in.check_name(*arch_node, arch, "arch");
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

void load_alias_table(const Loader& in,
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

void load_aliases(const Loader& in, const toml::table& root, Catalog& catalog)
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

// Channel names as written, with the nodes of `includes` and `current` for
// the checks that need the releases first.
struct ChannelNodes
{
  const toml::node* includes = nullptr;
  const toml::node* current = nullptr;
};

std::vector<ChannelNodes> load_channels(const Loader& in, const toml::table& root, Catalog& catalog)
{
  const auto* table = in.optional_table(root, "channels", "channels");
  if (!table) {
    return {};
  }
  std::vector<std::pair<std::string, const toml::table*>> named;
  for (auto&& [key, node] : *table) {
    in.check_name(key, "channel");
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

void load_storage(const Loader& in, const toml::table& root, Catalog& catalog)
{
  const auto* table = in.optional_table(root, "storage", "storage");
  if (!table) {
    return;
  }
  auto& storage = catalog.storage;
  in.check_keys(
    *table, "[storage]", { "base_url", "signing", "expires", "secret_env", "secret_file", "s3" });
  if (const auto* node = table->get("base_url")) {
    const auto& text = in.as_string(*node, "base_url");
    auto url = check_absolute_url(text);
    if (!url) {
      in.fail_at(*node, fmt::format("base_url \"{}\" {}", text, url.error()));
    }
    if (url->find('?') != std::string::npos) {
      in.fail_at(*node, fmt::format("base_url \"{}\" must not have a query ('?')", text));
    }
    storage.base_url = *url;
    if (storage.base_url.back() != '/') {
      storage.base_url += '/';
    }
  }
  if (const auto* node = table->get("signing")) {
    const auto& text = in.as_string(*node, "signing");
    if (text == "none") {
      storage.signing = Signing::none;
    } else if (text == "hmac" || text == "nginx-secure-link" || text == "s3") {
      in.fail_at(*node,
                 fmt::format("signing = \"{}\" is not supported by this version of agentdl "
                             "(supported: none)",
                             text));
    } else {
      in.fail_at(*node,
                 fmt::format("unknown signing \"{}\" (expected one of: none, hmac, "
                             "nginx-secure-link, s3)",
                             text));
    }
  }
  storage.expires = in.duration(*table, "expires", "expires", storage.expires);
  storage.secret_env = in.optional_string(*table, "secret_env", "secret_env").value_or("");
  storage.secret_file = in.optional_string(*table, "secret_file", "secret_file").value_or("");
  if (const auto* s3 = in.optional_table(*table, "s3", "[storage.s3]")) {
    in.check_keys(*s3,
                  "[storage.s3]",
                  { "region",
                    "access_key_id_env",
                    "secret_access_key_env",
                    "session_token_env",
                    "content_disposition" });
    auto& out = storage.s3;
    out.region = in.optional_string(*s3, "region", "region").value_or("");
    out.access_key_id_env = in.optional_string(*s3, "access_key_id_env", "access_key_id_env")
                              .value_or(out.access_key_id_env);
    out.secret_access_key_env =
      in.optional_string(*s3, "secret_access_key_env", "secret_access_key_env")
        .value_or(out.secret_access_key_env);
    out.session_token_env = in.optional_string(*s3, "session_token_env", "session_token_env")
                              .value_or(out.session_token_env);
    out.content_disposition =
      in.optional_bool(*s3, "content_disposition", "content_disposition").value_or(false);
  }
}

void load_server(const Loader& in, const toml::table& root, Catalog& catalog)
{
  const auto* table = in.optional_table(root, "server", "server");
  if (!table) {
    return;
  }
  auto& server = catalog.server;
  in.check_keys(*table,
                "[server]",
                { "listen",
                  "api_prefix",
                  "public_url",
                  "threads",
                  "header_timeout",
                  "idle_timeout",
                  "drain_timeout",
                  "max_connections",
                  "access_log",
                  "metrics" });
  if (const auto* node = table->get("listen")) {
    server.listen.clear();
    for (auto& [address, element] : in.string_array(*node, "listen")) {
      if (auto ok = parse_listen_address(address); !ok) {
        in.fail_at(*element, fmt::format("listen address \"{}\" {}", address, ok.error()));
      }
      server.listen.push_back(address);
    }
    if (server.listen.empty()) {
      in.fail_at(*node, "listen must name at least one address (e.g. [\"127.0.0.1:8080\"])");
    }
  }
  if (const auto* node = table->get("api_prefix")) {
    const auto& prefix = in.as_string(*node, "api_prefix");
    // A prefix is "/" followed by a clean relative path: "/v2", "/api/v2".
    if (prefix.empty() || prefix.front() != '/' || prefix.back() == '/' ||
        !check_relative_path(std::string_view(prefix).substr(1))) {
      in.fail_at(*node,
                 fmt::format("api_prefix \"{}\" must start with '/' and not end with one "
                             "(e.g. \"/v2\")",
                             prefix));
    }
    server.api_prefix = prefix;
  }
  if (const auto* node = table->get("public_url")) {
    const auto& text = in.as_string(*node, "public_url");
    auto url = check_absolute_url(text);
    if (!url) {
      in.fail_at(*node, fmt::format("public_url \"{}\" {}", text, url.error()));
    }
    server.public_url = *url;
    while (!server.public_url.empty() && server.public_url.back() == '/') {
      server.public_url.pop_back();
    }
  }
  server.threads =
    static_cast<unsigned>(in.optional_int(*table, "threads", "threads", 0).value_or(0));
  server.header_timeout =
    in.duration(*table, "header_timeout", "header_timeout", server.header_timeout);
  server.idle_timeout = in.duration(*table, "idle_timeout", "idle_timeout", server.idle_timeout);
  server.drain_timeout =
    in.duration(*table, "drain_timeout", "drain_timeout", server.drain_timeout);
  server.max_connections =
    static_cast<std::size_t>(in.optional_int(*table, "max_connections", "max_connections", 1)
                               .value_or(static_cast<std::int64_t>(server.max_connections)));
  server.access_log = in.optional_string(*table, "access_log", "access_log").value_or("-");
  if (server.access_log.empty()) {
    in.fail_at(*table->get("access_log"), "access_log must be \"-\", a file path, or \"off\"");
  }
  server.metrics = in.optional_bool(*table, "metrics", "metrics").value_or(true);
}

void load_auth(const Loader& in, const toml::table& root, Catalog& catalog)
{
  const auto* table = in.optional_table(root, "auth", "auth");
  if (!table) {
    return;
  }
  auto& auth = catalog.auth;
  in.check_keys(*table, "[auth]", { "mode", "tokens" });
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
        std::vector<std::string> names;
        for (const auto& c : catalog.channels) {
          names.push_back(c.name);
        }
        in.fail_at(*node,
                   fmt::format("token \"{}\" names undeclared channel \"{}\" (declared: {})",
                               entry.name,
                               channel,
                               quoted_list(names)));
      }
      entry.channels.push_back(*id);
    }
    auth.tokens.push_back(std::move(entry));
  }
}

void load_mirror(const Loader& in, const toml::table& root, Catalog& catalog)
{
  const auto* table = in.optional_table(root, "mirror", "mirror");
  if (!table) {
    return;
  }
  in.check_keys(*table, "[mirror]", { "root" });
  const auto* node = table->get("root");
  if (!node) {
    in.fail_at(*table, "[mirror] has no \"root\" (the folder holding the files)");
  }
  catalog.mirror.root = in.as_string(*node, "root");
  if (catalog.mirror.root.empty()) {
    in.fail_at(*node, "mirror root must not be empty");
  }
}

// Loads one [[releases.artifacts]] entry of `release`.
Artifact load_artifact(const Loader& in,
                       const toml::node& node,
                       const Release& release,
                       const Catalog& catalog)
{
  const auto& t = in.as_table(node, "an artifact");
  in.check_keys(
    t, "[[releases.artifacts]]", { "platform", "arch", "path", "url", "sha256", "size" });
  Artifact artifact;
  artifact.pos = in.pos(t.source());

  const auto* platform = t.get("platform");
  if (!platform) {
    in.fail_at(t, fmt::format("artifact of release {} has no \"platform\"", release.version.str()));
  }
  const auto& platform_name = in.as_string(*platform, "platform");
  const auto platform_id = catalog.find_platform(platform_name);
  if (!platform_id) {
    std::vector<std::string> names;
    for (const auto& p : catalog.platforms) {
      names.push_back(p.name);
    }
    in.fail_at(*platform,
               fmt::format("artifact for unknown platform \"{}\" (declared: {})",
                           platform_name,
                           quoted_list(names)));
  }
  artifact.platform = *platform_id;
  const auto& p = catalog.platforms[*platform_id];
  // Built only for a message: this runs once per artifact of a large catalog.
  const auto archs = [&] {
    std::vector<std::string> names;
    for (const auto a : p.archs) {
      names.push_back(catalog.archs[a]);
    }
    return quoted_list(names);
  };

  const auto* arch = t.get("arch");
  if (!arch) {
    in.fail_at(t,
               fmt::format("artifact of release {} has no \"arch\" (platform {} has: {})",
                           release.version.str(),
                           p.name,
                           archs()));
  }
  const auto& arch_name = in.as_string(*arch, "arch");
  const auto arch_id = catalog.find_arch(arch_name);
  if (!arch_id || std::find(p.archs.begin(), p.archs.end(), *arch_id) == p.archs.end()) {
    in.fail_at(*arch,
               fmt::format("artifact for arch \"{}\", which platform {} does not declare ({})",
                           arch_name,
                           p.name,
                           archs()));
  }
  artifact.arch = *arch_id;

  const auto* path = t.get("path");
  const auto* url = t.get("url");
  if (path && url) {
    in.fail_at(t, "artifact has both \"path\" and \"url\" (give one)");
  }
  if (!path && !url) {
    in.fail_at(t,
               "artifact has neither \"path\" (relative to [storage] base_url) nor \"url\" "
               "(absolute)");
  }
  if (path) {
    const auto& text = in.as_string(*path, "path");
    if (auto ok = check_relative_path(text); !ok) {
      in.fail_at(*path, fmt::format("path \"{}\" {}", text, ok.error()));
    }
    artifact.path = text;
    if (!catalog.storage.base_url.empty()) {
      artifact.location = join_url(catalog.storage.base_url, text);
    } else if (!catalog.mirror.root.empty()) {
      artifact.location = join_url(catalog.server.public_url + "/files/", text);
    } else {
      in.fail_at(*path,
                 fmt::format("path \"{}\" needs [storage] base_url (or a [mirror]) to make a "
                             "URL; or give an absolute url",
                             text));
    }
    artifact.filename = text.substr(text.rfind('/') + 1);
  } else {
    const auto& text = in.as_string(*url, "url");
    auto checked = check_absolute_url(text);
    if (!checked) {
      in.fail_at(*url, fmt::format("url \"{}\" {}", text, checked.error()));
    }
    artifact.location = *checked;
    artifact.filename = url_filename(artifact.location);
    if (artifact.filename.empty()) {
      in.fail_at(*url, fmt::format("url \"{}\" does not end with a file name", text));
    }
  }

  if (const auto* digest = t.get("sha256")) {
    const auto& hex = in.as_string(*digest, "sha256");
    if (!is_hex_digest(hex)) {
      in.fail_at(*digest, fmt::format("sha256 \"{}\" is not 64 hexadecimal digits", hex));
    }
    artifact.sha256 = lowercase(hex);
  }
  if (const auto size = in.optional_int(t, "size", "size", 0)) {
    artifact.size = static_cast<std::uint64_t>(*size);
  }
  return artifact;
}

// Loads [[releases]] into catalog.releases, sorted newest first.
// Loads the releases of one `releases` array (the whole file's, or one
// block's) into catalog.releases, in file order.
void load_release_array(const Loader& in, const toml::node& node, Catalog& catalog)
{
  const auto* array = node.as_array();
  if (!array || !array->is_array_of_tables()) {
    in.fail_at(node, "releases must be an array of tables ([[releases]])");
  }
  std::vector<std::string> channel_names;
  for (const auto& c : catalog.channels) {
    channel_names.push_back(c.name);
  }
  for (const auto& element : *array) {
    const auto& t = *element.as_table();
    in.check_keys(
      t, "[[releases]]", { "version", "channels", "published_at", "yanked", "artifacts" });
    Release release;
    release.pos = in.pos(t.source());
    const auto* version = t.get("version");
    if (!version) {
      in.fail_at(t, "release has no \"version\"");
    }
    const auto& text = in.as_string(*version, "version");
    auto parsed = Version::parse(text);
    if (!parsed) {
      in.fail_at(*version, fmt::format("invalid version \"{}\": {}", text, parsed.error()));
    }
    release.version = std::move(*parsed);

    if (const auto* channels = t.get("channels")) {
      for (auto& [name, channel_node] : in.string_array(*channels, "channels")) {
        const auto id = catalog.find_channel(name);
        if (!id) {
          in.fail_at(*channel_node,
                     fmt::format("release {} names undeclared channel \"{}\" (declared: {})",
                                 release.version.str(),
                                 name,
                                 channel_names.empty() ? "none" : quoted_list(channel_names)));
        }
        if (std::find(release.channels.begin(), release.channels.end(), *id) !=
            release.channels.end()) {
          in.fail_at(
            *channel_node,
            fmt::format("release {} lists channel \"{}\" twice", release.version.str(), name));
        }
        release.channels.push_back(*id);
      }
    }
    if (const auto* published = t.get("published_at")) {
      const auto* dt = published->as_date_time();
      if (!dt || !dt->get().offset) {
        in.fail_at(*published,
                   fmt::format("published_at must be a date-time with offset, e.g. "
                               "2026-10-01T12:00:00Z, not {}",
                               type_name(*published)));
      }
      std::ostringstream text_out;
      text_out << dt->get();
      release.published_at = text_out.str();
    }
    release.yanked = in.optional_bool(t, "yanked", "yanked").value_or(false);

    if (const auto* artifacts = t.get("artifacts")) {
      const auto* list = artifacts->as_array();
      if (!list || !list->is_array_of_tables()) {
        in.fail_at(*artifacts, "artifacts must be an array of tables ([[releases.artifacts]])");
      }
      for (const auto& a : *list) {
        auto artifact = load_artifact(in, a, release, catalog);
        for (const auto& other : release.artifacts) {
          if (other.platform == artifact.platform && other.arch == artifact.arch) {
            in.fail_at(artifact.pos,
                       fmt::format("release {} has two artifacts for {}/{} (the other at line {})",
                                   release.version.str(),
                                   catalog.platforms[artifact.platform].name,
                                   catalog.archs[artifact.arch],
                                   other.pos.line));
          }
        }
        release.artifacts.push_back(std::move(artifact));
      }
    }
    catalog.releases.push_back(std::move(release));
  }
}

// Sorts the releases newest first, rejects two of equal precedence, and
// builds the version index.
void finish_releases(const Loader& in, Catalog& catalog)
{
  // Stable: of two releases of equal precedence, the one written first stays first.
  std::stable_sort(catalog.releases.begin(), catalog.releases.end(), [](auto& a, auto& b) {
    return a.version > b.version;
  });
  for (std::size_t i = 1; i < catalog.releases.size(); ++i) {
    const auto& a = catalog.releases[i - 1];
    const auto& b = catalog.releases[i];
    if (a.version == b.version) {
      const auto& later = a.pos.line > b.pos.line ? a : b;
      const auto& earlier = a.pos.line > b.pos.line ? b : a;
      in.fail_at(later.pos,
                 fmt::format("release {} has the same precedence as release {} at line {}",
                             later.version.str(),
                             earlier.version.str(),
                             earlier.pos.line));
    }
  }
  std::size_t capacity = 4;
  while (capacity < 2 * catalog.releases.size()) {
    capacity *= 2;
  }
  catalog.release_slots.assign(capacity, { 0, k_no_release });
  for (std::size_t i = 0; i < catalog.releases.size(); ++i) {
    const auto hash = catalog.releases[i].version.precedence_hash();
    auto slot = hash & (capacity - 1);
    while (catalog.release_slots[slot].second != k_no_release) {
      slot = (slot + 1) & (capacity - 1);
    }
    catalog.release_slots[slot] = { hash, static_cast<std::uint32_t>(i) };
  }
}

// Resolves `current` pins and each channel's current release.
void resolve_channels(const Loader& in, const std::vector<ChannelNodes>& nodes, Catalog& catalog)
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

// Loads everything the releases depend on; returns the channel nodes that
// load_after_releases needs.
std::vector<ChannelNodes> load_before_releases(const Loader& in,
                                               const toml::table& root,
                                               Catalog& catalog)
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
                  "auth",
                  "mirror" });
  load_platforms(in, root, catalog);
  load_aliases(in, root, catalog);
  const auto channel_nodes = load_channels(in, root, catalog);
  if (const auto* node = root.get("default_channel")) {
    const auto& name = in.as_string(*node, "default_channel");
    catalog.default_channel = catalog.find_channel(name);
    if (!catalog.default_channel) {
      in.fail_at(*node, fmt::format("default_channel \"{}\" is not a declared channel", name));
    }
  } else {
    catalog.default_channel = catalog.find_channel("stable");
  }
  load_storage(in, root, catalog);
  load_server(in, root, catalog);
  load_mirror(in, root, catalog);
  return channel_nodes;
}

void load_after_releases(const Loader& in,
                         const toml::table& root,
                         const std::vector<ChannelNodes>& channel_nodes,
                         Catalog& catalog)
{
  in.set_line_offset(0);
  finish_releases(in, catalog);
  resolve_channels(in, channel_nodes, catalog);
  load_auth(in, root, catalog);
}

void load_all(const Loader& in, const toml::table& root, Catalog& catalog)
{
  const auto channel_nodes = load_before_releases(in, root, catalog);
  if (const auto* releases = root.get("releases")) {
    load_release_array(in, *releases, catalog);
  }
  load_after_releases(in, root, channel_nodes, catalog);
}

// One piece of the file for a parse of its own.
struct Block
{
  std::string_view text;
  std::uint32_t line_offset = 0; // lines of the file before it
};

// Tells whether `line` is a table header whose name starts with "releases"
// ([[releases]], [[releases.artifacts]]); sets `release_start` when it is
// exactly [[releases]].
bool is_releases_header(std::string_view line, bool& release_start)
{
  const auto skip = [&] {
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      line.remove_prefix(1);
    }
  };
  skip();
  const bool array = line.starts_with("[[");
  line.remove_prefix(array ? 2 : 1);
  skip();
  if (!line.starts_with("releases")) {
    return false;
  }
  line.remove_prefix(8);
  skip();
  release_start = array && line.starts_with("]]");
  if (release_start) {
    line.remove_prefix(2);
    skip();
    release_start = line.empty() || line.front() == '#' || line.front() == '\r';
  }
  return release_start || (!line.empty() && line.front() == '.');
}

// Splits the file into the part before the first [[releases]] and one block
// per [[releases]], so that each release's TOML tree can be freed once the
// release is built, and toml++'s search over all arrays of tables (linear
// at every header) stays short. Returns nothing when splitting by lines
// could be wrong or gains nothing: a multi-line string (a line in it may look
// like a header), or a table other than the releases' after the first
// release (its keys would belong to the top level).
std::optional<std::vector<Block>> split_blocks(std::string_view text)
{
  if (text.find(R"(""")") != std::string_view::npos || text.find("'''") != std::string_view::npos) {
    return std::nullopt;
  }
  std::vector<Block> blocks{ { text, 0 } };
  std::size_t start = 0; // of the current block
  std::uint32_t line_number = 0;
  for (std::size_t at = 0; at < text.size();) {
    const auto end = std::min(text.find('\n', at), text.size());
    const auto line = text.substr(at, end - at);
    const auto first = line.find_first_not_of(" \t");
    if (first != std::string_view::npos && line[first] == '[') {
      bool release_start = false;
      if (is_releases_header(line, release_start)) {
        if (release_start) {
          blocks.back().text = text.substr(start, at - start);
          blocks.push_back({ text.substr(at), line_number });
          start = at;
        }
      } else if (blocks.size() > 1) {
        return std::nullopt; // a table after the releases began
      }
    }
    at = end + 1;
    ++line_number;
  }
  if (blocks.size() < 3) {
    return std::nullopt; // one release or none: nothing to gain
  }
  return blocks;
}

Error syntax_error(std::string_view source_name,
                   const toml::parse_error& e,
                   std::uint32_t line_offset)
{
  return Error(Errc::config,
               fmt::format("{}:{}:{}: {}",
                           source_name,
                           e.source().begin.line + line_offset,
                           e.source().begin.column,
                           e.description()));
}

// Loads the catalog one block at a time (see split_blocks). Returns nothing
// if a block turns out to hold more than releases: parse the file whole.
std::optional<Expected<Catalog>> parse_blocks(const std::vector<Block>& blocks,
                                              std::string_view source_name)
{
  Loader in(source_name);
  toml::table head;
  try {
    head = toml::parse(blocks[0].text);
  } catch (const toml::parse_error& e) {
    return fail(Errc::config, syntax_error(source_name, e, 0).message);
  }
  if (head.contains("releases")) {
    return std::nullopt;
  }
  Catalog catalog;
  catalog.source = std::string(source_name);
  try {
    const auto channel_nodes = load_before_releases(in, head, catalog);
    catalog.releases.reserve(blocks.size() - 1);
    for (std::size_t i = 1; i < blocks.size(); ++i) {
      toml::table block;
      try {
        block = toml::parse(blocks[i].text);
      } catch (const toml::parse_error& e) {
        return fail(Errc::config, syntax_error(source_name, e, blocks[i].line_offset).message);
      }
      const auto* releases = block.get("releases");
      if (!releases || block.size() != 1) {
        return std::nullopt;
      }
      in.set_line_offset(blocks[i].line_offset);
      load_release_array(in, *releases, catalog);
    }
    load_after_releases(in, head, channel_nodes, catalog);
  } catch (const LoadError& e) {
    return fail(Errc::config, e.message);
  }
  return catalog;
}

std::string canonical(std::string_view name,
                      const std::vector<std::pair<std::string, std::string>>& aliases)
{
  auto lower = lowercase(name);
  const auto it = std::lower_bound(
    aliases.begin(), aliases.end(), lower, [](const auto& entry, const std::string& key) {
      return entry.first < key;
    });
  if (it != aliases.end() && it->first == lower) {
    return it->second;
  }
  return lower;
}

} // namespace

std::string lowercase(std::string_view text)
{
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

const Artifact* Release::find_artifact(PlatformId platform, ArchId arch) const
{
  for (const auto& artifact : artifacts) {
    if (artifact.platform == platform && artifact.arch == arch) {
      return &artifact;
    }
  }
  return nullptr;
}

std::optional<PlatformId> Catalog::find_platform(std::string_view name) const
{
  for (std::size_t i = 0; i < platforms.size(); ++i) {
    if (platforms[i].name == name) {
      return static_cast<PlatformId>(i);
    }
  }
  return std::nullopt;
}

std::optional<ArchId> Catalog::find_arch(std::string_view name) const
{
  const auto it = std::lower_bound(archs.begin(), archs.end(), name);
  if (it != archs.end() && *it == name) {
    return static_cast<ArchId>(it - archs.begin());
  }
  return std::nullopt;
}

std::optional<ChannelId> Catalog::find_channel(std::string_view name) const
{
  const auto it = std::lower_bound(channels.begin(),
                                   channels.end(),
                                   name,
                                   [](const Channel& c, std::string_view n) { return c.name < n; });
  if (it != channels.end() && it->name == name) {
    return static_cast<ChannelId>(it - channels.begin());
  }
  return std::nullopt;
}

std::optional<std::size_t> Catalog::find_release(const Version& version) const
{
  if (release_slots.empty()) {
    return std::nullopt;
  }
  const auto mask = release_slots.size() - 1;
  const auto hash = version.precedence_hash();
  for (auto slot = hash & mask;; slot = (slot + 1) & mask) {
    const auto [slot_hash, index] = release_slots[slot];
    if (index == k_no_release) {
      return std::nullopt;
    }
    if (slot_hash == hash && releases[index].version == version) {
      return index;
    }
  }
}

bool Catalog::in_channel(const Release& release, ChannelId channel) const
{
  const auto& reaches = channels[channel].reaches;
  return std::any_of(
    release.channels.begin(), release.channels.end(), [&](ChannelId c) { return reaches[c]; });
}

std::string Catalog::canonical_platform(std::string_view name) const
{
  return canonical(name, platform_aliases);
}

std::string Catalog::canonical_arch(std::string_view name) const
{
  return canonical(name, arch_aliases);
}

Expected<Catalog> parse_catalog(std::string_view text, std::string_view source_name)
{
  if (const auto blocks = split_blocks(text)) {
    if (auto loaded = parse_blocks(*blocks, source_name)) {
      return std::move(*loaded);
    }
  }
  Loader in(source_name);
  toml::table root;
  try {
    // No source path: toml++ would give every node a shared_ptr to it, and
    // messages here name the file themselves.
    root = toml::parse(text);
  } catch (const toml::parse_error& e) {
    return fail(Errc::config, syntax_error(source_name, e, 0).message);
  }
  Catalog catalog;
  catalog.source = std::string(source_name);
  try {
    load_all(in, root, catalog);
  } catch (const LoadError& e) {
    return fail(Errc::config, e.message);
  }
  return catalog;
}

Expected<Catalog> load_catalog(const std::filesystem::path& path)
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
  return parse_catalog(content, path.string());
}

std::expected<std::chrono::seconds, std::string> parse_duration(std::string_view text)
{
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  const auto bad = [&] {
    return std::unexpected(fmt::format(
      "\"{}\" is not a duration (a positive whole number and a unit: 90s, 15m, 1h, 7d)", text));
  };
  if (ec != std::errc{} || end == text.data() || n == 0 || n > 100'000'000) {
    return bad();
  }
  if (unit == "s") {
    return std::chrono::seconds(n);
  }
  if (unit == "m") {
    return std::chrono::minutes(n);
  }
  if (unit == "h") {
    return std::chrono::hours(n);
  }
  if (unit == "d") {
    return std::chrono::days(n);
  }
  return bad();
}

std::string_view signing_name(Signing signing)
{
  switch (signing) {
    case Signing::none:
      return "none";
    case Signing::hmac:
      return "hmac";
    case Signing::nginx_secure_link:
      return "nginx-secure-link";
    case Signing::s3:
      return "s3";
  }
  return "none";
}

std::expected<ListenAddress, std::string> parse_listen_address(std::string_view text)
{
  ListenAddress out;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::unexpected("must be [IPv6]:PORT, e.g. [::1]:8080");
    }
    out.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      return std::unexpected("must be HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080");
    }
    out.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  }
  if (out.host.empty()) {
    return std::unexpected("has no host (use 0.0.0.0 or [::] for all addresses)");
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535) {
    return std::unexpected("has no valid port (0 to 65535)");
  }
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

} // namespace agentdl
