#include <agentdl/catalog/sections.hpp>
#include <agentdl/location.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace agentdl::catalog_detail {

void load_storage(const TomlReader& in, const toml::table& root, Catalog& catalog)
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
  storage.expires = read_duration(in, *table, "expires", "expires", storage.expires);
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

void load_mirror(const TomlReader& in, const toml::table& root, Catalog& catalog)
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

} // namespace agentdl::catalog_detail
