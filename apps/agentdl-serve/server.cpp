// Shaped like nginx: `threads` workers, each a thread with its own epoll
// loop, its own listening socket per address (SO_REUSEPORT) and its own
// connections (worker.cpp, listener.cpp, session.cpp); the main thread only
// waits for signals (Asio's signal_set): SIGHUP (reload) and SIGTERM/SIGINT
// (drain).

#include "server.hpp"

#include "transport.hpp"
#include "worker.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>
namespace agentdl::serve {

namespace {

// Returns "1 connection", "3 connections".
std::string connections(std::int64_t count)
{
  return fmt::format("{} connection{}", count, count == 1 ? "" : "s");
}

// Resolves "host" of a listen address to one endpoint (numeric, or a name
// such as "localhost").
std::optional<tcp::endpoint> resolve_endpoint(net::io_context& ioc,
                                              const ListenAddress& address,
                                              std::string& error)
{
  beast::error_code ec;
  const auto ip = net::ip::make_address(address.host, ec);
  if (!ec) {
    return tcp::endpoint(ip, address.port);
  }
  tcp::resolver resolver(ioc);
  const auto results = resolver.resolve(address.host, std::to_string(address.port), ec);
  if (ec || results.empty()) {
    error = ec ? ec.message() : "no address";
    return std::nullopt;
  }
  return results.begin()->endpoint();
}

} // namespace

int run_server(State& state, const std::vector<ListenAddress>& listen, const ServerHooks& hooks)
{
  const auto& settings = state.start_settings();
  const auto threads =
    settings.threads > 0 ? settings.threads : std::max(1U, std::thread::hardware_concurrency());
  // The main thread's own loop: signals and the drain's timer, never a request.
  net::io_context control(1);
  // Installed before anything is announced: a SIGHUP or SIGTERM sent as soon as
  // "listening on" appears is queued for the handler, never the default action.
  net::signal_set signals(control, SIGHUP, SIGTERM, SIGINT);

  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned i = 0; i < threads; ++i) {
    workers.push_back(std::make_unique<Worker>(state));
    if (auto failure = workers.back()->open()) {
      log_error(fmt::format("error: cannot start a worker: {}", *failure));
      return exit_code(Errc::internal);
    }
  }
  std::vector<std::string> listening; // the addresses bound, as announced
  for (std::size_t index = 0; index < listen.size(); ++index) {
    const auto& address = listen[index];
    const auto text = address.host.find(':') != std::string::npos
                        ? fmt::format("[{}]:{}", address.host, address.port)
                        : fmt::format("{}:{}", address.host, address.port);
    std::string error;
    auto endpoint = resolve_endpoint(control, address, error);
    if (!endpoint) {
      log_error(fmt::format("error: cannot listen on {}: {}", text, error));
      return exit_code(Errc::network);
    }
    for (auto& worker : workers) {
      const bool first = &worker == &workers.front();
      if (auto failure = worker->listen(*endpoint, first)) {
        log_error(fmt::format("error: cannot listen on {}: {}", text, *failure));
        return exit_code(Errc::network);
      }
      if (first) {
        *endpoint = worker->local_endpoint(index); // port 0 made real, for the others to share
      }
    }
    listening.push_back(endpoint_text(*endpoint));
  }

  const auto drain_all = [&] {
    for (auto& worker : workers) {
      worker->drain();
    }
  };
  const auto stop_all = [&] {
    for (auto& worker : workers) {
      worker->stop();
    }
    control.stop();
  };
  net::steady_timer drain_timer(control);
  Clock::time_point drain_deadline;
  int status = 0; // the exit code: 1 when a second signal cut the drain short
  std::function<void()> check_drained = [&] {
    if (state.metrics().connections() == 0) {
      stop_all();
      return;
    }
    if (Clock::now() >= drain_deadline) {
      log_error(fmt::format("drain_timeout reached: closing {}",
                            connections(state.metrics().connections())));
      stop_all();
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(20));
    drain_timer.async_wait([&](beast::error_code ec) {
      if (!ec) {
        check_drained();
      }
    });
  };
  std::function<void(beast::error_code, int)> on_signal = [&](beast::error_code ec, int signal) {
    if (ec) {
      return;
    }
    signals.async_wait(on_signal); // every signal is ours, a second SIGTERM too
    if (signal == SIGHUP) {
      // Loading may take a while on a large catalog; the workers go on serving.
      const auto report = hooks.reload ? hooks.reload() : state.reload();
      if (!report) {
        log_error(
          fmt::format("reload failed, still serving the previous catalog: {}", report.error()));
        return;
      }
      log_reload(*report,
                 fmt::format("reloaded the catalog: {} releases", report->releases),
                 [&](const std::string& key) {
                   if (key == "threads") {
                     return fmt::format("running {} thread{}", threads, threads == 1 ? "" : "s");
                   }
                   if (key == "defer_accept") {
                     return std::string(settings.defer_accept ? "deferring accepts"
                                                              : "accepting without deferring");
                   }
                   return fmt::format("listening on {}", fmt::join(listening, ", "));
                 });
      return;
    }
    const auto name = signal == SIGTERM ? "SIGTERM" : "SIGINT";
    if (state.draining()) {
      // The operator will not wait for the drain: stop now.
      log_error(fmt::format("{} during the drain: exiting now, cutting {}",
                            name,
                            connections(state.metrics().connections())));
      status = exit_code(Errc::internal);
      stop_all();
      return;
    }
    const auto drain_timeout = state.drain_timeout();
    log_error(fmt::format("{}: draining connections (up to {})", name, drain_timeout));
    state.start_draining();
    if (hooks.drain) {
      hooks.drain();
    }
    drain_all();
    drain_deadline = Clock::now() + drain_timeout;
    check_drained();
  };
  signals.async_wait(on_signal);

  // Links to this server's /files/ follow the address really bound (port 0
  // made real), before any request is answered.
  if (const auto bound = state.set_bound_address(listening.front()); !bound) {
    log_error(fmt::format("error: {}", bound.error()));
    return exit_code(Errc::config);
  }
  if (hooks.started) {
    hooks.started();
  }
  std::vector<std::thread> pool;
  for (auto& worker : workers) {
    pool.emplace_back([&worker = *worker] { worker.run(); });
  }
  for (const auto& address : listening) {
    log_error(fmt::format("listening on {}", address));
  }
  control.run();
  for (auto& thread : pool) {
    thread.join();
  }
  log_error(status == 0 ? "stopped" : "stopped before the drain ended");
  return status;
}

} // namespace agentdl::serve
