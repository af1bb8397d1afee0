// The live sessions of agentdl-serve, for the drain and the deadline sweeper,
// and the coarse clock that deadlines are set against.
#pragma once

#include "transport.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace agentdl::serve {

class Session;

// Live sessions, so that a drain can close the idle ones.
class Registry
{
public:
  // How often connection deadlines are checked: the precision of every timeout.
  static constexpr auto k_sweep_interval = std::chrono::milliseconds(100);

  // Adds `session`, held by `weak` so that the registry never keeps it alive.
  void add(Session* session, std::weak_ptr<Session> weak)
  {
    std::lock_guard lock(m_mutex);
    m_sessions.emplace(session, std::move(weak));
  }
  // Removes `session` (from its destructor).
  void remove(Session* session)
  {
    std::lock_guard lock(m_mutex);
    m_sessions.erase(session);
  }
  // Returns the sessions still alive.
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

} // namespace agentdl::serve
