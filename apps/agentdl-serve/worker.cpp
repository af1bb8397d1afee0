#include "worker.hpp"

#include "listener.hpp"

#include <boost/asio/post.hpp>

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
  auto listener = std::make_shared<Listener>(*this);
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
  sweep();
  // A handler that throws must not end the thread, let alone the daemon:
  // log it and go on running (io_context::run may be called again).
  while (true) {
    try {
      m_ioc.run();
      return;
    } catch (const std::exception& e) {
      log_error(fmt::format("unexpected error in a connection handler: {}", e.what()));
    }
  }
}

void Worker::drain()
{
  net::post(m_ioc, [this] {
    for (auto& listener : m_listeners) {
      listener->stop();
    }
    m_registry.close_idle();
  });
}

void Worker::stop()
{
  m_ioc.stop();
}

// Timeouts: one timer per worker for all its connections, ticking a few
// times a second.
void Worker::sweep()
{
  m_registry.sweep(Clock::now());
  m_sweeper.expires_after(Registry::k_sweep_interval);
  m_sweeper.async_wait([this](beast::error_code ec) {
    if (!ec) {
      sweep();
    }
  });
}

} // namespace agentdl::serve
