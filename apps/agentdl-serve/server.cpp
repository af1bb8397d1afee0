// Shaped like Beast's advanced server example: a listener per address, a
// session per connection running on its own strand, a pool of threads on one
// io_context, and a signal_set for SIGHUP (reload) and SIGTERM/SIGINT (drain).

#include "server.hpp"

#include <agentdl/api.hpp>
#include <agentdl/output.hpp>

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

#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace agentdl::serve {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::size_t k_header_limit = 8 * 1024;

void log_error(std::string_view message)
{
  fmt::print(stderr, "agentdl-serve: {}\n", message);
}

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

std::string endpoint_text(const tcp::endpoint& endpoint)
{
  const auto address = endpoint.address();
  return address.is_v6() ? fmt::format("[{}]:{}", address.to_string(), endpoint.port())
                         : fmt::format("{}:{}", address.to_string(), endpoint.port());
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

private:
  std::mutex m_mutex;
  std::unordered_map<Session*, std::weak_ptr<Session>> m_sessions;
};

// One client connection: reads requests one after the other (pipelined ones
// included, answered in order) and writes each response before reading on.
class Session : public std::enable_shared_from_this<Session>
{
public:
  Session(tcp::socket&& socket, State& state, Registry& registry)
    : m_stream(std::move(socket))
    , m_state(state)
    , m_registry(registry)
  {
    beast::error_code ec;
    const auto remote = m_stream.socket().remote_endpoint(ec);
    m_remote = ec ? std::string("-") : endpoint_text(remote);
    m_state.metrics().add_connections(1);
  }

  ~Session()
  {
    m_registry.remove(this);
    m_state.metrics().add_connections(-1);
  }

  void start()
  {
    m_registry.add(this, weak_from_this());
    net::dispatch(m_stream.get_executor(),
                  [self = shared_from_this()] { self->wait_for_request(); });
  }

  // Answers 503 and closes: the server is at max_connections.
  void refuse()
  {
    net::dispatch(m_stream.get_executor(), [self = shared_from_this()] {
      self->m_response = {};
      self->m_response.result(http::status::service_unavailable);
      self->m_response.set(http::field::content_type, "application/json");
      self->m_response.body() =
        R"({"error":{"code":"unavailable","message":"too many connections, try again"}})";
      self->m_response.prepare_payload();
      self->m_response.keep_alive(false);
      self->m_stream.expires_after(std::chrono::seconds(5));
      http::async_write(self->m_stream, self->m_response, [self](beast::error_code, std::size_t) {
        self->close();
      });
    });
  }

  // Closes the connection if it waits for a request (a drain); a connection
  // in the middle of a request finishes it first.
  void close_if_idle()
  {
    net::dispatch(m_stream.get_executor(), [self = shared_from_this()] {
      if (self->m_idle) {
        self->close();
      }
    });
  }

private:
  void wait_for_request()
  {
    m_idle = true;
    if (m_state.draining()) {
      close();
      return;
    }
    if (m_buffer.size() > 0) {
      read_header(); // a pipelined request is already here
      return;
    }
    // The idle timeout runs until the first byte of the next request.
    m_stream.expires_after(m_state.settings().idle_timeout);
    m_stream.async_read_some(m_buffer.prepare(k_header_limit),
                             [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                               self->on_first_bytes(ec, n);
                             });
  }

  void on_first_bytes(beast::error_code ec, std::size_t n)
  {
    if (ec) {
      close();
      return;
    }
    m_buffer.commit(n);
    read_header();
  }

  void read_header()
  {
    m_idle = false;
    // The whole header must arrive within header_timeout of its first byte.
    m_stream.expires_after(m_state.settings().header_timeout);
    m_parser.emplace();
    m_parser->header_limit(k_header_limit);
    http::async_read_header(
      m_stream,
      m_buffer,
      *m_parser,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec)
  {
    m_start = Clock::now();
    if (ec == http::error::header_limit) {
      reject(http::status::request_header_fields_too_large, "request header is larger than 8 KiB");
      return;
    }
    if (ec == beast::error::timeout || ec == http::error::end_of_stream ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset ||
        ec == net::error::eof) {
      close(); // a client too slow, or gone
      return;
    }
    if (ec) {
      reject(http::status::bad_request, fmt::format("malformed HTTP request ({})", ec.message()));
      return;
    }
    const auto& request = m_parser->get();
    if (request.count(http::field::transfer_encoding) > 0) {
      reject(http::status::bad_request, "a request must not have a Transfer-Encoding");
      return;
    }
    if (const auto length = m_parser->content_length(); length && *length > 0) {
      reject(http::status::bad_request, "a request must not have a body (Content-Length is not 0)");
      return;
    }
    if (request.count(http::field::host) != 1) {
      reject(http::status::bad_request,
             request.count(http::field::host) == 0 ? "the Host header is missing"
                                                   : "the Host header is repeated");
      return;
    }
    answer(request);
  }

  void answer(const http::request<http::empty_body>& request)
  {
    const auto catalog = m_state.catalog(); // this request's snapshot, whatever a reload does
    ApiRequest api_request;
    api_request.method =
      std::string_view(request.method_string().data(), request.method_string().size());
    api_request.target = std::string_view(request.target().data(), request.target().size());
    if (const auto it = request.find(http::field::authorization); it != request.end()) {
      api_request.authorization = std::string_view(it->value().data(), it->value().size());
    }
    ApiContext context;
    if (m_state.settings().metrics) {
      context.metrics = [this] { return m_state.metrics().render(); };
    }
    auto response = handle(*catalog, api_request, context);

    m_response = {};
    m_response.version(request.version());
    m_response.result(static_cast<unsigned>(response.status));
    m_response.set(http::field::server, "agentdl");
    m_response.set(http::field::date, http_date());
    if (!response.content_type.empty()) {
      m_response.set(http::field::content_type, response.content_type);
    }
    for (auto& [name, value] : response.headers) {
      m_response.set(beast::string_view(name.data(), name.size()), value);
    }
    m_response.content_length(response.body.size());
    m_response.keep_alive(request.keep_alive() && !m_state.draining());
    m_body_bytes = response.body.size();
    if (request.method() == http::verb::head) {
      m_body_bytes = 0; // Content-Length says what GET would send; no body follows
    } else {
      m_response.body() = std::move(response.body);
    }
    m_log.route = response.route;
    m_log.token_name = std::string(response.token_name);
    m_log.method = std::string(api_request.method);
    m_log.target = std::string(api_request.target);
    if (const auto it = request.find(http::field::user_agent); it != request.end()) {
      m_log.user_agent = std::string(it->value());
    } else {
      m_log.user_agent.clear();
    }
    write();
  }

  // Answers a request that cannot be served, then closes: after a malformed
  // header or an unread body, nothing more on this connection can be trusted.
  void reject(http::status status, std::string_view message)
  {
    m_response = {};
    m_response.result(status);
    m_response.set(http::field::server, "agentdl");
    m_response.set(http::field::date, http_date());
    m_response.set(http::field::content_type, "application/json");
    m_response.body() = error_json(Error(Errc::bad_request, std::string(message)));
    m_response.prepare_payload();
    m_response.keep_alive(false);
    m_body_bytes = m_response.body().size();
    m_log.route = "unknown";
    m_log.token_name.clear();
    m_log.method =
      m_parser && m_parser->is_header_done() ? std::string(m_parser->get().method_string()) : "-";
    m_log.target =
      m_parser && m_parser->is_header_done() ? std::string(m_parser->get().target()) : "-";
    m_log.user_agent.clear();
    write();
  }

  void write()
  {
    m_stream.expires_after(m_state.settings().idle_timeout);
    http::async_write(
      m_stream, m_response, [self = shared_from_this()](beast::error_code ec, std::size_t) {
        self->on_write(ec);
      });
  }

  void on_write(beast::error_code ec)
  {
    const auto elapsed = Clock::now() - m_start;
    const auto status = static_cast<int>(m_response.result_int());
    m_state.metrics().count_request(m_log.route, status, elapsed);
    AccessEntry entry;
    entry.time = std::chrono::system_clock::now();
    entry.remote = m_remote;
    entry.method = m_log.method;
    entry.target = m_log.target;
    entry.status = status;
    entry.bytes = ec ? 0 : m_body_bytes;
    entry.duration = elapsed;
    entry.route = m_log.route;
    entry.token_name = m_log.token_name;
    entry.user_agent = m_log.user_agent;
    m_state.log_access(entry);

    if (ec || !m_response.keep_alive()) {
      close();
      return;
    }
    wait_for_request();
  }

  void close()
  {
    beast::error_code ignored;
    m_stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    m_stream.close();
  }

  beast::tcp_stream m_stream;
  beast::flat_buffer m_buffer{ k_header_limit + 1024 };
  std::optional<http::request_parser<http::empty_body>> m_parser;
  http::response<http::string_body> m_response;
  State& m_state;
  Registry& m_registry;
  std::string m_remote;
  bool m_idle = true;
  Clock::time_point m_start;
  std::size_t m_body_bytes = 0;
  struct
  {
    std::string_view route;
    std::string token_name;
    std::string method;
    std::string target;
    std::string user_agent;
  } m_log;
};

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
    m_acceptor.async_accept(net::make_strand(m_ioc),
                            [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                              self->on_accept(ec, std::move(socket));
                            });
  }

  void on_accept(beast::error_code ec, tcp::socket socket)
  {
    if (!m_acceptor.is_open()) {
      return; // stopped (drain)
    }
    if (ec) {
      // EMFILE, ENFILE, ENOBUFS...: the listener must outlive them. Wait a
      // little so that a full file table does not make this loop spin.
      log_error(fmt::format("accept failed: {}; retrying", ec.message()));
      m_retry.expires_after(std::chrono::milliseconds(50));
      m_retry.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
        if (!wait_ec) {
          self->accept();
        }
      });
      return;
    }
    auto session = std::make_shared<Session>(std::move(socket), m_state, m_registry);
    if (static_cast<std::size_t>(m_state.metrics().connections()) >
        m_state.settings().max_connections) {
      session->refuse();
    } else {
      session->start();
    }
    accept();
  }

  net::io_context& m_ioc;
  tcp::acceptor m_acceptor;
  net::steady_timer m_retry;
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
  const auto& settings = state.settings();
  const auto threads =
    settings.threads > 0 ? settings.threads : std::max(1U, std::thread::hardware_concurrency());
  Registry registry; // outlives the io_context, whose pending handlers hold sessions
  net::io_context ioc(static_cast<int>(threads));

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
    log_error(fmt::format("listening on {}", endpoint_text(listener->local_endpoint())));
    listeners.push_back(std::move(listener));
  }
  for (auto& listener : listeners) {
    listener->start();
  }

  net::signal_set signals(ioc, SIGHUP, SIGTERM, SIGINT);
  net::steady_timer drain_timer(ioc);
  Clock::time_point drain_deadline;
  std::function<void()> check_drained = [&] {
    if (state.metrics().connections() == 0 || Clock::now() >= drain_deadline) {
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
    if (signal == SIGHUP) {
      // Loading may take a while on a large catalog; other threads go on serving.
      if (auto error = state.reload(); !error.empty()) {
        log_error(fmt::format("reload failed, still serving the previous catalog: {}", error));
      } else {
        log_error(
          fmt::format("reloaded the catalog: {} releases", state.catalog()->releases.size()));
      }
      signals.async_wait(on_signal);
      return;
    }
    log_error(fmt::format("{}: draining connections (up to {})",
                          signal == SIGTERM ? "SIGTERM" : "SIGINT",
                          settings.drain_timeout));
    state.start_draining();
    for (auto& listener : listeners) {
      listener->stop();
    }
    for (auto& session : registry.snapshot()) {
      session->close_if_idle();
    }
    drain_deadline = Clock::now() + settings.drain_timeout;
    check_drained();
  };
  signals.async_wait(on_signal);

  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) {
    pool.emplace_back([&ioc] { ioc.run(); });
  }
  ioc.run();
  for (auto& thread : pool) {
    thread.join();
  }
  log_error("stopped");
  return 0;
}

} // namespace agentdl::serve
