// Finding the catalog file: --config, AGENTDL_CONFIG, then the usual places.
#pragma once

#include <agentdl/error.hpp>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentdl {

// Reads an environment variable; a seam so tests need not change the process's.
using GetEnv = std::function<std::optional<std::string>(std::string_view name)>;

// Tells whether a file exists; a seam for tests.
using FileExists = std::function<bool(const std::filesystem::path&)>;

// Returns the places searched when neither --config nor AGENTDL_CONFIG is
// given: ./agentdl.toml, $XDG_CONFIG_HOME/agentdl/agentdl.toml (default
// ~/.config), /etc/agentdl/agentdl.toml.
std::vector<std::filesystem::path> default_catalog_paths(const GetEnv& getenv);

// Returns the catalog to load: `flag` (--config) if given, else
// AGENTDL_CONFIG, else the first of default_catalog_paths that exists. Fails
// with Errc::config naming the places tried.
Expected<std::filesystem::path> find_catalog(const std::optional<std::string>& flag,
                                             const GetEnv& getenv,
                                             const FileExists& exists);

// Returns the catalog to load as find_catalog above does, with the process's
// environment and the real filesystem (a directory is not a catalog file).
Expected<std::filesystem::path> find_catalog(const std::optional<std::string>& flag);

// Returns the folder agentdl-serve keeps its state in (the last good copy
// of a catalog fetched by URL): the first of $STATE_DIRECTORY's
// colon-separated folders (systemd's StateDirectory=), else
// $XDG_STATE_HOME/agentdl, else ~/.local/state/agentdl. Fails with
// Errc::config when none of these variables is set.
Expected<std::filesystem::path> state_folder(const GetEnv& getenv);

// Reads the real process environment.
std::optional<std::string> process_getenv(std::string_view name);

} // namespace agentdl
