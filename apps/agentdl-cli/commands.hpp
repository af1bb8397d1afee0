// The `agentdl` subcommands: each takes its parsed options, prints its output,
// and returns its error, if any; exit_status() prints that and chooses the
// process exit code.
#pragma once

#include <agentdl/error.hpp>
#include <agentdl/fetch/http.hpp>
#include <agentdl/fetch/remote.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentdl::cli {

// Where the releases come from: a server (--server, $AGENTDL_SERVER) or a
// catalog file (--config and the search of CONTRACT section 7).
struct SourceOptions
{
  std::optional<std::string> config;
  std::optional<std::string> server;
  std::optional<std::string> token_file;
  fetch::HttpSettings http;
};

// What a resolve or a download asks for.
struct QueryOptions
{
  std::optional<std::string> channel;
  std::optional<std::string> version;
  std::optional<std::string> platform;
  std::optional<std::string> arch;
};

struct ResolveOptions
{
  SourceOptions source;
  QueryOptions query;
  bool json = false;
  bool explain = false;
  std::optional<std::string> now; // --now: sign as of this RFC 3339 time
};

struct ListOptions
{
  SourceOptions source;
  std::optional<std::string> channel;
  bool json = false;
};

// Where a download is saved.
struct SaveOptions
{
  std::optional<std::string> output;    // -o FILE
  std::optional<std::string> directory; // -d DIR
  bool force = false;                   // download even if the target is already the artifact
};

struct DownloadOptions
{
  SourceOptions source;
  QueryOptions query;
  SaveOptions save;
  bool quiet = false; // no progress bar, even on a terminal
};

struct CheckOptions
{
  std::optional<std::string> config;
};

struct MirrorSyncOptions
{
  SourceOptions source;
  std::string dest;                   // --dest DIR
  std::vector<std::string> channels;  // --channel, repeatable
  std::vector<std::string> platforms; // --platform, repeatable
  std::vector<std::string> archs;     // --arch, repeatable
  std::optional<std::string> since;   // --since VERSION
  unsigned jobs = 4;                  // --jobs: transfers at once
  bool prune = false;
  bool quiet = false; // no progress, even on a terminal
};

// Prints the URL (or the JSON object) of the artifact `options` asks for.
Expected<void> run_resolve(const ResolveOptions& options);

// Prints the catalog's releases, newest first.
Expected<void> run_list(const ListOptions& options);

// Downloads the artifact `options` asks for, verified, and prints its path.
Expected<void> run_download(const DownloadOptions& options);

// Loads the catalog and says whether it is valid.
Expected<void> run_check(const CheckOptions& options);

// Copies the upstream's artifacts into a mirror's folder, verified, and
// writes its catalog (CONTRACT section 6); prints a summary.
Expected<void> run_mirror_sync(const MirrorSyncOptions& options);

// Prints a new random token and its sha256.
Expected<void> run_token_new();

// Reads a token from standard input and prints its sha256.
Expected<void> run_token_hash();

// Returns the server `options` name, or nullopt for a local catalog; fails
// with Errc::usage for --token-file without a server.
Expected<std::optional<fetch::Server>> remote_source(const SourceOptions& options);

// Returns "1 release", "2 releases": `n` and `noun`, plural but for one.
std::string count(std::size_t n, std::string_view noun);

// Writes `text` to stdout; a failed write (a closed pipe, a full disk) is an error.
Expected<void> emit(std::string_view text);

// Prints `message` as "agentdl: error: MESSAGE" on stderr.
void print_error(std::string_view message);

// Returns the process exit code for `result` (the contract's table; 128 + the
// signal for an interruption), after printing its error, if any. main.cpp
// ends each command, and each error of its own, through here.
int exit_status(const Expected<void>& result);

} // namespace agentdl::cli
