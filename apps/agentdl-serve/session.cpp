#include "session.hpp"

#include "state.hpp"
#include "worker.hpp"

#include <agentdl/api.hpp>
#include <agentdl/http_message.hpp>
#include <agentdl/mirror/files.hpp>

#include <boost/beast/http/error.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <ctime>
#include <exception>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <system_error>

namespace agentdl::serve {

namespace {

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
    cached = mirror::format_http_date(now);
  }
  return cached;
}

// Tells whether `header`, bytes of a request header the parser took whole
// (it takes a field only once it has seen the byte after its CRLF), holds
// a line that starts with a space or a tab: obs-fold.
bool folded(std::string_view header)
{
  for (auto at = header.find('\n'); at != std::string_view::npos && at + 1 < header.size();
       at = header.find('\n', at + 1)) {
    if (header[at + 1] == ' ' || header[at + 1] == '\t') {
      return true;
    }
  }
  return false;
}

// Returns why the head of a parsed request cannot be answered, or an empty
// view if it can (RFC 9112 sections 3.2 and 6.3; CONTRACT section 4, Hardening).
// `valid_host_seen` is a Host value already found valid on this connection
// (empty: none yet): a client sends the same one with every request, and
// checking its grammar again is the largest part of this function.
std::string_view refusal(const HeadParser& parser,
                         const RequestHead& head,
                         const std::string& valid_host_seen)
{
  if (head.transfer_encoding || parser.chunked()) {
    return "a request must not have a Transfer-Encoding";
  }
  if (const auto length = parser.content_length(); length && *length > 0) {
    return "a request must not have a body (Content-Length is not 0)";
  }
  if (head.content_length_count > 1) {
    return "the Content-Length header is repeated";
  }
  // RFC 9112 section 5.2: reject obs-fold or unfold it; nginx rejects.
  if (head.obs_fold) {
    return "a header field is folded over lines (obs-fold)";
  }
  if (head.host_count > 1) {
    return "the Host header is repeated";
  }
  // HTTP/1.0 may omit Host, as load balancers' health checks do.
  if (head.host_count == 0 && head.version >= 11) {
    return "the Host header is missing";
  }
  const bool seen = !valid_host_seen.empty() && head.host == valid_host_seen;
  if (head.host_count == 1 && !seen && !valid_host(head.host)) {
    return "the Host header is not a valid host[:port]";
  }
  // A gateway that checks the first credential and agentdl, reading
  // another, would see different callers.
  if (head.authorization_count > 1) {
    return "the Authorization header is repeated";
  }
  return {};
}

} // namespace

Session::Session(UniqueFd socket, const tcp::endpoint& peer, Worker& worker)
  : m_socket(std::move(socket))
  , m_peer(peer)
  , m_worker(worker)
  , m_state(worker.state())
{
  m_out.reserve(1024);
  m_state.metrics().add_connections(1); // last: the destructor takes it back
}

Session::~Session()
{
  m_state.metrics().add_connections(-1);
}

void Session::start()
{
  m_self = shared_from_this();
  m_worker.registry().add(*this);
  wait_for_request();
}

void Session::refuse()
{
  m_self = shared_from_this();
  m_worker.registry().add(*this); // so that its deadlines are enforced too
  m_idle = false;                 // a drain lets the 503 finish
  m_start = Clock::now();
  respond_error(503, "too many connections, try again");
}

void Session::on_events(std::uint32_t events)
{
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
    m_readable = true;
  }
  if ((events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
    // Reported once: a short read must not hide the end of the stream.
    m_peer_closed = true;
  }
  if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0) {
    m_writable = true;
  }
  switch (m_wait) {
    case Wait::read:
      if (m_readable) {
        read();
      }
      return;
    case Wait::linger:
      if (m_readable) {
        discard();
      }
      return;
    case Wait::write:
      if (m_writable) {
        write_some();
      }
      return;
    case Wait::file:
      if (m_writable) {
        send_file();
      }
      return;
    case Wait::none:
      return;
  }
}

void Session::wait_for_request()
{
  m_idle = true;
  m_parser.reset();
  if (m_state.draining()) {
    // Pipelined requests left unanswered: linger, so that the reset
    // closing them would send cannot overtake the last response.
    if (m_buffer.size() > 0) {
      linger();
    } else {
      close();
    }
    return;
  }
  const bool first = m_first_request;
  m_first_request = false;
  if (!first && !m_no_delay) {
    // As nginx does, from a connection's second response on: a response
    // written while the previous one is unacknowledged goes out at once.
    // A connection answered once and closed never pays for the call.
    m_no_delay = true;
    const int on = 1;
    ::setsockopt(m_socket.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  }
  if (m_buffer.size() > 0) {
    // A pipelined request is already here: parsed after the loop's other
    // events, not in this call, so that a long pipeline cannot grow the stack.
    m_wait = Wait::none;
    m_worker.loop().defer([self = shared_from_this()] {
      if (self->m_socket.get() >= 0) {
        self->parse();
      }
    });
    return;
  }
  // Until the first byte of the next request: on a new connection, a silent
  // client gets header_timeout, not the keep-alive idle_timeout, so idle
  // sockets cannot hold the max_connections slots for long.
  set_deadline(first ? std::min(m_state.header_timeout(), m_state.idle_timeout())
                     : m_state.idle_timeout());
  read();
}

// Reads what the socket has. A read that fills less than its buffer
// emptied the socket: the next one waits for the next read event rather
// than try and find nothing (no EAGAIN per request).
void Session::read()
{
  m_wait = Wait::read;
  if (!m_readable) {
    wait_until_readable(); // on_events() calls back
    return;
  }
  const auto buffer = m_buffer.prepare(k_header_limit + 1024 - m_buffer.size());
  while (true) {
    const auto n = ::recv(m_socket.get(), buffer.data(), buffer.size(), 0);
    if (n > 0) {
      if (static_cast<std::size_t>(n) < buffer.size() && !m_peer_closed) {
        m_readable = false; // drained; unless the client closed its side,
                            // which the next read sees as the end
      }
      m_wait = Wait::none;
      on_read({}, static_cast<std::size_t>(n));
      return;
    }
    if (n == 0) {
      m_wait = Wait::none;
      on_read(http::error::end_of_stream, 0);
      return;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN) {
      m_readable = false;
      wait_until_readable();
      return;
    }
    m_wait = Wait::none;
    on_read(beast::error_code(errno, boost::system::system_category()), 0);
    return;
  }
}

// The socket has nothing to read: the session waits for its next read
// event, registering the socket first if it never had to wait before.
void Session::wait_until_readable()
{
  if (!m_watched && !watch_for(EventLoop::k_connection_events)) {
    close();
  }
}

// Registers the socket with the worker's loop for `events`, or changes what
// it is registered for. Edge-triggered: what is ready already is reported.
// False (logged) when epoll refuses it.
bool Session::watch_for(std::uint32_t events)
{
  auto& loop = m_worker.loop();
  if (!(m_watched ? loop.rewatch(m_socket.get(), events, this)
                  : loop.watch(m_socket.get(), events, this))) {
    log_error(fmt::format("cannot watch a connection: {}", std::system_category().message(errno)));
    return false;
  }
  m_watched = true;
  return true;
}

void Session::on_read(beast::error_code ec, std::size_t n)
{
  if (ec) {
    close(); // gone, or broken
    return;
  }
  m_buffer.commit(n);
  parse();
}

// Parses the header from the buffered bytes; reads more if it is not whole.
void Session::parse()
{
  if (!m_parser) {
    m_idle = false;
    m_parser.emplace(m_head);
    m_parser->header_limit(k_header_limit);
    m_header_bytes = 0;
    // The whole header must arrive within header_timeout of its first byte.
    set_deadline(m_state.header_timeout());
  }
  beast::error_code ec;
  const auto used = m_parser->put(m_buffer.data(), ec);
  if (folded({ static_cast<const char*>(m_buffer.data().data()), used })) {
    m_head.obs_fold = true;
  }
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

void Session::on_header(beast::error_code ec)
{
  m_start = Clock::now();
  if (ec == http::error::header_limit) {
    respond_error(431, "request header is larger than 8 KiB");
    return;
  }
  if (ec) {
    respond_error(400, fmt::format("malformed HTTP request ({})", ec.message()));
    return;
  }
  if (const auto why = refusal(*m_parser, m_head, m_valid_host); !why.empty()) {
    respond_error(400, why);
    return;
  }
  if (m_head.host_count == 1) {
    m_valid_host = m_head.host; // no allocation once it has held a Host this long
  }
  try {
    answer();
  } catch (const std::exception&) {
    // A bug, or memory exhausted: answer 500 (revealing nothing) and close,
    // rather than let the exception take the daemon down.
    m_file.close();
    respond_error(500, "");
    return;
  }
  // Outside the try: what follows the response (the log, the next
  // request) must not answer this one a second time.
  send_response();
}

// Sends the response answer() made: the head and body in m_out (and a
// shared body), or the head and a mirror file's bytes.
void Session::send_response()
{
  if (m_file.pending()) {
    m_file.set_head(m_out);
    // What sendfile needs, once per connection.
    if (!m_sends_files) {
      m_sends_files = true;
      limit_unsent_bytes(m_socket.get());
    }
    set_deadline(m_state.idle_timeout());
    send_file();
    return;
  }
  write();
}

void Session::answer()
{
  const auto& head = m_head;
  const auto& served = m_worker.served(); // this request's, whatever a reload does
  const auto& snapshot = served.snapshot();
  ApiRequest request;
  request.method = head.method_text;
  request.target = head.target;
  request.authorization = head.authorization.view();
  request.user_agent = head.user_agent;
  request.if_none_match = head.if_none_match.view();
  request.accept_encoding = head.accept_encoding;
  auto& response = m_response;
  // GET and HEAD get the same response (the transport leaves HEAD's body out).
  const bool same_as_get = head.method == http::verb::get || head.method == http::verb::head;
  auto& answers = m_worker.answers();
  const auto generation = m_worker.served_generation();
  if (!same_as_get || !answers.find(generation, request.target, request.authorization, response)) {
    ApiContext context; // only for a request not answered from the cache
    if (m_state.metrics_enabled()) {
      context.metrics = [this] { return m_state.metrics().render(); };
    }
    if (snapshot.catalog().storage.signer) {
      context.now = std::chrono::system_clock::now(); // a signature expires from now
    }
    handle(snapshot, request, context, response);
    // A redirect to an unsigned Location depends on nothing but the
    // catalog and the request: the next same request is answered from here.
    if (same_as_get && response.status == 302 && !snapshot.catalog().storage.signer &&
        response.body.empty() && !response.shared_body && !response.file) {
      answers.store(generation, request.target, request.authorization, response);
    }
  }
  std::uint64_t content_length = response.content().size();
  if (response.file) {
    content_length = open_file(served, response);
  }
  const bool keep_alive = m_parser->keep_alive() && !m_state.draining();
  const auto body = response.content();

  m_out.clear();
  append_response_head(m_out,
                       response,
                       { .version = head.version,
                         .date = http_date(),
                         .content_length = content_length,
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
  m_location.clear();
  m_location_signed = response.location_signed;
  if (response.status == 302 && m_state.logging()) {
    m_location = response.headers.find("Location").value_or("");
  }
}

// Opens the mirror file `response` names and puts its answer (or the
// error) in `response`; returns the Content-Length. The file's bytes wait
// in m_file, to go after the head.
std::uint64_t Session::open_file(const Served& served, ApiResponse& response)
{
  const auto& head = m_head;
  const auto path = std::move(*response.file);
  const auto token_name = response.token_name;
  auto opened = open_beneath(served.root(), path);
  if (!opened) {
    response = mirror::open_failure_response(opened.error(), path);
    response.token_name = token_name;
    return response.body.size();
  }
  auto answer = mirror::answer_file(path,
                                    opened->identity,
                                    { .head = head.method == http::verb::head,
                                      .range = head.range.view(),
                                      .if_range = head.if_range.view(),
                                      .if_none_match = head.if_none_match.view(),
                                      .if_modified_since = head.if_modified_since.view() });
  response = std::move(answer.response);
  response.token_name = token_name;
  if (answer.length > 0) {
    m_file.open(std::move(opened->fd), answer.offset, answer.length);
  }
  return answer.content_length;
}

// Sends the head and the file's bytes as the socket takes them, waiting for
// it to be writable in between: a slow reader holds no thread. Each wake-up
// means the reader took bytes, so the deadline moves on; a reader that
// stops taking them is cut off after idle_timeout, as write() does.
void Session::send_file()
{
  m_wait = Wait::file;
  if (m_socket.get() < 0) {
    return;
  }
  if (!m_writable) {
    return; // on_events() calls back
  }
  std::error_code error;
  const auto progress = m_file.send(m_socket.get(), error);
  switch (progress) {
    case FileSender::Progress::done:
      m_wait = Wait::none;
      on_file_sent({});
      return;
    case FileSender::Progress::blocked:
      // Each wake-up means the reader took bytes: the deadline moves on.
      set_deadline(m_state.idle_timeout());
      wait_until_writable();
      return;
    case FileSender::Progress::turn:
      set_deadline(m_state.idle_timeout());
      m_wait = Wait::none;
      m_worker.loop().defer([self = shared_from_this()] {
        if (self->m_socket.get() >= 0) {
          self->send_file();
        }
      });
      return;
    case FileSender::Progress::failed:
      m_wait = Wait::none;
      on_file_sent(beast::error_code(error));
      return;
  }
}

void Session::on_file_sent(beast::error_code ec)
{
  m_body_bytes = m_file.sent();
  m_state.metrics().count_file_bytes(m_file.sent());
  if (!ec) {
    m_state.metrics().count_file_served();
  }
  m_file.close();
  on_write(ec);
}

// Answers a request that cannot be served, then closes: after a malformed
// header or an unread body, nothing more on this connection can be trusted.
void Session::respond_error(int status, std::string_view message)
{
  const auto response = transport_error(status, message);
  // HEAD: the same headers, no body. An HTTP/1.0 request is answered in 1.0.
  const bool parsed = m_parser && m_parser->is_header_done();
  const bool head = parsed && m_head.method == http::verb::head;
  m_out.clear();
  append_response_head(m_out,
                       response,
                       { .version = parsed ? m_head.version : 11,
                         .date = http_date(),
                         .content_length = response.body.size(),
                         .keep_alive = KeepAlive::no });
  if (!head) {
    m_out += response.body;
  }
  m_shared_body.reset();
  m_file.close(); // a file opened for a response that failed before it was sent
  m_body_bytes = head ? 0 : response.body.size();
  m_rejected = true;
  m_keep_alive = false;
  m_status = status;
  m_route = "unknown";
  m_token_name = {};
  m_location.clear();
  if (!parsed) {
    // What the log shows of a request whose header never completed.
    m_head.method_text = "-";
    m_head.target = "-";
  }
  m_head.user_agent.clear();
  write();
}

void Session::write()
{
  // A client that does not read its responses is cut off like an idle one.
  set_deadline(m_state.idle_timeout());
  m_written = 0;
  write_some();
}

// Writes what is left of the response (the head and a small body in m_out,
// then a shared body) with one send or sendmsg, as much as the socket takes.
void Session::write_some()
{
  m_wait = Wait::write;
  const std::string_view shared = m_shared_body ? std::string_view(*m_shared_body) : "";
  const auto total = m_out.size() + shared.size();
  // The last response of a connection, closed (or shut for writing) as soon
  // as it is written: held back for that, so that its last segment carries
  // the FIN too, one packet fewer for each side.
  const int flags = MSG_NOSIGNAL | (m_keep_alive ? 0 : MSG_MORE);
  while (m_written < total) {
    if (!m_writable) {
      return; // on_events() calls back
    }
    std::array<iovec, 2> parts{};
    std::size_t count = 0;
    if (m_written < m_out.size()) {
      parts[count++] = { m_out.data() + m_written, m_out.size() - m_written };
    }
    if (!shared.empty()) {
      const auto from = m_written > m_out.size() ? m_written - m_out.size() : 0;
      parts[count++] = { const_cast<char*>(shared.data()) + from, shared.size() - from };
    }
    ssize_t n = 0;
    if (count == 1) {
      // The usual case, the head and a small body in one buffer: send(2)
      // spares the kernel copying in a message header and an iovec.
      n = ::send(m_socket.get(), parts[0].iov_base, parts[0].iov_len, flags);
    } else {
      msghdr message{};
      message.msg_iov = parts.data();
      message.msg_iovlen = count;
      n = ::sendmsg(m_socket.get(), &message, flags);
    }
    if (n >= 0) {
      m_written += static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN) {
      wait_until_writable();
      continue;
    }
    m_wait = Wait::none;
    m_body_bytes = 0; // how much of it went out is not known
    on_write(beast::error_code(errno, boost::system::system_category()));
    return;
  }
  m_wait = Wait::none;
  on_write({});
}

// The socket is full: the write goes on at its next write event. A
// connection is watched for those only from its first full socket on, so
// that the many that never fill it cost no event for being writable.
void Session::wait_until_writable()
{
  m_writable = false;
  if (m_watching_writes) {
    return;
  }
  if (!watch_for(EventLoop::k_connection_write_events)) {
    time_out(); // the write cannot go on: counted and logged as cut short, then closed
    return;
  }
  m_watching_writes = true;
}

void Session::on_write(beast::error_code ec)
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
    entry.method = m_head.method_text.empty() ? "-" : std::string_view(m_head.method_text);
    entry.target = m_head.target.empty() ? "-" : std::string_view(m_head.target);
    entry.status = m_status;
    entry.bytes = m_body_bytes;
    entry.duration = elapsed;
    entry.route = m_route;
    entry.token_name = m_token_name;
    entry.location = m_location;
    entry.location_signed = m_location_signed;
    entry.user_agent = m_head.user_agent;
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
void Session::linger()
{
  ::shutdown(m_socket.get(), SHUT_WR);
  m_buffer.clear();
  m_linger_bytes = 0;
  set_deadline(k_linger_time);
  discard();
}

void Session::discard()
{
  m_wait = Wait::linger;
  std::array<char, 4096> scratch;
  while (m_readable) {
    const auto n = ::recv(m_socket.get(), scratch.data(), scratch.size(), 0);
    if (n > 0) {
      m_linger_bytes += static_cast<std::size_t>(n);
      if (m_linger_bytes > k_linger_bytes) {
        close();
        return;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && errno == EAGAIN) {
      m_readable = false;
      break;
    }
    close(); // the client's FIN, or an error
    return;
  }
  wait_until_readable(); // on_events() calls back
}

void Session::close()
{
  if (m_socket.get() < 0) {
    return;
  }
  // With nothing unread, close() alone sends the FIN; otherwise the client
  // gets a reset, which is what a timed-out or broken connection deserves.
  // Closing the descriptor takes it out of the loop's epoll set.
  m_deadline = {};
  m_wait = Wait::none;
  m_socket.reset();
  m_file.close();
  // Destroyed once the loop is done with this round of events.
  if (m_self) {
    m_worker.loop().defer([self = std::move(m_self)] {});
  }
}

void Session::time_out()
{
  // As a failed write would: the response is counted and logged, then the
  // connection closes.
  switch (m_wait) {
    case Wait::write:
      m_wait = Wait::none;
      m_body_bytes = 0;
      on_write(std::make_error_code(std::errc::timed_out));
      return;
    case Wait::file:
      m_wait = Wait::none;
      on_file_sent(std::make_error_code(std::errc::timed_out));
      return;
    default:
      close();
      return;
  }
}

// Sets when the current read or write must be done by. Registry::sweep
// enforces it, so no timer is armed and cancelled per operation.
void Session::set_deadline(std::chrono::seconds timeout)
{
  // The sweeper's clock: deadlines are only checked every Registry::k_sweep_interval,
  // so reading the real clock here, twice a request, would buy nothing.
  m_deadline = m_worker.registry().coarse_now() + timeout;
}

} // namespace agentdl::serve
