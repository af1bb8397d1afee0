#include "registry.hpp"

#include "session.hpp"

namespace agentdl::serve {

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

} // namespace agentdl::serve
