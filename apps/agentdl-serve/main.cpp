// agentdl-serve: the redirect API of CONTRACT section 4 over HTTP/1.1.
// This file parses the command line, loads the catalog, and has the single
// top-level catch; the transport starts at run_server (server.cpp).

#include "catalog_poller.hpp"
#include "server.hpp"
#include "state.hpp"

#include <agentdl/build_info.hpp>
#include <agentdl/catalog.hpp>
#include <agentdl/config.hpp>
#include <agentdl/crypto.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <csignal>
#include <cstdlib>
#include <exception>
#include <new>
#include <optional>
#include <string>
#include <vector>

namespace {

using agentdl::Errc;
using agentdl::exit_code;

const std::string k_version = fmt::format("agentdl-serve {}", agentdl::program_version());

void print_error(std::string_view message)
{
  fmt::print(stderr, "agentdl-serve: error: {}\n", message);
}

int serve_main(int argc, char** argv)
{
  CLI::App app{
    "Serve the agentdl redirect API: GET /v2/agent-releases/latest/download?platform=... answers "
    "302 Found with the installer's Location.",
    "agentdl-serve"
  };
  app.set_version_flag("--version", k_version);
  std::optional<std::string> config;
  std::optional<std::string> catalog_url;
  std::vector<std::string> listen;
  bool check = false;
  auto* config_option =
    app
      .add_option("--config",
                  config,
                  "Catalog file (default: the first of $AGENTDL_CONFIG, ./agentdl.toml, "
                  "$XDG_CONFIG_HOME/agentdl/agentdl.toml, /etc/agentdl/agentdl.toml)")
      ->type_name("FILE");
  app
    .add_option("--catalog-url",
                catalog_url,
                "Fetch the catalog from https://..., http://... or s3://BUCKET/KEY (AWS_* "
                "variables) and poll it every [server] catalog_poll; the last good copy is kept "
                "in $STATE_DIRECTORY, else $XDG_STATE_HOME/agentdl, else ~/.local/state/agentdl")
    ->type_name("URL")
    ->excludes(config_option);
  app
    .add_option(
      "--listen",
      listen,
      "Address to listen on, HOST:PORT or [IPv6]:PORT; repeatable; replaces [server] listen")
    ->type_name("HOST:PORT");
  app.add_flag(
    "--check", check, "Validate the catalog and exit: 0 if it loads, 7 with the error if not");
  app.footer(
    "Signals: SIGHUP reloads the catalog and the [server] settings that need no restart, and\n"
    "reopens the access log (a broken file is rejected and the old one kept); SIGTERM and SIGINT\n"
    "stop accepting, finish in-flight requests and exit 0; a second one exits 1 at once.\n"
    "Exit codes: 0 success, 1 stopped before the drain ended, 2 usage error, 5 cannot listen,\n"
    "7 configuration error.\n");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      return app.exit(e);
    }
    print_error(e.what());
    fmt::print(stderr, "Run 'agentdl-serve --help' for usage.\n");
    return exit_code(Errc::usage);
  }

  if (const auto ready = agentdl::crypto_init(); !ready) {
    print_error(ready.error().message);
    return exit_code(ready.error().code);
  }
  agentdl::LoadOptions options;
  std::vector<agentdl::ListenAddress> addresses;
  for (const auto& text : listen) {
    auto address = agentdl::parse_listen_address(text);
    if (!address) {
      print_error(fmt::format("--listen \"{}\" {}", text, address.error()));
      return exit_code(Errc::usage);
    }
    addresses.push_back(std::move(*address));
  }
  if (!listen.empty()) {
    options.listen = listen; // --listen replaces [server] listen, in every load
  }

  // What makes a catalog servable: its mirror root (which must be there to
  // start, and to pass --check) and its access log, opened.
  std::shared_ptr<agentdl::serve::LogFile> log_file;
  const auto open = [&](agentdl::Catalog loaded)
    -> std::expected<std::shared_ptr<const agentdl::serve::Served>, std::string> {
    auto served = agentdl::serve::Served::open(std::move(loaded));
    if (!served || check) {
      return served;
    }
    auto log = agentdl::serve::LogFile::open((*served)->catalog().server.access_log);
    if (!log) {
      return std::unexpected(log.error());
    }
    log_file = std::move(*log);
    return served;
  };
  const auto open_loaded = [&](agentdl::Expected<agentdl::Catalog> loaded)
    -> agentdl::Expected<std::shared_ptr<const agentdl::serve::Served>> {
    if (!loaded) {
      return std::unexpected(std::move(loaded.error()));
    }
    auto served = open(std::move(*loaded));
    if (!served) {
      return agentdl::fail(Errc::config, std::move(served.error()));
    }
    return std::move(*served);
  };

  // The catalog, and what a reload loads: its file, or the store's copy.
  std::string source;
  std::unique_ptr<agentdl::serve::CatalogPoller> poller;
  agentdl::serve::CatalogLoader loader;
  agentdl::Expected<std::shared_ptr<const agentdl::serve::Served>> served =
    agentdl::fail(Errc::internal, "no catalog");
  if (catalog_url) {
    auto where = agentdl::fetch::parse_catalog_url(*catalog_url, agentdl::process_getenv);
    if (!where) {
      print_error(where.error().message);
      return exit_code(where.error().code);
    }
    source = agentdl::fetch::display_url(where->given);
    auto folder = agentdl::state_folder(agentdl::process_getenv);
    if (!folder) {
      print_error(folder.error().message);
      return exit_code(Errc::config);
    }
    // Relative paths in a fetched catalog start where its copy is kept.
    options.folder = *folder;
    auto made = agentdl::serve::CatalogPoller::create(std::move(*where), std::move(*folder));
    if (!made) {
      print_error(made.error().message);
      return exit_code(made.error().code);
    }
    poller = std::move(*made);
    served = check ? open_loaded(poller->check(options)) : poller->load_first(options, open);
    loader = poller->loader();
  } else {
    const auto path = agentdl::find_catalog(config);
    if (!path) {
      print_error(path.error().message);
      return exit_code(Errc::config);
    }
    source = path->string();
    served = open_loaded(agentdl::load_catalog(*path, options));
    loader = [path = *path](const agentdl::LoadOptions& again) {
      return agentdl::load_catalog(path, again);
    };
  }
  if (!served) {
    print_error(served.error().message);
    return exit_code(Errc::config);
  }
  if (check) {
    fmt::print("{}: ok ({} releases)\n", source, (*served)->catalog().releases.size());
    return EXIT_SUCCESS;
  }
  if (addresses.empty()) {
    for (const auto& text : (*served)->catalog().server.listen) {
      addresses.push_back(*agentdl::parse_listen_address(text)); // checked at load
    }
  }

  // A client or log reader that goes away must not kill the server.
  std::signal(SIGPIPE, SIG_IGN);
  agentdl::serve::State state(
    std::move(loader), std::move(*served), std::move(log_file), std::move(options));
  // The poller ends before the state it swaps catalogs into, however this returns.
  struct JoinPoller
  {
    agentdl::serve::CatalogPoller* poller;
    ~JoinPoller()
    {
      if (poller) {
        poller->join();
      }
    }
  } join_poller{ poller.get() };
  agentdl::serve::ServerHooks hooks;
  if (poller) {
    // Polling starts once the server listens (and knows its address).
    hooks.started = [&] { poller->run(state); };
    hooks.reload = [&] { return poller->reload(state); };
    hooks.drain = [&] { poller->stop(); };
  }
  return agentdl::serve::run_server(state, addresses, hooks);
}

} // namespace

int main(int argc, char** argv)
{
  try {
    return serve_main(argc, argv);
  } catch (const std::bad_alloc&) {
    print_error("out of memory");
  } catch (const std::exception& e) {
    print_error(fmt::format(
      "unexpected internal error: {} (a bug in agentdl-serve; please report it)", e.what()));
  } catch (...) {
    print_error("unexpected internal error (a bug in agentdl-serve; please report it)");
  }
  return exit_code(Errc::internal);
}
