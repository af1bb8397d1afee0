// Accepting connections on one address, for one worker of agentdl-serve: a
// session per connection, a 503 past max_connections, and retrying after
// EMFILE.
#pragma once

#include "transport.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>

#include <memory>
#include <optional>
#include <string>

namespace agentdl::serve {

class Worker;

// Accepts connections on one address, for as long as the server runs.
class Listener : public std::enable_shared_from_this<Listener>
{
public:
  // Makes a listener whose sessions run on `worker`.
  explicit Listener(Worker& worker);

  // Opens and binds `endpoint` as Worker::listen says; the error says why
  // it could not.
  std::optional<std::string> open(const tcp::endpoint& endpoint, bool first);

  // Returns the address bound (its port, when 0 was asked for).
  tcp::endpoint local_endpoint() const { return m_acceptor.local_endpoint(); }

  // Starts accepting connections; on the worker's thread.
  void start();

  // Stops accepting (a drain): closes the socket, cancels a pending retry.
  // On the worker's thread.
  void stop();

private:
  void accept();
  void on_accept(beast::error_code ec, Socket socket);

  Worker& m_worker;
  Acceptor m_acceptor;
  tcp::endpoint m_peer;
  net::steady_timer m_retry;
  Clock::time_point m_last_accept_error;
};

} // namespace agentdl::serve
