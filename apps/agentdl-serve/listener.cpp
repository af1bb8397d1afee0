#include "listener.hpp"

#include "session.hpp"
#include "state.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/socket_base.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstddef>
#include <utility>

namespace agentdl::serve {

Listener::Listener(net::io_context& ioc, State& state, Registry& registry)
  : m_ioc(ioc)
  , m_acceptor(net::make_strand(ioc))
  , m_retry(m_acceptor.get_executor())
  , m_state(state)
  , m_registry(registry)
{
}

std::optional<std::string> Listener::open(const tcp::endpoint& endpoint)
{
  beast::error_code ec;
  m_acceptor.open(endpoint.protocol(), ec);
  if (!ec && endpoint.protocol() == tcp::v6()) {
    m_acceptor.set_option(net::ip::v6_only(true), ec);
  }
  if (!ec) {
    m_acceptor.set_option(net::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    m_acceptor.bind(endpoint, ec);
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
  net::dispatch(m_acceptor.get_executor(), [self = shared_from_this()] { self->accept(); });
}

void Listener::stop()
{
  net::dispatch(m_acceptor.get_executor(), [self = shared_from_this()] {
    beast::error_code ignored;
    self->m_acceptor.close(ignored);
    self->m_retry.cancel();
  });
}

void Listener::accept()
{
  // The peer's address comes with the accept: no getpeername per connection.
  m_acceptor.async_accept(net::make_strand(m_ioc),
                          m_peer,
                          [self = shared_from_this()](beast::error_code ec, Socket socket) {
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
  // As nginx's tcp_nodelay: a response goes out at once, whatever is unacknowledged.
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  auto session = std::make_shared<Session>(std::move(socket), m_peer, m_state, m_registry);
  if (static_cast<std::size_t>(m_state.metrics().connections()) > m_state.max_connections()) {
    session->refuse();
  } else {
    session->start();
  }
  accept();
}

} // namespace agentdl::serve
