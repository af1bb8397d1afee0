// The transport of agentdl-serve, from main's side: run_server binds the
// addresses, runs the threads, the deadline sweeper and the signals, and
// drains. Free of Asio and Beast, which stay in the transport's own files.
#pragma once

#include "state.hpp"

#include <agentdl/catalog.hpp>

#include <expected>
#include <functional>
#include <string>
#include <vector>

namespace agentdl::serve {

// What the server also does at its start and on signals: --catalog-url's poller.
struct ServerHooks
{
  // Called once the server listens, before it serves.
  std::function<void()> started;
  // SIGHUP's reload in place of state.reload(), when set.
  std::function<std::expected<ReloadReport, std::string>()> reload;
  // Called when SIGTERM or SIGINT starts the drain.
  std::function<void()> drain;
};

// Binds every address of `listen`, then serves until SIGTERM or SIGINT has
// drained the connections. Returns the exit code: 0 after a drain, 5 if an
// address cannot be bound (with the reason on stderr).
int run_server(State& state,
               const std::vector<ListenAddress>& listen,
               const ServerHooks& hooks = {});

} // namespace agentdl::serve
