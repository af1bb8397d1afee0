// Accepting connections on one address of agentdl-serve: a session per
// connection, a 503 past max_connections, and retrying after EMFILE.
#pragma once

#include "transport.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>

#include <memory>
#include <optional>
#include <string>

namespace agentdl::serve {

class Registry;
class State;

// Accepts connections on one address, for as long as the server runs.
class Listener : public std::enable_shared_from_this<Listener>
{
public:
  // Makes a listener whose sessions run on `ioc` and join `registry`.
  Listener(net::io_context& ioc, State& state, Registry& registry);

  // Opens and binds `endpoint`; the error says why it could not.
  std::optional<std::string> open(const tcp::endpoint& endpoint);

  // Returns the address bound (its port, when 0 was asked for).
  tcp::endpoint local_endpoint() const { return m_acceptor.local_endpoint(); }

  // Starts accepting connections.
  void start();

  // Stops accepting (a drain): closes the socket, cancels a pending retry.
  void stop();

private:
  void accept();
  void on_accept(beast::error_code ec, Socket socket);

  net::io_context& m_ioc;
  tcp::acceptor m_acceptor;
  tcp::endpoint m_peer;
  net::steady_timer m_retry;
  Clock::time_point m_last_accept_error;
  State& m_state;
  Registry& m_registry;
};

} // namespace agentdl::serve
