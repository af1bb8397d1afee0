#include <agentdl/config.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdlib>

namespace agentdl {

std::vector<std::filesystem::path> default_catalog_paths(const GetEnv& getenv)
{
  std::vector<std::filesystem::path> paths{ "./agentdl.toml" };
  const auto xdg = getenv("XDG_CONFIG_HOME");
  if (xdg && !xdg->empty()) {
    paths.push_back(std::filesystem::path(*xdg) / "agentdl" / "agentdl.toml");
  } else if (const auto home = getenv("HOME"); home && !home->empty()) {
    paths.push_back(std::filesystem::path(*home) / ".config" / "agentdl" / "agentdl.toml");
  }
  paths.emplace_back("/etc/agentdl/agentdl.toml");
  return paths;
}

Expected<std::filesystem::path> state_folder(const GetEnv& getenv)
{
  if (const auto systemd = getenv("STATE_DIRECTORY"); systemd && !systemd->empty()) {
    return std::filesystem::path(systemd->substr(0, systemd->find(':')));
  }
  // A relative XDG_STATE_HOME is to be ignored (XDG Base Directory).
  if (const auto xdg = getenv("XDG_STATE_HOME"); xdg && !xdg->empty() && xdg->front() == '/') {
    return std::filesystem::path(*xdg) / "agentdl";
  }
  if (const auto home = getenv("HOME"); home && !home->empty()) {
    return std::filesystem::path(*home) / ".local" / "state" / "agentdl";
  }
  return fail(Errc::config, "no folder for the state: set STATE_DIRECTORY, XDG_STATE_HOME or HOME");
}

Expected<std::filesystem::path> find_catalog(const std::optional<std::string>& flag,
                                             const GetEnv& getenv,
                                             const FileExists& exists)
{
  if (flag) {
    return std::filesystem::path(*flag);
  }
  if (const auto env = getenv("AGENTDL_CONFIG"); env && !env->empty()) {
    return std::filesystem::path(*env);
  }
  const auto paths = default_catalog_paths(getenv);
  for (const auto& path : paths) {
    if (exists(path)) {
      return path;
    }
  }
  std::vector<std::string> tried;
  for (const auto& path : paths) {
    tried.push_back(path.string());
  }
  return fail(Errc::config,
              fmt::format("no catalog found (tried {}); give --config FILE or set AGENTDL_CONFIG",
                          fmt::join(tried, ", ")));
}

Expected<std::filesystem::path> find_catalog(const std::optional<std::string>& flag)
{
  return find_catalog(flag, process_getenv, [](const std::filesystem::path& path) {
    std::error_code ec;
    return std::filesystem::is_regular_file(path, ec);
  });
}

std::optional<std::string> process_getenv(std::string_view name)
{
  const char* value = std::getenv(std::string(name).c_str());
  if (!value) {
    return std::nullopt;
  }
  return std::string(value);
}

} // namespace agentdl
