#include "commands.hpp"

#include "interrupt.hpp"
#include "progress.hpp"

#include <agentdl/catalog.hpp>
#include <agentdl/config.hpp>
#include <agentdl/crypto.hpp>
#include <agentdl/fetch/download.hpp>
#include <agentdl/fetch/remote.hpp>
#include <agentdl/location.hpp>
#include <agentdl/output.hpp>
#include <agentdl/resolver.hpp>
#include <agentdl/rfc3339.hpp>
#include <agentdl/token.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <sys/stat.h>
#include <system_error>

namespace agentdl::cli {

namespace fs = std::filesystem;

using fetch::HttpClient;
using fetch::Server;
using fetch::Wanted;

namespace {

Expected<Catalog> load(const std::optional<std::string>& flag)
{
  const auto path = AGENTDL_TRY(find_catalog(flag));
  return load_catalog(path);
}

std::optional<std::string_view> view(const std::optional<std::string>& s)
{
  return s ? std::optional<std::string_view>(*s) : std::nullopt;
}

Query make_query(const QueryOptions& options)
{
  return Query{
    .channel = view(options.channel),
    .version = view(options.version),
    .platform = view(options.platform),
    .arch = view(options.arch),
  };
}

// Returns where `artifact` is handed out as of `now`: signed when the catalog
// signs (libcrypto is loaded for it only then).
Expected<SignedLocation> location(const Catalog& catalog, const Artifact& artifact, SystemTime now)
{
  if (catalog.storage.signer) {
    AGENTDL_TRY(crypto_init());
  }
  return location_of(catalog, artifact, now);
}

// Returns what to download for `query`: from the server, or from the catalog.
Expected<Wanted> find_wanted(HttpClient& client,
                             const std::optional<Server>& server,
                             const DownloadOptions& options)
{
  const auto query = make_query(options.query);
  if (server) {
    auto located = AGENTDL_TRY(fetch::locate(client, *server, query));
    // The token goes to the server's own origin only (CONTRACT section 7).
    auto token = fetch::same_origin(located.url, server->base) ? server->token : std::nullopt;
    return Wanted{ .url = located.url,
                   .filename = url_filename(located.url),
                   .sha256 = std::move(located.sha256),
                   .size = located.size,
                   .bearer_token = std::move(token) };
  }
  const auto catalog = AGENTDL_TRY(load(options.source.config));
  const auto resolution = AGENTDL_TRY(resolve(catalog, query));
  const auto& artifact = *resolution.artifact;
  const auto signed_location =
    AGENTDL_TRY(location(catalog, artifact, std::chrono::system_clock::now()));
  return Wanted{ .url = signed_location.url,
                 .filename = artifact.filename,
                 .sha256 = artifact.sha256,
                 .size = artifact.size,
                 .bearer_token = std::nullopt };
}

// Returns where `wanted` is saved under `options`; fails with Errc::network if
// the file name (which comes from the server) is not a plain file name.
Expected<fs::path> target_path(const Wanted& wanted, const SaveOptions& options)
{
  if (options.output) {
    std::error_code ec;
    if (fs::is_directory(*options.output, ec)) {
      return fail(Errc::usage,
                  fmt::format("-o {} is a folder; give a file name, or save into it with -d {}",
                              *options.output,
                              *options.output));
    }
    return fs::path(*options.output);
  }
  // The name comes from the server: no folders, no hidden files (".profile"),
  // nothing a terminal or a shell script would trip over.
  const auto& name = wanted.filename;
  const bool unusable = name.empty() || name.starts_with('.') || name.ends_with(".part") ||
                        std::ranges::any_of(name, [](char c) {
                          const auto u = static_cast<unsigned char>(c);
                          return u < 0x20 || u == 0x7f || c == '/' || c == '\\';
                        });
  if (unusable) {
    return fail(
      Errc::network,
      fmt::format("the artifact's URL {} does not end in a usable file name; give one with -o FILE",
                  fetch::display_url(wanted.url)));
  }
  return options.directory ? fs::path(*options.directory) / name : fs::path(name);
}

} // namespace

std::string count(std::size_t n, std::string_view noun)
{
  return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s");
}

Expected<void> emit(std::string_view text)
{
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    return fail(Errc::io, "cannot write to standard output");
  }
  return {};
}

Expected<std::optional<Server>> remote_source(const SourceOptions& options)
{
  auto server = AGENTDL_TRY(fetch::find_server(options.server, options.config, options.token_file));
  if (!server && options.token_file) {
    return fail(Errc::usage,
                "--token-file needs a server: give --server URL or set AGENTDL_SERVER");
  }
  return server;
}

void print_error(std::string_view message)
{
  fmt::print(stderr, "agentdl: error: {}\n", message);
}

int exit_status(const Expected<void>& result)
{
  if (result) {
    return EXIT_SUCCESS;
  }
  print_error(result.error().message);
  return exit_code(result.error().code, interrupted());
}

Expected<void> run_resolve(const ResolveOptions& options)
{
  const auto server = AGENTDL_TRY(remote_source(options.source));
  const auto query = make_query(options.query);
  auto now = std::chrono::system_clock::now();
  if (options.now) {
    const auto parsed = parse_rfc3339(*options.now);
    if (!parsed) {
      return fail(Errc::usage,
                  fmt::format("--now \"{}\" is not an RFC 3339 time such as 2026-10-01T12:00:00Z",
                              *options.now));
    }
    now = *parsed;
  }
  if (server) {
    if (options.explain) {
      return fail(Errc::usage, "--explain needs a local catalog");
    }
    if (options.now) {
      return fail(Errc::usage, "--now needs a local catalog: a server signs as of its own time");
    }
    const fetch::CancelToken cancel; // Ctrl-C ends a resolve at once
    auto client = AGENTDL_TRY(HttpClient::create(options.source.http, cancel));
    if (options.json) {
      return emit(AGENTDL_TRY(fetch::describe(client, *server, query)) + "\n");
    }
    return emit(AGENTDL_TRY(fetch::locate(client, *server, query)).url + "\n");
  }
  const auto catalog = load(options.source.config);
  if (!catalog) {
    return std::unexpected(catalog.error());
  }
  if (options.explain) {
    for (const auto& line : explain(*catalog, query)) {
      fmt::print(stderr, "agentdl: {}\n", line);
    }
  }
  const auto resolution = AGENTDL_TRY(resolve(*catalog, query));
  const auto signed_location = AGENTDL_TRY(location(*catalog, *resolution.artifact, now));
  if (options.json) {
    return emit(resolution_json(resolution, signed_location) + "\n");
  }
  return emit(signed_location.url + "\n");
}

Expected<void> run_list(const ListOptions& options)
{
  const auto server = AGENTDL_TRY(remote_source(options.source));
  if (server) {
    const fetch::CancelToken cancel; // Ctrl-C ends a list at once
    auto client = AGENTDL_TRY(HttpClient::create(options.source.http, cancel));
    const auto releases = AGENTDL_TRY(fetch::list_releases(client, *server, view(options.channel)));
    if (options.json) {
      return emit(releases + "\n");
    }
    return emit(AGENTDL_TRY(releases_table(releases)));
  }
  const auto catalog = load(options.source.config);
  if (!catalog) {
    return std::unexpected(catalog.error());
  }
  std::optional<ChannelId> channel;
  if (options.channel) {
    const auto* found = AGENTDL_TRY(find_channel(*catalog, *options.channel));
    channel = static_cast<ChannelId>(found - catalog->channels.data());
  }
  const auto json = releases_json(*catalog, channel);
  if (options.json) {
    return emit(json + "\n");
  }
  return emit(AGENTDL_TRY(releases_table(json)));
}

Expected<void> run_download(const DownloadOptions& options)
{
  // Ctrl-C from here on stops the transfer and keeps the .part.
  fetch::CancelToken cancel;
  const InterruptGuard guard(cancel);
  const auto server = AGENTDL_TRY(remote_source(options.source));
  AGENTDL_TRY(crypto_init());
  auto client = AGENTDL_TRY(HttpClient::create(options.source.http, cancel));
  if (options.save.directory) {
    struct stat st = {};
    const auto& dir = *options.save.directory;
    if (::stat(dir.c_str(), &st) != 0) {
      return fail(Errc::io, fmt::format("cannot save into -d {}: {}", dir, std::strerror(errno)));
    }
    if (!S_ISDIR(st.st_mode)) {
      return fail(Errc::io, fmt::format("cannot save into -d {}: not a folder", dir));
    }
  }
  const auto wanted = find_wanted(client, server, options);
  if (cancel.cancelled()) {
    return fail(Errc::interrupted, "interrupted");
  }
  if (!wanted) {
    return std::unexpected(wanted.error());
  }
  const auto target = AGENTDL_TRY(target_path(*wanted, options.save));
  ProgressBar bar(!options.quiet);
  const auto saved = fetch::download(
    client, *wanted, target, options.save.force ? fetch::Force::yes : fetch::Force::no, bar);
  // Also when the download ended anyway: a signal means stop.
  if (cancel.cancelled()) {
    const auto part = fetch::part_path(target);
    std::error_code ec;
    if (fs::exists(part, ec)) {
      return fail(
        Errc::interrupted,
        fmt::format("interrupted; {} kept: run the same command again to resume", part.string()));
    }
    return fail(Errc::interrupted, "interrupted");
  }
  if (!saved) {
    return std::unexpected(saved.error());
  }
  if (wanted->sha256.empty()) {
    fmt::print(stderr,
               "agentdl: warning: no sha256 known for {}; saved without verifying its content\n",
               wanted->filename);
  }
  return emit(target.string() + "\n");
}

Expected<void> run_check(const CheckOptions& options)
{
  const auto catalog = load(options.config);
  if (!catalog) {
    return std::unexpected(catalog.error());
  }
  std::size_t artifacts = 0;
  for (const auto& release : catalog->releases) {
    artifacts += release.artifacts.size();
  }
  return emit(fmt::format("{}: ok ({}, {}, {}, {})\n",
                          catalog->source,
                          count(catalog->releases.size(), "release"),
                          count(artifacts, "artifact"),
                          count(catalog->channels.size(), "channel"),
                          count(catalog->platforms.size(), "platform")));
}

Expected<void> run_token_new()
{
  AGENTDL_TRY(crypto_init());
  const auto token = AGENTDL_TRY(new_token());
  return emit(fmt::format("token:  {}\nsha256: {}\n", token, sha256_hex(token)));
}

Expected<void> run_token_hash()
{
  std::string input(std::istreambuf_iterator<char>(std::cin), {});
  while (!input.empty() && (input.back() == '\n' || input.back() == '\r')) {
    input.pop_back();
  }
  if (input.empty()) {
    return fail(Errc::usage, "no token on standard input (try: agentdl token hash < token.txt)");
  }
  if (const auto problem = token_problem(input)) {
    return fail(
      Errc::usage,
      fmt::format("the token on standard input {}; give one token on one line", *problem));
  }
  AGENTDL_TRY(crypto_init());
  return emit(sha256_hex(input) + "\n");
}

} // namespace agentdl::cli
