// agentdl: resolve an agent installer's URL from a catalog (see CONTRACT section 7).
// This file parses the command line and holds the single top-level catch.

#include "commands.hpp"

#include <agentdl/build_info.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>
#include <exception>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

const std::string k_version = fmt::format("agentdl {}", agentdl::program_version());

constexpr const char* k_config_help =
  "Catalog file (default: the first of $AGENTDL_CONFIG, ./agentdl.toml, "
  "$XDG_CONFIG_HOME/agentdl/agentdl.toml (or ~/.config/agentdl/agentdl.toml), "
  "/etc/agentdl/agentdl.toml)";

// --config where a server may be the source: a flag beats any environment
// variable, so --config beats $AGENTDL_SERVER.
constexpr const char* k_source_config_help =
  "Read the catalog FILE, even if $AGENTDL_SERVER is set (default: ask $AGENTDL_SERVER if "
  "set, else read the first of $AGENTDL_CONFIG, ./agentdl.toml, "
  "$XDG_CONFIG_HOME/agentdl/agentdl.toml (or ~/.config/agentdl/agentdl.toml), "
  "/etc/agentdl/agentdl.toml)";

constexpr const char* k_usage_hint = "Run 'agentdl --help' or 'agentdl COMMAND --help' for usage.";

constexpr const char* k_exit_codes = R"(Exit codes:
  0  success
  1  unexpected internal error
  2  usage error or invalid parameters
  3  not found
  4  authentication or permission
  5  network or server error
  6  integrity: checksum or size mismatch
  7  configuration error (the catalog fails to load or validate)
)";

// Tells whether the command line is `agentdl COMMAND --version` and nothing
// else: the one place where resolve's and download's --version (which takes a
// release) prints agentdl's version instead.
bool only_version_flag(int argc, char** argv)
{
  return argc == 3 && std::string_view(argv[2]) == "--version";
}

// Tells whether `--version` is given without a value: `--version --platform
// macos`, as a script with an empty $VERSION would write it.
bool version_without_value(int argc, char** argv)
{
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--version") {
      return i + 1 == argc || argv[i + 1][0] == '-' || argv[i + 1][0] == '\0';
    }
  }
  return false;
}

// Checks the command words (`agentdl token new`) before CLI11 parses, whose
// messages for a missing or unknown command ("A subcommand is required") do
// not name the word. Returns the error message, if any.
std::optional<std::string> check_command_words(int argc, char** argv, CLI::App& app)
{
  CLI::App* level = &app;
  std::string path = "agentdl";
  for (int i = 1;; ++i) {
    const auto subcommands = level->get_subcommands({});
    if (subcommands.empty()) {
      return std::nullopt;
    }
    std::vector<std::string> names;
    for (const auto* sub : subcommands) {
      names.push_back(sub->get_name());
    }
    if (i == argc) {
      return fmt::format("no command given to {} (commands: {})", path, fmt::join(names, ", "));
    }
    const std::string_view word = argv[i];
    if (word.starts_with('-')) {
      if (word == "-h" || word == "--help" || word == "--help-all" || word == "--version") {
        return std::nullopt;
      }
      return fmt::format("unknown option \"{}\": options follow the command", word);
    }
    CLI::App* next = nullptr;
    for (auto* sub : subcommands) {
      if (sub->get_name() == word) {
        next = sub;
      }
    }
    if (!next) {
      return fmt::format("unknown command \"{}\" (commands: {})", word, fmt::join(names, ", "));
    }
    level = next;
    path += " " + std::string(word);
  }
}

// Prints `message` as a command-line error, with the usage hint; returns the
// exit code.
int usage_error(std::string message)
{
  const int code =
    agentdl::cli::exit_status(agentdl::fail(agentdl::Errc::usage, std::move(message)));
  fmt::print(stderr, "{}\n", k_usage_hint);
  return code;
}

// Adds --server, --token-file and --config (a server's options exclude a
// catalog), --connect-timeout and --retries to `command`.
void add_source_options(CLI::App* command, agentdl::cli::SourceOptions& options)
{
  auto* config =
    command->add_option("--config", options.config, k_source_config_help)->type_name("FILE");
  command
    ->add_option("--server",
                 options.server,
                 "Ask the agentdl server at URL, the API base (e.g. https://api.example.com/v2), "
                 "instead of a catalog (default: $AGENTDL_SERVER, unless --config is given)")
    ->type_name("URL")
    ->excludes(config);
  command
    ->add_option("--token-file",
                 options.token_file,
                 "Read the server's bearer token from FILE (default: $AGENTDL_TOKEN)")
    ->type_name("FILE")
    ->excludes(config);
  command
    ->add_option(
      "--connect-timeout", options.http.connect_timeout, "Seconds allowed to connect to a server")
    ->type_name("SECONDS")
    ->default_val(options.http.connect_timeout)
    ->check(CLI::PositiveNumber);
  command
    ->add_option("--retries",
                 options.http.retries,
                 "Retry a failed connection or a 5xx answer N times, waiting 1 s, 2 s, 4 s, ...")
    ->type_name("N")
    ->default_val(options.http.retries)
    ->check(CLI::Range(0, 100));
}

// Adds --channel, --version, --platform and --arch to `command`; returns
// --version, which alone prints agentdl's version.
CLI::Option* add_query_options(CLI::App* command, agentdl::cli::QueryOptions& query)
{
  auto* channel = command
                    ->add_option("--channel",
                                 query.channel,
                                 "Release channel (default: the catalog's default_channel)")
                    ->type_name("C");
  auto* version = command
                    ->add_option("--version",
                                 query.version,
                                 "Release version (e.g. 1.8.3); alone: print agentdl's version")
                    ->type_name("V")
                    ->expected(0, 1);
  channel->excludes(version);
  command->add_option("--platform", query.platform, "Platform, e.g. windows, macos")
    ->type_name("P");
  command
    ->add_option(
      "--arch",
      query.arch,
      "Architecture, e.g. arm64, x86_64 (may be omitted when the platform has a default_arch)")
    ->type_name("A");
  return version;
}

int agentdl_main(int argc, char** argv)
{
  using namespace agentdl::cli;

  CLI::App app{ "Resolve agent installers: print the download URL of the installer for a "
                "channel or version, platform and arch.",
                "agentdl" };
  app.set_version_flag("--version", k_version);
  app.require_subcommand(1);
  app.footer(k_exit_codes);

  ResolveOptions resolve;
  auto* resolve_cmd = app.add_subcommand("resolve", "Print the URL of an installer");
  add_source_options(resolve_cmd, resolve.source);
  auto* resolve_version = add_query_options(resolve_cmd, resolve.query);
  resolve_cmd->add_flag(
    "--json",
    resolve.json,
    "Print one JSON object: version, channel, platform, arch, url, filename, sha256, size "
    "(and expires_at for a signed url)");
  resolve_cmd
    ->add_option("--now",
                 resolve.now,
                 "Sign the URL as of this time, RFC 3339 (e.g. 2026-10-01T12:00:00Z), not the "
                 "current one (local catalog)")
    ->type_name("TIME");
  resolve_cmd->add_flag(
    "--explain",
    resolve.explain,
    "Tell on stderr which releases were considered and why each was passed over (local catalog)");
  resolve_cmd->footer(k_exit_codes);

  DownloadOptions download;
  auto* download_cmd = app.add_subcommand(
    "download", "Download an installer, verify its size and sha256, and print where it is");
  add_source_options(download_cmd, download.source);
  auto* download_version = add_query_options(download_cmd, download.query);
  auto* output_opt = download_cmd
                       ->add_option("-o,--output",
                                    download.save.output,
                                    "Save as FILE (default: the artifact's file name)")
                       ->type_name("FILE");
  download_cmd
    ->add_option(
      "-d,--directory", download.save.directory, "Save into DIR under the artifact's file name")
    ->type_name("DIR")
    ->excludes(output_opt);
  download_cmd->add_flag(
    "--force", download.save.force, "Download even if the file is already the verified artifact");
  download_cmd->add_flag("-q,--quiet", download.quiet, "No progress bar, even on a terminal");
  download_cmd
    ->add_option("--speed-limit",
                 download.source.http.speed_limit,
                 "Give up a transfer slower than BYTES per second for --speed-time seconds")
    ->type_name("BYTES")
    ->default_val(download.source.http.speed_limit)
    ->check(CLI::PositiveNumber);
  download_cmd->add_option("--speed-time", download.source.http.speed_time, "See --speed-limit")
    ->type_name("SECONDS")
    ->default_val(download.source.http.speed_time)
    ->check(CLI::PositiveNumber);
  download_cmd
    ->add_option(
      "--max-redirects", download.source.http.max_redirects, "Follow at most N redirects")
    ->type_name("N")
    ->default_val(download.source.http.max_redirects)
    ->check(CLI::NonNegativeNumber);
  download_cmd->footer(
    std::string(k_exit_codes) +
    "  130 interrupted (Ctrl-C); the .part file is kept and resumed next time\n");

  ListOptions list;
  auto* list_cmd = app.add_subcommand("list", "List the releases, newest first");
  add_source_options(list_cmd, list.source);
  list_cmd
    ->add_option("--channel",
                 list.channel,
                 "Only the releases of this channel (with the channels it includes)")
    ->type_name("C");
  list_cmd->add_flag("--json", list.json, "Print {\"releases\":[...]} as JSON");
  list_cmd->set_version_flag("--version", k_version);

  CheckOptions check;
  auto* check_cmd = app.add_subcommand("check", "Validate a catalog (exit 0, or 7 with the error)");
  check_cmd->add_option("--config", check.config, k_config_help)->type_name("FILE");
  check_cmd->set_version_flag("--version", k_version);

  auto* token_cmd =
    app.add_subcommand("token", "Make bearer tokens for agentdl-serve's [[auth.tokens]]");
  token_cmd->require_subcommand(1);
  token_cmd->set_version_flag("--version", k_version);
  auto* token_new = token_cmd->add_subcommand("new", "Print a new random token and its sha256");
  token_new->set_version_flag("--version", k_version);
  auto* token_hash =
    token_cmd->add_subcommand("hash", "Read a token from standard input and print its sha256");
  token_hash->set_version_flag("--version", k_version);

  MirrorSyncOptions mirror;
  auto* mirror_cmd = app.add_subcommand("mirror", "Keep a local mirror of the installers");
  mirror_cmd->require_subcommand(1);
  mirror_cmd->set_version_flag("--version", k_version);
  auto* sync_cmd = mirror_cmd->add_subcommand(
    "sync",
    "Copy the upstream's installers into DIR/VERSION/PLATFORM/ARCH/, verified, and write "
    "DIR/agentdl.toml, a catalog agentdl-serve serves them from");
  sync_cmd->set_version_flag("--version", k_version);
  add_source_options(sync_cmd, mirror.source);
  sync_cmd->add_option("--dest", mirror.dest, "The mirror's folder (made if missing)")
    ->type_name("DIR")
    ->required();
  sync_cmd
    ->add_option("--channel",
                 mirror.channels,
                 "Only the releases of channel C and of the channels it includes (repeatable)")
    ->type_name("C")
    ->expected(1)
    ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sync_cmd->add_option("--platform", mirror.platforms, "Only the files for platform P (repeatable)")
    ->type_name("P")
    ->expected(1)
    ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sync_cmd->add_option("--arch", mirror.archs, "Only the files for arch A (repeatable)")
    ->type_name("A")
    ->expected(1)
    ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sync_cmd
    ->add_option("--since",
                 mirror.since,
                 "Only versions at or above V, by precedence (each channel's current release "
                 "is mirrored whatever its version)")
    ->type_name("V");
  sync_cmd->add_option("--jobs", mirror.jobs, "Download N files at once")
    ->type_name("N")
    ->default_val(mirror.jobs)
    ->check(CLI::Range(1, 64));
  sync_cmd->add_flag("--prune",
                     mirror.prune,
                     "Remove the files an earlier sync fetched that the upstream no longer lists");
  sync_cmd->add_flag("-q,--quiet", mirror.quiet, "No progress line, even on a terminal");
  sync_cmd->footer(std::string(k_exit_codes) +
                   "  130 interrupted (Ctrl-C); the .part files are kept and resumed next time\n");

  if (auto message = check_command_words(argc, argv, app)) {
    return usage_error(std::move(*message));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return usage_error(e.what());
  }

  for (const auto* version_opt : { resolve_version, download_version }) {
    if (version_opt->count() > 0 && only_version_flag(argc, argv)) {
      fmt::print("{}\n", k_version);
      return exit_status({});
    }
    if (version_opt->count() > 0 && version_without_value(argc, argv)) {
      return usage_error("--version needs a release version, e.g. --version 1.8.3 (alone, "
                         "'agentdl --version' prints agentdl's own)");
    }
  }
  if (resolve_cmd->parsed()) {
    return exit_status(run_resolve(resolve));
  }
  if (download_cmd->parsed()) {
    return exit_status(run_download(download));
  }
  if (list_cmd->parsed()) {
    return exit_status(run_list(list));
  }
  if (check_cmd->parsed()) {
    return exit_status(run_check(check));
  }
  if (sync_cmd->parsed()) {
    return exit_status(run_mirror_sync(mirror));
  }
  if (token_new->parsed()) {
    return exit_status(run_token_new());
  }
  if (token_hash->parsed()) {
    return exit_status(run_token_hash());
  }
  throw std::logic_error("the command line was parsed, but no command ran");
}

} // namespace

int main(int argc, char** argv)
{
  using agentdl::Errc;
  using agentdl::cli::exit_status;
  try {
    return agentdl_main(argc, argv);
  } catch (const std::bad_alloc&) {
    agentdl::cli::print_error("out of memory");
    return agentdl::exit_code(Errc::internal);
  } catch (const std::exception& e) {
    return exit_status(agentdl::fail(
      Errc::internal,
      fmt::format("unexpected internal error: {} (a bug in agentdl; please report it)", e.what())));
  } catch (...) {
    return exit_status(agentdl::fail(
      Errc::internal, "unexpected internal error (a bug in agentdl; please report it)"));
  }
}
