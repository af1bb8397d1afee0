// Accepting connections on one address, for one worker of agentdl-serve: a
// session per connection, a 503 past max_connections, and retrying after
// EMFILE.
#pragma once

#include "event_loop.hpp"
#include "transport.hpp"

#include <agentdl/unique_fd.hpp>

#include <optional>
#include <string>

namespace agentdl::serve {

class Worker;

// Accepts connections on one address, for as long as the server runs: one
// accept4() per event on a level-triggered socket, as nginx does, so no
// accept ends in EAGAIN.
class Listener final : public Watched
{
public:
  // Makes a listener whose sessions run on `worker`.
  explicit Listener(Worker& worker);

  // Opens and binds `endpoint` as Worker::listen says; the error says why
  // it could not.
  std::optional<std::string> open(const tcp::endpoint& endpoint, bool first);

  // Returns the address bound (its port, when 0 was asked for).
  tcp::endpoint local_endpoint() const;

  // Starts accepting connections; on the worker's thread.
  void start();

  // Stops accepting (a drain): closes the socket. On the worker's thread.
  void stop();

  // Starts accepting again if an error paused it and its pause is over
  // (the worker's tick calls it).
  void retry(Clock::time_point now);

  void on_events(std::uint32_t events) override;

private:
  Worker& m_worker;
  UniqueFd m_fd;
  bool m_defer_accept = false; // [server] defer_accept: connections arrive with their first bytes
  bool m_watched = false;
  std::optional<Clock::time_point> m_paused_until; // after an accept error
  Clock::time_point m_last_accept_error;
};

} // namespace agentdl::serve
