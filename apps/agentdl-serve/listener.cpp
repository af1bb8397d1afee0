#include "listener.hpp"

#include "session.hpp"
#include "worker.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <memory>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>
#include <utility>

namespace agentdl::serve {

namespace {

std::string last_error()
{
  return std::system_category().message(errno);
}

bool set_flag(int fd, int level, int name)
{
  const int on = 1;
  return ::setsockopt(fd, level, name, &on, sizeof on) == 0;
}

} // namespace

Listener::Listener(Worker& worker)
  : m_worker(worker)
{
}

std::optional<std::string> Listener::open(const tcp::endpoint& endpoint, bool first)
{
  const int family = endpoint.protocol().family();
  m_fd = UniqueFd(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (m_fd.get() < 0) {
    return last_error();
  }
  const int fd = m_fd.get();
  if (family == AF_INET6 && !set_flag(fd, IPPROTO_IPV6, IPV6_V6ONLY)) {
    return last_error();
  }
  if (!set_flag(fd, SOL_SOCKET, SO_REUSEADDR)) {
    return last_error();
  }
  // The first socket binds as a plain one, which fails on a port anything
  // else listens on, SO_REUSEPORT or not; only then does it let the other
  // workers' sockets join it (Linux checks the flag at their bind).
  if (!first && !set_flag(fd, SOL_SOCKET, SO_REUSEPORT)) {
    return last_error();
  }
  if (::bind(fd, endpoint.data(), static_cast<socklen_t>(endpoint.size())) != 0) {
    return last_error();
  }
  if (first && !set_flag(fd, SOL_SOCKET, SO_REUSEPORT)) {
    return last_error();
  }
  m_defer_accept = m_worker.state().start_settings().defer_accept;
  if (m_defer_accept) {
    // The kernel completes the handshake but hands the connection over only
    // once its first bytes arrive, so that the request is read at once and
    // a connection answered and closed is never registered with epoll; one
    // that stays silent is handed over after the first SYN-ACK resent
    // (about a second), and header_timeout applies from then.
    const int seconds = 1;
    if (::setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, sizeof seconds) != 0) {
      return last_error();
    }
  }
  if (::listen(fd, SOMAXCONN) != 0) {
    return last_error();
  }
  return std::nullopt;
}

tcp::endpoint Listener::local_endpoint() const
{
  tcp::endpoint endpoint;
  auto size = static_cast<socklen_t>(endpoint.capacity());
  if (::getsockname(m_fd.get(), endpoint.data(), &size) == 0) {
    endpoint.resize(size);
  }
  return endpoint;
}

void Listener::start()
{
  m_watched = m_worker.loop().watch(m_fd.get(), EventLoop::k_listener_events, this);
  if (!m_watched) {
    // Out of memory for epoll, most likely: try again on a later tick.
    log_error(fmt::format("cannot watch a listening socket: {}; retrying", last_error()));
    m_paused_until = Clock::now() + std::chrono::milliseconds(50);
  }
}

void Listener::stop()
{
  m_fd.reset(); // closing it leaves the epoll set
  m_watched = false;
  m_paused_until.reset();
}

void Listener::retry(Clock::time_point now)
{
  if (m_paused_until && now >= *m_paused_until && m_fd.get() >= 0) {
    m_paused_until.reset();
    start();
  }
}

void Listener::on_events(std::uint32_t)
{
  if (m_fd.get() < 0) {
    return; // stopped (drain)
  }
  sockaddr_storage peer{};
  auto size = static_cast<socklen_t>(sizeof peer);
  const int fd =
    ::accept4(m_fd.get(), reinterpret_cast<sockaddr*>(&peer), &size, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) {
    switch (errno) {
      // Nothing to accept, or a connection that failed on its way in
      // (accept(2): network errors are to be treated like EAGAIN).
      case EAGAIN:
      case EINTR:
      case ECONNABORTED:
      case ENETDOWN:
      case EPROTO:
      case ENOPROTOOPT:
      case EHOSTDOWN:
      case ENONET:
      case EHOSTUNREACH:
      case EOPNOTSUPP:
      case ENETUNREACH:
        return;
      default:
        break;
    }
    // EMFILE, ENFILE, ENOBUFS...: the listener must outlive them. Pause a
    // little so that a full file table does not make the loop spin.
    if (const auto now = Clock::now(); now - m_last_accept_error >= std::chrono::seconds(1)) {
      m_last_accept_error = now; // one line a second, however long it lasts
      log_error(fmt::format("accept failed: {}; retrying", last_error()));
    }
    m_worker.loop().unwatch(m_fd.get());
    m_watched = false;
    m_paused_until = Clock::now() + std::chrono::milliseconds(50);
    return;
  }
  tcp::endpoint endpoint;
  std::memcpy(endpoint.data(), &peer, std::min<std::size_t>(size, endpoint.capacity()));
  endpoint.resize(size);
  // The session registers its socket with the loop when it first has to
  // wait: at once without defer_accept, after its first read with it.
  auto session = std::make_shared<Session>(UniqueFd(fd), endpoint, m_worker);
  if (m_defer_accept) {
    session->arrived_with_data();
  }
  auto& state = m_worker.state();
  if (static_cast<std::size_t>(state.metrics().connections()) > state.max_connections()) {
    session->refuse();
  } else {
    session->start();
  }
}

} // namespace agentdl::serve
