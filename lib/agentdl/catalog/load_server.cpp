#include <agentdl/catalog/sections.hpp>
#include <agentdl/location.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace agentdl::catalog_detail {

void load_server(const TomlReader& in,
                 const toml::table& root,
                 Catalog& catalog,
                 const LoadOptions& options)
{
  auto& server = catalog.server;
  const auto* table = in.optional_table(root, "server", "server");
  if (options.listen) {
    server.listen = *options.listen;
  }
  // Links to this server's /files/ default to the first address it listens on.
  const auto default_public_url = [&] {
    return "http://" +
           (options.bound_address.empty() ? server.listen.front() : options.bound_address);
  };
  server.public_url = default_public_url();
  if (!table) {
    return;
  }
  in.check_keys(*table,
                "[server]",
                { "listen",
                  "api_prefix",
                  "public_url",
                  "threads",
                  "header_timeout",
                  "idle_timeout",
                  "drain_timeout",
                  "catalog_poll",
                  "max_connections",
                  "defer_accept",
                  "access_log",
                  "metrics" });
  if (const auto* node = table->get("listen"); node && !options.listen) {
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
    server.public_url = default_public_url();
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
    read_duration(in, *table, "header_timeout", "header_timeout", server.header_timeout);
  server.idle_timeout =
    read_duration(in, *table, "idle_timeout", "idle_timeout", server.idle_timeout);
  server.drain_timeout =
    read_duration(in, *table, "drain_timeout", "drain_timeout", server.drain_timeout);
  server.catalog_poll =
    read_duration(in, *table, "catalog_poll", "catalog_poll", server.catalog_poll);
  if (server.catalog_poll > std::chrono::days(1)) {
    in.fail_at(*table->get("catalog_poll"), "catalog_poll must be at most 1d");
  }
  server.max_connections =
    static_cast<std::size_t>(in.optional_int(*table, "max_connections", "max_connections", 1)
                               .value_or(static_cast<std::int64_t>(server.max_connections)));
  server.defer_accept =
    in.optional_bool(*table, "defer_accept", "defer_accept").value_or(server.defer_accept);
  server.access_log = in.optional_string(*table, "access_log", "access_log").value_or("-");
  if (server.access_log.empty()) {
    in.fail_at(*table->get("access_log"), "access_log must be \"-\", a file path, or \"off\"");
  }
  server.metrics = in.optional_bool(*table, "metrics", "metrics").value_or(true);
}

} // namespace agentdl::catalog_detail

namespace agentdl::catalog_detail {

void load_page(const TomlReader& in, const toml::table& root, Catalog& catalog)
{
  const auto* table = in.optional_table(root, "page", "page");
  if (!table) {
    return;
  }
  in.check_keys(*table, "[page]", { "enabled" });
  catalog.page.enabled = in.optional_bool(*table, "enabled", "[page] enabled").value_or(true);
}

} // namespace agentdl::catalog_detail
