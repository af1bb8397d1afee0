#include "worker.hpp"

#include "listener.hpp"

#include <exception>

namespace agentdl::serve {

Worker::Worker(State& state)
  : m_state(state)
  , m_served(state.served())
  , m_served_generation(state.served_generation())
{
}

Worker::~Worker() = default;

std::optional<std::string> Worker::listen(const tcp::endpoint& endpoint, bool first)
{
  auto listener = std::make_unique<Listener>(*this);
  if (auto failure = listener->open(endpoint, first)) {
    return failure;
  }
  m_listeners.push_back(std::move(listener));
  return std::nullopt;
}

tcp::endpoint Worker::local_endpoint(std::size_t index) const
{
  return m_listeners.at(index)->local_endpoint();
}

void Worker::run()
{
  for (auto& listener : m_listeners) {
    listener->start();
  }
  // A handler that throws must not end the thread, let alone the daemon:
  // log it and go on running.
  while (true) {
    try {
      m_loop.run(Registry::k_sweep_interval, [this] { sweep(); });
      break;
    } catch (const std::exception& e) {
      log_error(fmt::format("unexpected error in a connection handler: {}", e.what()));
    }
  }
  m_registry.close_all(); // what a drain_timeout or a second signal cuts
}

void Worker::drain()
{
  m_loop.post([this] {
    for (auto& listener : m_listeners) {
      listener->stop();
    }
    m_registry.close_idle();
  });
}

void Worker::stop()
{
  m_loop.stop();
}

// Timeouts: the loop ticks every Registry::k_sweep_interval for all the
// worker's connections; a paused listener is retried then too.
void Worker::sweep()
{
  const auto now = Clock::now();
  m_registry.sweep(now);
  for (auto& listener : m_listeners) {
    listener->retry(now);
  }
}

} // namespace agentdl::serve
