#include "registry.hpp"

#include "session.hpp"

#include <memory>
#include <vector>

namespace agentdl::serve {

Registry::Registry() = default;

Registry::~Registry() = default;

void Registry::add(Session& session)
{
  m_sessions.push_back(session);
}

template<typename Pick, typename End>
void Registry::close_each(Pick pick, End end)
{
  // Ending a session may destroy it (and so unlink it): pick first, holding
  // a reference to each, then end them.
  std::vector<std::shared_ptr<Session>> picked;
  for (auto& session : m_sessions) {
    if (pick(session)) {
      picked.push_back(session.shared_from_this());
    }
  }
  for (auto& session : picked) {
    end(*session);
  }
}

void Registry::sweep(Clock::time_point now)
{
  m_coarse_now = now;
  close_each([now](const Session& session) { return session.expired(now); },
             [](Session& session) { session.time_out(); });
}

void Registry::close_idle()
{
  close_each([](const Session& session) { return session.idle(); },
             [](Session& session) { session.close(); });
}

void Registry::close_all()
{
  close_each([](const Session&) { return true; }, [](Session& session) { session.close(); });
}

} // namespace agentdl::serve
