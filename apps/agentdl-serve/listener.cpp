#include "listener.hpp"

#include "session.hpp"
#include "worker.hpp"

#include <boost/asio/detail/socket_option.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/socket_base.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstddef>
#include <sys/socket.h>
#include <utility>

namespace agentdl::serve {

namespace {

// SO_REUSEPORT, which Asio has no name for.
using reuse_port = net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

} // namespace

Listener::Listener(Worker& worker)
  : m_worker(worker)
  , m_acceptor(worker.context())
  , m_retry(worker.context())
{
}

std::optional<std::string> Listener::open(const tcp::endpoint& endpoint, bool first)
{
  beast::error_code ec;
  m_acceptor.open(endpoint.protocol(), ec);
  if (!ec && endpoint.protocol() == tcp::v6()) {
    m_acceptor.set_option(net::ip::v6_only(true), ec);
  }
  if (!ec) {
    m_acceptor.set_option(net::socket_base::reuse_address(true), ec);
  }
  // The first socket binds as a plain one, which fails on a port anything
  // else listens on, SO_REUSEPORT or not; only then does it let the other
  // workers' sockets join it (Linux checks the flag at their bind).
  if (!ec && !first) {
    m_acceptor.set_option(reuse_port(true), ec);
  }
  if (!ec) {
    m_acceptor.bind(endpoint, ec);
  }
  if (!ec && first) {
    m_acceptor.set_option(reuse_port(true), ec);
  }
  if (!ec) {
    m_acceptor.listen(net::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return ec.message();
  }
  return std::nullopt;
}

void Listener::start()
{
  accept();
}

void Listener::stop()
{
  beast::error_code ignored;
  m_acceptor.close(ignored);
  m_retry.cancel();
}

void Listener::accept()
{
  // The peer's address comes with the accept: no getpeername per connection.
  m_acceptor.async_accept(m_peer, [self = shared_from_this()](beast::error_code ec, Socket socket) {
    self->on_accept(ec, std::move(socket));
  });
}

void Listener::on_accept(beast::error_code ec, Socket socket)
{
  if (!m_acceptor.is_open()) {
    return; // stopped (drain)
  }
  if (ec) {
    // EMFILE, ENFILE, ENOBUFS...: the listener must outlive them. Wait a
    // little so that a full file table does not make this loop spin.
    if (const auto now = Clock::now(); now - m_last_accept_error >= std::chrono::seconds(1)) {
      m_last_accept_error = now; // one line a second, however long it lasts
      log_error(fmt::format("accept failed: {}; retrying", ec.message()));
    }
    m_retry.expires_after(std::chrono::milliseconds(50));
    m_retry.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
      if (!wait_ec) {
        self->accept();
      }
    });
    return;
  }
  auto& state = m_worker.state();
  auto session = std::make_shared<Session>(std::move(socket), m_peer, m_worker);
  if (static_cast<std::size_t>(state.metrics().connections()) > state.max_connections()) {
    session->refuse();
  } else {
    session->start();
  }
  accept();
}

} // namespace agentdl::serve
