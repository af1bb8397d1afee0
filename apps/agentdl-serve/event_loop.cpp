#include "event_loop.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <system_error>
#include <unistd.h>

namespace agentdl::serve {

static_assert(EventLoop::k_connection_events == (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET));
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

void EventLoop::run_deferred()
{
  // A task may defer more: they run in the next round, after new events.
  while (!m_deferred.empty()) {
    m_running.swap(m_deferred);
    for (auto& task : m_running) {
      task();
    }
    m_running.clear();
  }
}

void EventLoop::run(std::chrono::milliseconds interval, const std::function<void()>& tick)
{
  // After a handler threw (the worker logs it and calls run() again), the
  // round it was in is not resumed: tasks it left are dropped.
  m_running.clear();
  std::array<epoll_event, 256> events;
  auto next_tick = std::chrono::steady_clock::now();
  while (!m_stop.load(std::memory_order_acquire)) {
    auto now = std::chrono::steady_clock::now();
    if (now >= next_tick) {
      tick();
      run_deferred();
      next_tick = now + interval;
    }
    const auto wait =
      std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - now).count() + 1;
    const int n = ::epoll_wait(
      m_epoll.get(), events.data(), static_cast<int>(events.size()), static_cast<int>(wait));
    if (n < 0) {
      continue; // EINTR
    }
    bool woken = false;
    for (int i = 0; i < n; ++i) {
      auto* who = static_cast<Watched*>(events[static_cast<std::size_t>(i)].data.ptr);
      if (who == nullptr) {
        woken = true;
        continue;
      }
      who->on_events(events[static_cast<std::size_t>(i)].events);
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
        task();
      }
      run_deferred();
    }
  }
}

} // namespace agentdl::serve
