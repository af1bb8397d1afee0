// Shaped like Beast's advanced server example: a listener per address, a
// session per connection running on its own strand, a pool of threads on one
// io_context, and a signal_set for SIGHUP (reload) and SIGTERM/SIGINT (drain).

#include "server.hpp"

#include "head_parser.hpp"
#include "transport.hpp"

#include <agentdl/api.hpp>
#include <agentdl/http_message.hpp>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace agentdl::serve {

namespace {

constexpr std::size_t k_header_limit = 8 * 1024;
// How often connection deadlines are checked: the precision of every timeout.
constexpr auto k_sweep_interval = std::chrono::milliseconds(100);
// How long, and how much, a closing connection is read and discarded.
constexpr std::chrono::seconds k_linger_time{ 2 };
constexpr std::size_t k_linger_bytes = 64 * 1024;

// Returns the current time as an HTTP date, formatted once per second per thread.
const std::string& http_date()
{
  thread_local std::time_t cached_second = 0;
  thread_local std::string cached;
  const auto now = std::time(nullptr);
  if (now != cached_second) {
    cached_second = now;
    cached = fmt::format("{:%a, %d %b %Y %H:%M:%S} GMT", fmt::gmtime(now));
  }
  return cached;
}

// Returns "1 connection", "3 connections".
std::string connections(std::int64_t count)
{
  return fmt::format("{} connection{}", count, count == 1 ? "" : "s");
}

class Session;

// Live sessions, so that a drain can close the idle ones.
class Registry
{
public:
  void add(Session* session, std::weak_ptr<Session> weak)
  {
    std::lock_guard lock(m_mutex);
    m_sessions.emplace(session, std::move(weak));
  }
  void remove(Session* session)
  {
    std::lock_guard lock(m_mutex);
    m_sessions.erase(session);
  }
  std::vector<std::shared_ptr<Session>> snapshot()
  {
    std::lock_guard lock(m_mutex);
    std::vector<std::shared_ptr<Session>> out;
    for (auto& [_, weak] : m_sessions) {
      if (auto s = weak.lock()) {
        out.push_back(std::move(s));
      }
    }
    return out;
  }

  // Returns the time as of the last sweep (k_sweep_interval), for setting deadlines.
  Clock::time_point coarse_now() const
  {
    return Clock::time_point(Clock::duration(m_coarse_now.load(std::memory_order_relaxed)));
  }

  // Records `now` as the coarse time, then closes the sessions whose
  // deadline has passed.
  void sweep(Clock::time_point now);

private:
  std::mutex m_mutex;
  std::unordered_map<Session*, std::weak_ptr<Session>> m_sessions;
  // On a cache line of its own: every request reads it, while each
  // connection's add and remove write the mutex and the map.
  alignas(64) std::atomic<Clock::rep> m_coarse_now{ Clock::now().time_since_epoch().count() };
};

// Returns why the head of a parsed request cannot be answered, or an empty
// view if it can (RFC 9112 sections 3.2 and 6.3; CONTRACT section 4, Hardening).
std::string_view refusal(const HeadParser& head)
{
  if (head.transfer_encoding || head.chunked()) {
    return "a request must not have a Transfer-Encoding";
  }
  if (const auto length = head.content_length(); length && *length > 0) {
    return "a request must not have a body (Content-Length is not 0)";
  }
  if (head.host_count > 1) {
    return "the Host header is repeated";
  }
  // HTTP/1.0 may omit Host, as load balancers' health checks do.
  if (head.host_count == 0 && head.version >= 11) {
    return "the Host header is missing";
  }
  if (head.host_count == 1 && !valid_host(head.host)) {
    return "the Host header is not a valid host[:port]";
  }
  // A gateway that checks the first credential and agentdl, reading
  // another, would see different callers.
  if (head.authorization_count > 1) {
    return "the Authorization header is repeated";
  }
  return {};
}

// One client connection: reads requests one after the other (pipelined ones
// included, answered in order) and writes each response before reading on.
class Session : public std::enable_shared_from_this<Session>
{
public:
  Session(Socket&& socket, const tcp::endpoint& peer, State& state, Registry& registry)
    : m_socket(std::move(socket))
    , m_peer(peer)
    , m_state(state)
    , m_registry(registry)
  {
    m_state.metrics().add_connections(1);
    m_out.reserve(1024);
  }

  ~Session()
  {
    m_registry.remove(this);
    m_state.metrics().add_connections(-1);
  }

  void start()
  {
    m_registry.add(this, weak_from_this());
    net::dispatch(m_socket.get_executor(),
                  [self = shared_from_this()] { self->wait_for_request(); });
  }

  // Answers 503 and closes: the server is at max_connections.
  void refuse()
  {
    m_registry.add(this, weak_from_this()); // so that its deadlines are enforced too
    net::dispatch(m_socket.get_executor(), [self = shared_from_this()] {
      self->m_start = Clock::now();
      self->respond_error(503, "too many connections, try again", "-", "-");
    });
  }

  // Closes the connection if it waits for a request (a drain); a connection
  // in the middle of a request finishes it first.
  void close_if_idle()
  {
    net::dispatch(m_socket.get_executor(), [self = shared_from_this()] {
      if (self->m_idle) {
        self->close();
      }
    });
  }

private:
  void wait_for_request()
  {
    m_idle = true;
    m_parser.reset();
    if (m_state.draining()) {
      close();
      return;
    }
    if (m_buffer.size() > 0) {
      parse(); // a pipelined request is already here
      return;
    }
    // Until the first byte of the next request: on a new connection, a silent
    // client gets header_timeout, not the keep-alive idle_timeout, so idle
    // sockets cannot hold the max_connections slots for long.
    set_deadline(m_first_request ? std::min(m_state.header_timeout(), m_state.idle_timeout())
                                 : m_state.idle_timeout());
    m_first_request = false;
    read();
  }

  void read()
  {
    m_socket.async_read_some(
      m_buffer.prepare(k_header_limit + 1024 - m_buffer.size()),
      [self = shared_from_this()](beast::error_code ec, std::size_t n) { self->on_read(ec, n); });
  }

  void on_read(beast::error_code ec, std::size_t n)
  {
    if (ec) {
      close(); // gone, idle too long, or too slow with its header
      return;
    }
    m_buffer.commit(n);
    parse();
  }

  // Parses the header from the buffered bytes; reads more if it is not whole.
  void parse()
  {
    if (!m_parser) {
      m_idle = false;
      m_parser.emplace();
      m_parser->header_limit(k_header_limit);
      m_header_bytes = 0;
      // The whole header must arrive within header_timeout of its first byte.
      set_deadline(m_state.header_timeout());
    }
    beast::error_code ec;
    const auto used = m_parser->put(m_buffer.data(), ec);
    m_buffer.consume(used);
    // The parser consumes whole fields as they arrive and checks its own
    // limit only against what is left, so the block's size is counted here.
    m_header_bytes += used;
    if (ec == http::error::need_more) {
      if (m_header_bytes + m_buffer.size() >= k_header_limit) {
        on_header(http::error::header_limit);
      } else {
        read();
      }
      return;
    }
    if (!ec && m_header_bytes > k_header_limit) {
      ec = http::error::header_limit;
    }
    on_header(ec);
  }

  void on_header(beast::error_code ec)
  {
    m_start = Clock::now();
    const auto method =
      m_parser && m_parser->is_header_done() ? m_parser->method_text : std::string("-");
    const auto target =
      m_parser && m_parser->is_header_done() ? m_parser->target : std::string("-");
    if (ec == http::error::header_limit) {
      respond_error(431, "request header is larger than 8 KiB", method, target);
      return;
    }
    if (ec) {
      respond_error(400, fmt::format("malformed HTTP request ({})", ec.message()), method, target);
      return;
    }
    if (const auto why = refusal(*m_parser); !why.empty()) {
      respond_error(400, why, method, target);
      return;
    }
    try {
      answer();
    } catch (const std::exception&) {
      // A bug, or memory exhausted: answer 500 (revealing nothing) and close,
      // rather than let the exception take the daemon down.
      respond_error(500, "", method, target);
    }
  }

  void answer()
  {
    const auto& head = *m_parser;
    const auto snapshot = m_state.snapshot(); // this request's, whatever a reload does
    ApiRequest request;
    request.method = head.method_text;
    request.target = head.target;
    if (head.authorization) {
      request.authorization = *head.authorization;
    }
    ApiContext context;
    if (m_state.metrics_enabled()) {
      context.metrics = [this] { return m_state.metrics().render(); };
    }
    auto response = handle(*snapshot, request, context);
    const bool keep_alive = head.keep_alive() && !m_state.draining();
    const auto body = response.content();

    m_out.clear();
    append_response_head(m_out,
                         response,
                         { .version = head.version,
                           .date = http_date(),
                           .content_length = body.size(),
                           .keep_alive = keep_alive ? KeepAlive::yes : KeepAlive::no });
    m_body_bytes = 0;
    m_shared_body.reset();
    if (head.method != http::verb::head) {
      // HEAD: Content-Length says what GET would send, and no body follows.
      m_body_bytes = body.size();
      if (response.shared_body) {
        m_shared_body = std::move(response.shared_body); // sent from where it is, not copied
      } else {
        m_out += body;
      }
    }
    m_keep_alive = keep_alive;
    m_rejected = false;
    m_status = response.status;
    m_route = response.route;
    m_token_name = response.token_name;
    write();
  }

  // Answers a request that cannot be served, then closes: after a malformed
  // header or an unread body, nothing more on this connection can be trusted.
  void respond_error(int status,
                     std::string_view message,
                     std::string_view method,
                     std::string_view target)
  {
    const auto response = transport_error(status, message);
    // HEAD: the same headers, no body. An HTTP/1.0 request is answered in 1.0.
    const bool parsed = m_parser && m_parser->is_header_done();
    const bool head = parsed && m_parser->method == http::verb::head;
    m_out.clear();
    append_response_head(m_out,
                         response,
                         { .version = parsed ? m_parser->version : 11,
                           .date = http_date(),
                           .content_length = response.body.size(),
                           .keep_alive = KeepAlive::no });
    if (!head) {
      m_out += response.body;
    }
    m_shared_body.reset();
    m_body_bytes = head ? 0 : response.body.size();
    m_rejected = true;
    m_keep_alive = false;
    m_status = status;
    m_route = "unknown";
    m_token_name = {};
    if (m_parser) {
      m_parser->method_text = method;
      m_parser->target = target;
      m_parser->user_agent.clear();
    }
    write();
  }

  void write()
  {
    // A client that does not read its responses is cut off like an idle one.
    set_deadline(m_state.idle_timeout());
    const auto done = [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_write(ec);
    };
    if (m_shared_body) {
      const std::array<net::const_buffer, 2> buffers{ net::buffer(m_out),
                                                      net::buffer(*m_shared_body) };
      net::async_write(m_socket, buffers, done);
      return;
    }
    net::async_write(m_socket, net::buffer(m_out), done);
  }

  void on_write(beast::error_code ec)
  {
    const auto elapsed = Clock::now() - m_start;
    m_state.metrics().count_request(m_route, m_status, elapsed);
    if (m_state.logging()) {
      AccessEntry entry;
      entry.time = std::chrono::system_clock::now();
      if (m_remote.empty()) {
        m_remote = endpoint_text(m_peer);
      }
      entry.remote = m_remote;
      entry.method = m_parser ? std::string_view(m_parser->method_text) : "-";
      entry.target = m_parser ? std::string_view(m_parser->target) : "-";
      entry.status = m_status;
      entry.bytes = ec ? 0 : m_body_bytes;
      entry.duration = elapsed;
      entry.route = m_route;
      entry.token_name = m_token_name;
      entry.user_agent = m_parser ? std::string_view(m_parser->user_agent) : "";
      m_state.log_access(entry);
    }
    m_shared_body.reset(); // a large list is not held while the connection idles
    if (ec) {
      close();
      return;
    }
    if (!m_keep_alive) {
      // As nginx decides: linger only where input may be left unread (a
      // rejected request, pipelined bytes); a plain last request closes now.
      if (m_rejected || m_buffer.size() > 0) {
        linger();
      } else {
        close();
      }
      return;
    }
    wait_for_request();
  }

  // Ends a connection after its last response without losing that response:
  // closing a socket with unread bytes in it (a rejected body, pipelined
  // requests, the request a 503 never read) makes the kernel send a reset,
  // which can overtake the response. So send FIN, then read and discard
  // until the client closes, for at most k_linger_time or k_linger_bytes.
  void linger()
  {
    beast::error_code ignored;
    m_socket.shutdown(tcp::socket::shutdown_send, ignored);
    m_buffer.clear();
    m_linger_bytes = 0;
    set_deadline(k_linger_time);
    discard();
  }

  void discard()
  {
    m_socket.async_read_some(m_buffer.prepare(4096),
                             [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                               self->m_linger_bytes += n;
                               if (ec || self->m_linger_bytes > k_linger_bytes) {
                                 self->close();
                                 return;
                               }
                               self->discard();
                             });
  }

  void close()
  {
    beast::error_code ignored;
    m_deadline.store(0, std::memory_order_relaxed);
    m_socket.shutdown(tcp::socket::shutdown_send, ignored);
    m_socket.close(ignored);
  }

  // Sets when the current read or write must be done by. Registry::sweep
  // enforces it, so no timer is armed and cancelled per operation.
  void set_deadline(std::chrono::seconds timeout)
  {
    // The sweeper's clock: deadlines are only checked every k_sweep_interval,
    // so reading the real clock here, twice a request, would buy nothing.
    m_deadline.store((m_registry.coarse_now() + timeout).time_since_epoch().count(),
                     std::memory_order_relaxed);
  }

public:
  // Tells whether the session's deadline has passed at `now`.
  bool expired(Clock::time_point now) const
  {
    const auto deadline = m_deadline.load(std::memory_order_relaxed);
    return deadline != 0 && deadline <= now.time_since_epoch().count();
  }

  // Closes the connection: it was too slow or idle too long.
  void time_out()
  {
    net::dispatch(m_socket.get_executor(), [self = shared_from_this()] {
      // The strand may have read a request since the sweep saw the deadline.
      if (self->expired(Clock::now())) {
        self->close();
      }
    });
  }

private:
  Socket m_socket;
  tcp::endpoint m_peer;
  std::atomic<Clock::rep> m_deadline{ 0 };
  beast::flat_buffer m_buffer{ k_header_limit + 1024 };
  std::optional<HeadParser> m_parser;
  std::string m_out; // the response's head, and its body if not shared
  std::shared_ptr<const std::string> m_shared_body; // the body, when shared with other responses
  State& m_state;
  Registry& m_registry;
  std::string m_remote; // m_peer as text, made when first logged
  bool m_idle = true;
  bool m_keep_alive = false;
  int m_status = 0;
  Clock::time_point m_start;
  std::size_t m_body_bytes = 0;
  std::size_t m_header_bytes = 0; // of the request being read
  std::size_t m_linger_bytes = 0; // discarded after the last response
  bool m_first_request = true;    // no request answered yet on this connection
  bool m_rejected = false;        // the last response refused its request
  std::string_view m_route = "unknown";
  std::string m_token_name;
};

void Registry::sweep(Clock::time_point now)
{
  m_coarse_now.store(now.time_since_epoch().count(), std::memory_order_relaxed);
  std::vector<std::shared_ptr<Session>> expired;
  {
    std::lock_guard lock(m_mutex);
    for (auto& [session, weak] : m_sessions) {
      if (session->expired(now)) {
        if (auto s = weak.lock()) {
          expired.push_back(std::move(s));
        }
      }
    }
  }
  for (auto& session : expired) {
    session->time_out();
  }
}

// Accepts connections on one address, for as long as the server runs.
class Listener : public std::enable_shared_from_this<Listener>
{
public:
  Listener(net::io_context& ioc, State& state, Registry& registry)
    : m_ioc(ioc)
    , m_acceptor(net::make_strand(ioc))
    , m_retry(m_acceptor.get_executor())
    , m_state(state)
    , m_registry(registry)
  {
  }

  // Opens and binds `endpoint`; the error says why it could not.
  std::optional<std::string> open(const tcp::endpoint& endpoint)
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

  tcp::endpoint local_endpoint() const { return m_acceptor.local_endpoint(); }

  void start()
  {
    net::dispatch(m_acceptor.get_executor(), [self = shared_from_this()] { self->accept(); });
  }

  void stop()
  {
    net::dispatch(m_acceptor.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->m_acceptor.close(ignored);
      self->m_retry.cancel();
    });
  }

private:
  void accept()
  {
    // The peer's address comes with the accept: no getpeername per connection.
    m_acceptor.async_accept(net::make_strand(m_ioc),
                            m_peer,
                            [self = shared_from_this()](beast::error_code ec, Socket socket) {
                              self->on_accept(ec, std::move(socket));
                            });
  }

  void on_accept(beast::error_code ec, Socket socket)
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

  net::io_context& m_ioc;
  tcp::acceptor m_acceptor;
  tcp::endpoint m_peer;
  net::steady_timer m_retry;
  Clock::time_point m_last_accept_error;
  State& m_state;
  Registry& m_registry;
};

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

int run_server(State& state, const std::vector<ListenAddress>& listen)
{
  const auto& settings = state.start_settings();
  const auto threads =
    settings.threads > 0 ? settings.threads : std::max(1U, std::thread::hardware_concurrency());
  Registry registry; // outlives the io_context, whose pending handlers hold sessions
  net::io_context ioc(static_cast<int>(threads));
  // Installed before anything is announced: a SIGHUP or SIGTERM sent as soon as
  // "listening on" appears is queued for the handler, never the default action.
  net::signal_set signals(ioc, SIGHUP, SIGTERM, SIGINT);

  std::vector<std::shared_ptr<Listener>> listeners;
  for (const auto& address : listen) {
    const auto text = address.host.find(':') != std::string::npos
                        ? fmt::format("[{}]:{}", address.host, address.port)
                        : fmt::format("{}:{}", address.host, address.port);
    std::string error;
    const auto endpoint = resolve_endpoint(ioc, address, error);
    if (!endpoint) {
      log_error(fmt::format("error: cannot listen on {}: {}", text, error));
      return 5;
    }
    auto listener = std::make_shared<Listener>(ioc, state, registry);
    if (auto failure = listener->open(*endpoint)) {
      log_error(fmt::format("error: cannot listen on {}: {}", text, *failure));
      return 5;
    }
    listeners.push_back(std::move(listener));
  }

  // Timeouts: one timer for all connections, ticking a few times a second.
  net::steady_timer sweeper(ioc);
  std::function<void()> sweep = [&] {
    registry.sweep(Clock::now());
    sweeper.expires_after(k_sweep_interval);
    sweeper.async_wait([&](beast::error_code ec) {
      if (!ec) {
        sweep();
      }
    });
  };
  sweep();

  net::steady_timer drain_timer(ioc);
  Clock::time_point drain_deadline;
  int exit_code = 0;
  std::vector<std::string> listening; // the addresses bound, as announced
  std::function<void()> check_drained = [&] {
    if (state.metrics().connections() == 0) {
      ioc.stop();
      return;
    }
    if (Clock::now() >= drain_deadline) {
      log_error(fmt::format("drain_timeout reached: closing {}",
                            connections(state.metrics().connections())));
      ioc.stop();
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
      // Loading may take a while on a large catalog; other threads go on serving.
      const auto report = state.reload();
      if (!report) {
        log_error(
          fmt::format("reload failed, still serving the previous catalog: {}", report.error()));
        return;
      }
      log_error(fmt::format("reloaded the catalog: {} releases", report->releases));
      if (!report->applied.empty()) {
        log_error(fmt::format("[server] {} changed: applied", fmt::join(report->applied, ", ")));
      }
      for (const auto& key : report->need_restart) {
        log_error(fmt::format(
          "[server] {} changed: it applies after a restart; still {}",
          key,
          key == "threads" ? fmt::format("running {} thread{}", threads, threads == 1 ? "" : "s")
                           : fmt::format("listening on {}", fmt::join(listening, ", "))));
      }
      return;
    }
    const auto name = signal == SIGTERM ? "SIGTERM" : "SIGINT";
    if (state.draining()) {
      // The operator will not wait for the drain: stop now.
      log_error(fmt::format("{} during the drain: exiting now, cutting {}",
                            name,
                            connections(state.metrics().connections())));
      exit_code = 1;
      ioc.stop();
      return;
    }
    const auto drain_timeout = state.drain_timeout();
    log_error(fmt::format("{}: draining connections (up to {})", name, drain_timeout));
    state.start_draining();
    for (auto& listener : listeners) {
      listener->stop();
    }
    for (auto& session : registry.snapshot()) {
      session->close_if_idle();
    }
    drain_deadline = Clock::now() + drain_timeout;
    check_drained();
  };
  signals.async_wait(on_signal);

  for (auto& listener : listeners) {
    listener->start();
    listening.push_back(endpoint_text(listener->local_endpoint()));
    log_error(fmt::format("listening on {}", listening.back()));
  }
  // A handler that throws must not end the thread, let alone the daemon:
  // log it and go on running (io_context::run may be called again).
  const auto run = [&ioc] {
    while (true) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {
        log_error(fmt::format("unexpected error in a connection handler: {}", e.what()));
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) {
    pool.emplace_back(run);
  }
  run();
  for (auto& thread : pool) {
    thread.join();
  }
  log_error(exit_code == 0 ? "stopped" : "stopped before the drain ended");
  return exit_code;
}

} // namespace agentdl::serve
