// One connection of agentdl-serve: read, parse, answer, write, linger, on
// the thread of the worker that accepted it, with a deadline the worker's
// sweep enforces.
#pragma once

#include "event_loop.hpp"
#include "file_sender.hpp"
#include "head_parser.hpp"
#include "registry.hpp"
#include "transport.hpp"

#include <agentdl/api.hpp>
#include <agentdl/unique_fd.hpp>

#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace agentdl::serve {

class Served;
class State;
class Worker;

// One client connection: reads requests one after the other (pipelined ones
// included, answered in order) and writes each response before reading on.
// Everything it does runs on its worker's thread.
class Session final
  : public std::enable_shared_from_this<Session>
  , public RegistryHook
  , public Watched
{
public:
  // Takes `socket` (non-blocking, not yet watched: the session registers it
  // with the worker's loop when it first has to wait), accepted from `peer`
  // by `worker`, and counts it in the connections.
  Session(UniqueFd socket, const tcp::endpoint& peer, Worker& worker);
  // Leaves the worker's registry and the connection count.
  ~Session();

  // Called before start() or refuse() when the socket's first bytes are in
  // ([server] defer_accept): they are read at once, without an event.
  void arrived_with_data() { m_readable = true; }

  // Joins the worker's registry and starts reading requests.
  void start();

  // Answers 503 and closes: the server is at max_connections.
  void refuse();

  // Tells whether the connection waits for a request (a drain closes those;
  // a connection in the middle of a request finishes it first).
  bool idle() const { return m_idle; }

  // Tells whether the session's deadline has passed at `now`.
  bool expired(Clock::time_point now) const
  {
    return m_deadline != Clock::time_point() && m_deadline <= now;
  }

  // Closes the connection now, whatever it was doing.
  void close();

  // Closes the connection: it was too slow or idle too long. A response
  // being written is counted and logged as cut short, as a failed write is.
  void time_out();

  // The socket's readiness, from the worker's loop.
  void on_events(std::uint32_t events) override;

private:
  static constexpr std::size_t k_header_limit = 8 * 1024;

  // What the session waits for the socket to be ready for.
  enum class Wait
  {
    none,
    read,   // a request's bytes: read()
    write,  // room for the response: write_some()
    file,   // room for a file's bytes: send_file()
    linger, // the client's FIN, discarding what it sends: discard()
  };

  void wait_for_request();
  void read();
  void on_read(beast::error_code ec, std::size_t n);
  void wait_until_readable();
  void write_some();
  void wait_until_writable();
  bool watch_for(std::uint32_t events);
  void parse();
  void on_header(beast::error_code ec);
  void answer();
  void send_response();
  std::uint64_t open_file(const Served& served, ApiResponse& response);
  void send_file();
  void on_file_sent(beast::error_code ec);
  void respond_error(int status, std::string_view message);
  void write();
  void on_write(beast::error_code ec);
  void linger();
  void discard();
  void set_deadline(std::chrono::seconds timeout);

  UniqueFd m_socket;
  tcp::endpoint m_peer;
  std::shared_ptr<Session> m_self; // keeps the session alive while its socket is open
  Wait m_wait = Wait::none;
  bool m_readable = false;        // no read since the last read event found the socket empty
  bool m_writable = true;         // no write since the last write event found it full
  bool m_watched = false;         // registered with the worker's loop
  bool m_watching_writes = false; // ... for write events too (after a full socket)
  bool m_peer_closed = false;     // the client shut its side (or the connection broke)
  std::size_t m_written = 0;      // of the response being written (m_out, then m_shared_body)
  Worker& m_worker;
  State& m_state;
  Clock::time_point m_deadline; // none when zero
  beast::flat_buffer m_buffer{ k_header_limit + 1024 };
  RequestHead m_head;                 // the request being answered
  std::optional<HeadParser> m_parser; // reading m_head
  ApiResponse m_response;             // the response to it, kept for its memory
  std::string m_out;                  // the response's head, and its body if not shared
  std::shared_ptr<const std::string> m_shared_body; // the body, when shared with other responses
  FileSender m_file;                                // a mirror file's bytes, sent after m_out
  std::string m_remote;                             // m_peer as text, made when first logged
  bool m_idle = true;
  bool m_keep_alive = false;
  int m_status = 0;
  Clock::time_point m_start;
  std::size_t m_body_bytes = 0; // of the response being written: its body's bytes, then those sent
  std::size_t m_header_bytes = 0; // of the request being read
  std::size_t m_linger_bytes = 0; // discarded after the last response
  bool m_first_request = true;    // no request answered yet on this connection
  bool m_sends_files = false;     // the socket is set up for sendfile
  bool m_no_delay = false;        // TCP_NODELAY is set
  bool m_rejected = false;        // the last response refused its request
  std::string_view m_route = "unknown";
  std::string m_token_name;
  std::string m_location;         // the last response's Location, when it is logged
  bool m_location_signed = false; // ... and whether it is signed
  std::string m_valid_host;       // the last Host value found valid on this connection
};

} // namespace agentdl::serve
