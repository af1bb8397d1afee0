// One worker's event loop in agentdl-serve: epoll, as nginx uses it. A
// connection is registered once, edge-triggered for reading, and modified
// at most once more, to watch for writing when a response first fills its
// socket (most never do); a read shorter than its buffer is taken as
// "drained", so the next read waits for the next event instead of trying
// and getting EAGAIN. Asio's reactor cannot be told either (it reads
// speculatively after every read, and registers and deregisters each
// accepted socket separately), which costs a system call per request or
// more; see bench/README.md. Free of Asio.
#pragma once

#include <agentdl/unique_fd.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace agentdl::serve {

// Something the loop watches: a listening socket or a connection.
class Watched
{
public:
  virtual ~Watched() = default;
  // Called on the loop's thread with the epoll events that arrived.
  virtual void on_events(std::uint32_t events) = 0;
};

class EventLoop
{
public:
  // The events a connection is registered for at first: reading only, so
  // that a new connection, writable at once, raises no event for it.
  static constexpr std::uint32_t k_connection_events = 0x001 | 0x2000 | (1U << 31);
  // EPOLLIN | EPOLLRDHUP | EPOLLET (checked in event_loop.cpp)
  // ... and once a write first finds the socket full, writing too, for good.
  static constexpr std::uint32_t k_connection_write_events = k_connection_events | 0x004;
  // ... | EPOLLOUT
  // A listening socket: level-triggered, one accept per event, as nginx.
  static constexpr std::uint32_t k_listener_events = 0x001; // EPOLLIN

  EventLoop() = default;
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Creates the epoll instance and the wake-up descriptor; the error says why not.
  std::optional<std::string> open();

  // Watches `fd` for `events`, reported to `who` until the descriptor is
  // closed or unwatch()ed. Returns false (errno set) when epoll refuses it.
  bool watch(int fd, std::uint32_t events, Watched* who);
  // Changes what `fd`, watched for `who`, is watched for. Returns false
  // (errno set) when epoll refuses it.
  bool rewatch(int fd, std::uint32_t events, Watched* who);
  // Stops watching `fd`.
  void unwatch(int fd);

  // Runs `task` on the loop's thread once the events at hand are handled
  // (a task deferred by a deferred task: in the next round, after new
  // events); call from that thread only. Not on the hot path: a closing
  // connection, a pipelined request, a file's next turn (libstdc++'s
  // std::function allocates for a lambda that holds a shared_ptr).
  void defer(std::function<void()> task) { m_deferred.push_back(std::move(task)); }

  // Runs `task` on the loop's thread soon; from any thread.
  void post(std::function<void()> task);

  // Makes run() return; from any thread.
  void stop();

  // Waits for events and runs them, the deferred tasks and the posted ones,
  // and `tick` every `interval`, until stop(). Returns when stopped. An
  // exception from one handler or task is logged and the others still run.
  void run(std::chrono::milliseconds interval, const std::function<void()>& tick);

private:
  void wake();
  void run_deferred();

  UniqueFd m_epoll;
  UniqueFd m_wake; // an eventfd: post() and stop() write to it
  std::vector<std::function<void()>> m_deferred;
  std::vector<std::function<void()>> m_running;
  std::mutex m_posted_mutex;
  std::vector<std::function<void()>> m_posted; // guarded by m_posted_mutex
  std::atomic<bool> m_stop{ false };
};

} // namespace agentdl::serve
