// The transport of agentdl-serve: listeners, connections, signals. Asio and
// Beast stay inside server.cpp.
#pragma once

#include "state.hpp"

#include <agentdl/catalog.hpp>

#include <vector>

namespace agentdl::serve {

// Binds every address of `listen`, then serves until SIGTERM or SIGINT has
// drained the connections. Returns the exit code: 0 after a drain, 5 if an
// address cannot be bound (with the reason on stderr).
int run_server(State& state, const std::vector<ListenAddress>& listen);

} // namespace agentdl::serve
