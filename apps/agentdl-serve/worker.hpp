// One serving thread of agentdl-serve, shaped like an nginx worker: its own
// epoll loop (event_loop.hpp), its own listening socket on each address
// (SO_REUSEPORT: the kernel spreads new connections over the workers), its
// own sessions with their deadline sweeper, and its own copy of the served
// catalog. A request touches nothing another worker writes but State's
// counters.
#pragma once

#include "answer_cache.hpp"
#include "event_loop.hpp"
#include "registry.hpp"
#include "state.hpp"
#include "transport.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace agentdl::serve {

class Listener;

class Worker
{
public:
  explicit Worker(State& state);

  // Creates the worker's epoll loop; the error says why it could not.
  std::optional<std::string> open() { return m_loop.open(); }
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Opens a listening socket on `endpoint`, sharing the port with the other
  // workers' (SO_REUSEPORT). The first worker to open an address passes
  // `first`: its socket is bound before it joins the port's group, so that
  // an address another process already listens on fails with "Address
  // already in use" instead of silently sharing the port. The error says
  // why it could not.
  std::optional<std::string> listen(const tcp::endpoint& endpoint, bool first);

  // Returns the address the listener `index` bound (its port, when 0 was asked for).
  tcp::endpoint local_endpoint(std::size_t index) const;

  // Serves until stop(): accepts, answers, sweeps deadlines. Call on the
  // worker's own thread; a handler that throws is logged and run() goes on.
  // The sessions still open are closed when it returns.
  void run();

  // From any thread: stops accepting and closes the idle connections; the
  // others finish their request first.
  void drain();

  // From any thread: makes run() return, whatever is left.
  void stop();

  // For the worker's sessions and listeners.
  EventLoop& loop() { return m_loop; }
  State& state() { return m_state; }
  Registry& registry() { return m_registry; }

  // Returns the catalog to answer a request with, loaded again only after a
  // reload swapped it. A reference: the worker keeps it until its next
  // request starts, on this same thread.
  const Served& served()
  {
    if (const auto generation = m_state.served_generation(); generation != m_served_generation) {
      m_served = m_state.served();
      m_served_generation = generation;
    }
    return *m_served;
  }
  // Returns the generation of served() (State::served_generation()).
  std::uint64_t served_generation() const { return m_served_generation; }

  // The redirects this worker answered lately (answer_cache.hpp).
  AnswerCache& answers() { return m_answers; }

private:
  void sweep();

  State& m_state;
  Registry m_registry;
  EventLoop m_loop;
  std::vector<std::unique_ptr<Listener>> m_listeners;
  std::shared_ptr<const Served> m_served;
  std::uint64_t m_served_generation;
  AnswerCache m_answers;
};

} // namespace agentdl::serve
