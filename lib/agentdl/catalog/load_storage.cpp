#include <agentdl/catalog/sections.hpp>
#include <agentdl/location.hpp>
#include <agentdl/signing/hmac.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace agentdl::catalog_detail {

namespace {

// The longest expiry S3 accepts for a presigned URL (SigV4: 7 days).
constexpr std::chrono::seconds k_s3_max_expires = std::chrono::days(7);

// Returns the value of the environment variable `name`, which `node` names;
// fails (naming the variable, never a value) if it is unset or empty.
std::string required_env(const TomlReader& in,
                         const toml::node& node,
                         const GetEnv& getenv,
                         std::string_view name,
                         std::string_view what)
{
  const auto value = getenv(name);
  if (!value) {
    in.fail_at(node, fmt::format("{}: environment variable {} is not set", what, name));
  }
  if (value->empty()) {
    in.fail_at(node, fmt::format("{}: environment variable {} is empty", what, name));
  }
  return *value;
}

// Returns the secrets in the file `path` (relative to `catalog_folder`), one
// per line; blank lines are skipped.
std::vector<std::string> read_secret_file(const TomlReader& in,
                                          const toml::node& node,
                                          const std::string& path,
                                          const std::filesystem::path& catalog_folder)
{
  auto full = std::filesystem::path(path);
  if (full.is_relative()) {
    full = catalog_folder / full;
  }
  std::error_code ec;
  if (std::filesystem::is_directory(full, ec)) {
    in.fail_at(node, fmt::format("cannot read secret_file \"{}\": is a directory", path));
  }
  std::ifstream file(full, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  if (!file || file.bad()) {
    in.fail_at(node, fmt::format("cannot read secret_file \"{}\": {}", path, std::strerror(errno)));
  }
  std::vector<std::string> secrets;
  std::string line;
  while (std::getline(text, line)) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (!line.empty()) {
      secrets.push_back(std::move(line));
    }
  }
  if (secrets.empty()) {
    in.fail_at(node, fmt::format("secret_file \"{}\" holds no secret", path));
  }
  return secrets;
}

// Returns the secrets of `hmac` or `nginx-secure-link`: from secret_file (one
// per line), or secret_env then previous_secret_env. The first signs.
std::vector<std::string> read_secrets(const TomlReader& in,
                                      const toml::table& table,
                                      const StorageSettings& storage,
                                      const GetEnv& getenv,
                                      const std::filesystem::path& catalog_folder)
{
  const auto* env = table.get("secret_env");
  const auto* file = table.get("secret_file");
  const auto* previous = table.get("previous_secret_env");
  const auto scheme = signing_name(storage.signing);
  if (env && file) {
    in.fail_at(*file,
               fmt::format("signing = \"{}\" takes secret_env or secret_file, not both", scheme));
  }
  if (!env && !file) {
    in.fail_at(table,
               fmt::format("signing = \"{}\" needs a secret: secret_env = \"VARIABLE\" or "
                           "secret_file = \"PATH\"",
                           scheme));
  }
  std::vector<std::string> secrets;
  if (file) {
    secrets = read_secret_file(in, *file, storage.secret_file, catalog_folder);
  } else {
    secrets.push_back(required_env(in, *env, getenv, storage.secret_env, "secret_env"));
  }
  if (previous) {
    secrets.push_back(
      required_env(in, *previous, getenv, storage.previous_secret_env, "previous_secret_env"));
  }
  return secrets;
}

void make_signer(const TomlReader& in,
                 const toml::table& table,
                 StorageSettings& storage,
                 const GetEnv& getenv,
                 const std::filesystem::path& catalog_folder,
                 const std::string& public_url)
{
  const auto* expires_node = table.get("expires");
  switch (storage.signing) {
    case Signing::none:
      for (const auto* key :
           { "expires", "secret_env", "previous_secret_env", "secret_file", "s3" }) {
        if (const auto* node = table.get(key)) {
          in.fail_at(*node,
                     fmt::format("{} is for signed locations, but signing is \"none\"", key));
        }
      }
      return;
    case Signing::s3: {
      for (const auto* key : { "secret_env", "previous_secret_env", "secret_file" }) {
        if (const auto* node = table.get(key)) {
          in.fail_at(*node,
                     fmt::format("{} is for hmac and nginx-secure-link; signing = \"s3\" reads "
                                 "the AWS variables ([storage.s3])",
                                 key));
        }
      }
      if (storage.expires > k_s3_max_expires) {
        in.fail_at(expires_node ? *expires_node : static_cast<const toml::node&>(table),
                   fmt::format("expires = \"{}s\" is longer than S3 allows for a presigned URL "
                               "(at most 7d)",
                               storage.expires.count()));
      }
      const auto& s3 = storage.s3;
      const toml::node& where =
        table.get("s3") ? *table.get("s3") : static_cast<const toml::node&>(table);
      S3Signing settings;
      settings.access_key_id =
        required_env(in, where, getenv, s3.access_key_id_env, "signing = \"s3\"");
      settings.secret_access_key =
        required_env(in, where, getenv, s3.secret_access_key_env, "signing = \"s3\"");
      settings.session_token = getenv(s3.session_token_env).value_or("");
      settings.region = s3.region;
      for (const auto* name : { "AWS_REGION", "AWS_DEFAULT_REGION" }) {
        if (settings.region.empty()) {
          settings.region = getenv(name).value_or("");
        }
      }
      if (settings.region.empty()) {
        in.fail_at(where,
                   "signing = \"s3\" needs a region: [storage.s3] region = \"us-east-1\", or "
                   "AWS_REGION");
      }
      settings.expires = storage.expires;
      settings.content_disposition = s3.content_disposition;
      storage.signer = make_s3_signer(std::move(settings));
      return;
    }
    case Signing::nginx_secure_link: {
      if (const auto* node = table.get("s3")) {
        in.fail_at(*node, "[storage.s3] is for signing = \"s3\"");
      }
      auto secrets = read_secrets(in, table, storage, getenv, catalog_folder);
      storage.signer = make_nginx_secure_link_signer(std::move(secrets.front()), storage.expires);
      return;
    }
    case Signing::hmac: {
      if (const auto* node = table.get("s3")) {
        in.fail_at(*node, "[storage.s3] is for signing = \"s3\"");
      }
      auto secrets = read_secrets(in, table, storage, getenv, catalog_folder);
      storage.link_verifier = std::make_shared<const HmacVerifier>(secrets);
      storage.signer = make_hmac_signer(std::move(secrets), storage.expires, public_url);
      return;
    }
  }
}

} // namespace

void load_storage(const TomlReader& in,
                  const toml::table& root,
                  Catalog& catalog,
                  const LoadOptions& options)
{
  const auto* table = in.optional_table(root, "storage", "storage");
  if (!table) {
    return;
  }
  auto& storage = catalog.storage;
  in.check_keys(
    *table,
    "[storage]",
    { "base_url", "signing", "expires", "secret_env", "previous_secret_env", "secret_file", "s3" });
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
    } else if (text == "hmac") {
      storage.signing = Signing::hmac;
    } else if (text == "nginx-secure-link") {
      storage.signing = Signing::nginx_secure_link;
    } else if (text == "s3") {
      storage.signing = Signing::s3;
    } else {
      in.fail_at(*node,
                 fmt::format("unknown signing \"{}\" (expected one of: none, hmac, "
                             "nginx-secure-link, s3)",
                             text));
    }
  }
  storage.expires = read_duration(in, *table, "expires", "expires", storage.expires);
  storage.secret_env = in.optional_string(*table, "secret_env", "secret_env").value_or("");
  storage.previous_secret_env =
    in.optional_string(*table, "previous_secret_env", "previous_secret_env").value_or("");
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
  const auto getenv = options.getenv ? options.getenv : GetEnv(process_getenv);
  make_signer(in, *table, storage, getenv, catalog.folder, catalog.server.public_url);
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
  auto& mirror = catalog.mirror;
  mirror.root = in.as_string(*node, "root");
  if (mirror.root.empty()) {
    in.fail_at(*node, "mirror root must not be empty");
  }
  mirror.pos = source_pos(in, node->source());
  // Like a relative secret_file: from the catalog's folder, so that a
  // mirror's `root = "."` means the folder its agentdl.toml is in, whatever
  // folder the daemon was started from. Absolute, so that messages say
  // which folder it is; not normalized, since ".." after a symbolic link is
  // not where a textual ".." removal would point.
  mirror.root_path = catalog.folder / mirror.root;
  std::error_code ec;
  if (auto absolute = std::filesystem::absolute(mirror.root_path, ec); !ec) {
    mirror.root_path = std::move(absolute);
  }
}

} // namespace agentdl::catalog_detail
