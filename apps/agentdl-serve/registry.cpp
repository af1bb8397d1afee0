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

template<typename Pick>
void Registry::close_each(Pick pick)
{
  // Closing cancels the session's operations, whose handlers run later, so
  // no session leaves the list during the loop; the references only make
  // that hold whatever close() does.
  std::vector<std::shared_ptr<Session>> picked;
  for (auto& session : m_sessions) {
    if (pick(session)) {
      picked.push_back(session.shared_from_this());
    }
  }
  for (auto& session : picked) {
    session->close();
  }
}

void Registry::sweep(Clock::time_point now)
{
  m_coarse_now = now;
  close_each([now](const Session& session) { return session.expired(now); });
}

void Registry::close_idle()
{
  close_each([](const Session& session) { return session.idle(); });
}

} // namespace agentdl::serve
