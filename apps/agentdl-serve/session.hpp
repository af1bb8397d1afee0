// One connection of agentdl-serve: read, parse, answer, write, linger, on
// the connection's own strand, with a deadline the registry's sweep enforces.
#pragma once

#include "file_sender.hpp"
#include "head_parser.hpp"
#include "transport.hpp"

#include <agentdl/api.hpp>

#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace agentdl::serve {

class Registry;
class Served;
class State;

// One client connection: reads requests one after the other (pipelined ones
// included, answered in order) and writes each response before reading on.
class Session : public std::enable_shared_from_this<Session>
{
public:
  // Takes `socket`, accepted from `peer`, and counts it in `state`'s connections.
  Session(Socket&& socket, const tcp::endpoint& peer, State& state, Registry& registry);
  // Leaves `registry` and the connection count.
  ~Session();

  // Joins the registry and starts reading requests.
  void start();

  // Answers 503 and closes: the server is at max_connections.
  void refuse();

  // Closes the connection if it waits for a request (a drain); a connection
  // in the middle of a request finishes it first.
  void close_if_idle();

  // Tells whether the session's deadline has passed at `now`.
  bool expired(Clock::time_point now) const
  {
    const auto deadline = m_deadline.load(std::memory_order_relaxed);
    return deadline != 0 && deadline <= now.time_since_epoch().count();
  }

  // Closes the connection: it was too slow or idle too long.
  void time_out();

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
  void close();
  void set_deadline(std::chrono::seconds timeout);

  Socket m_socket;
  tcp::endpoint m_peer;
  std::atomic<Clock::rep> m_deadline{ 0 };
  beast::flat_buffer m_buffer{ k_header_limit + 1024 };
  std::optional<HeadParser> m_parser;
  std::string m_out; // the response's head, and its body if not shared
  std::shared_ptr<const std::string> m_shared_body; // the body, when shared with other responses
  FileSender m_file;                                // a mirror file's bytes, sent after m_out
  State& m_state;
  Registry& m_registry;
  std::string m_remote; // m_peer as text, made when first logged
  bool m_idle = true;
  bool m_keep_alive = false;
  int m_status = 0;
  Clock::time_point m_start;
  std::size_t m_body_bytes = 0; // of the response being written: its body's bytes, then those sent
  std::size_t m_header_bytes = 0; // of the request being read
  std::size_t m_linger_bytes = 0; // discarded after the last response
  bool m_first_request = true;    // no request answered yet on this connection
  bool m_sends_files = false;     // the socket is set up for sendfile
  bool m_rejected = false;        // the last response refused its request
  std::string_view m_route = "unknown";
  std::string m_token_name;
  std::string m_location;         // the last response's Location, when it is logged
  bool m_location_signed = false; // ... and whether it is signed
};

} // namespace agentdl::serve
