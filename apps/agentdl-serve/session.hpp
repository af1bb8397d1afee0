// One connection of agentdl-serve: read, parse, answer, write, linger, on
// the thread of the worker that accepted it, with a deadline the worker's
// sweep enforces.
#pragma once

#include "file_sender.hpp"
#include "head_parser.hpp"
#include "registry.hpp"
#include "transport.hpp"

#include <agentdl/api.hpp>

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
class Session
  : public std::enable_shared_from_this<Session>
  , public RegistryHook
{
public:
  // Takes `socket`, accepted from `peer` by `worker`, and counts it in the
  // connections.
  Session(Socket&& socket, const tcp::endpoint& peer, Worker& worker);
  // Leaves the worker's registry and the connection count.
  ~Session();

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

  // Closes the connection; its pending operations end with an error.
  void close();

private:
  static constexpr std::size_t k_header_limit = 8 * 1024;

  void wait_for_request();
  void read();
  void on_read(beast::error_code ec, std::size_t n);
  void parse();
  void on_header(beast::error_code ec);
  void answer();
  std::uint64_t open_file(const Served& served, ApiResponse& response);
  void send_file();
  void on_file_sent(beast::error_code ec);
  void respond_error(int status, std::string_view message);
  void write();
  void on_write(beast::error_code ec);
  void linger();
  void discard();
  void set_deadline(std::chrono::seconds timeout);

  Socket m_socket;
  tcp::endpoint m_peer;
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
};

} // namespace agentdl::serve
