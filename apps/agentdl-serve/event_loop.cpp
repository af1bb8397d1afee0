#include "event_loop.hpp"

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <exception>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <system_error>
#include <thread>
#include <unistd.h>

namespace agentdl::serve {

static_assert(EventLoop::k_connection_events == (EPOLLIN | EPOLLRDHUP | EPOLLET));
static_assert(EventLoop::k_connection_write_events == (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET));
static_assert(EventLoop::k_listener_events == EPOLLIN);

std::optional<std::string> EventLoop::open()
{
  m_epoll = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
  if (m_epoll.get() < 0) {
    return std::system_category().message(errno);
  }
  m_wake = UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (m_wake.get() < 0) {
    return std::system_category().message(errno);
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = nullptr; // the wake-up descriptor
  if (::epoll_ctl(m_epoll.get(), EPOLL_CTL_ADD, m_wake.get(), &event) != 0) {
    return std::system_category().message(errno);
  }
  return std::nullopt;
}

bool EventLoop::watch(int fd, std::uint32_t events, Watched* who)
{
  epoll_event event{};
  event.events = events;
  event.data.ptr = who;
  return ::epoll_ctl(m_epoll.get(), EPOLL_CTL_ADD, fd, &event) == 0;
}

bool EventLoop::rewatch(int fd, std::uint32_t events, Watched* who)
{
  epoll_event event{};
  event.events = events;
  event.data.ptr = who;
  return ::epoll_ctl(m_epoll.get(), EPOLL_CTL_MOD, fd, &event) == 0;
}

void EventLoop::unwatch(int fd)
{
  epoll_event event{};
  ::epoll_ctl(m_epoll.get(), EPOLL_CTL_DEL, fd, &event);
}

void EventLoop::post(std::function<void()> task)
{
  {
    std::lock_guard lock(m_posted_mutex);
    m_posted.push_back(std::move(task));
  }
  wake();
}

void EventLoop::stop()
{
  m_stop.store(true, std::memory_order_release);
  wake();
}

void EventLoop::wake()
{
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto written = ::write(m_wake.get(), &one, sizeof one);
}

namespace {

// Runs `task`; an exception it throws (a bug, or memory exhausted) is
// logged, and the loop goes on with the next one.
template<typename Task>
void run_guarded(Task&& task)
{
  try {
    task();
  } catch (const std::exception& e) {
    fmt::print(stderr, "agentdl-serve: unexpected error in a connection handler: {}\n", e.what());
  }
}

} // namespace

void EventLoop::run_deferred()
{
  // One round: what these tasks defer runs in the next round, after the
  // events that arrived meanwhile, so that a connection that always has
  // more to do (a long pipeline, a fast file reader) cannot keep the loop
  // from the others, the sweeper or a drain.
  m_running.swap(m_deferred);
  for (auto& task : m_running) {
    run_guarded(task);
  }
  m_running.clear();
}

void EventLoop::run(std::chrono::milliseconds interval, const std::function<void()>& tick)
{
  std::array<epoll_event, 256> events;
  auto next_tick = std::chrono::steady_clock::now();
  while (!m_stop.load(std::memory_order_acquire)) {
    auto now = std::chrono::steady_clock::now();
    if (now >= next_tick) {
      tick();
      run_deferred();
      next_tick = now + interval;
    }
    // With tasks waiting, only look for events; else sleep until the tick.
    const auto wait =
      m_deferred.empty()
        ? std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - now).count() + 1
        : 0;
    const int n = ::epoll_wait(
      m_epoll.get(), events.data(), static_cast<int>(events.size()), static_cast<int>(wait));
    if (n < 0) {
      if (errno != EINTR) {
        // Not expected of a valid epoll descriptor; do not spin on it.
        fmt::print(
          stderr, "agentdl-serve: epoll_wait failed: {}\n", std::system_category().message(errno));
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      continue;
    }
    bool woken = false;
    for (int i = 0; i < n; ++i) {
      auto* who = static_cast<Watched*>(events[static_cast<std::size_t>(i)].data.ptr);
      if (who == nullptr) {
        woken = true;
        continue;
      }
      run_guarded([&] { who->on_events(events[static_cast<std::size_t>(i)].events); });
    }
    run_deferred();
    if (woken) {
      std::uint64_t count = 0;
      [[maybe_unused]] const auto read = ::read(m_wake.get(), &count, sizeof count);
      std::vector<std::function<void()>> posted;
      {
        std::lock_guard lock(m_posted_mutex);
        posted.swap(m_posted);
      }
      for (auto& task : posted) {
        run_guarded(task);
      }
      run_deferred();
    }
  }
}

} // namespace agentdl::serve
