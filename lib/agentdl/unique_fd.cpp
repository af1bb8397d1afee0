#include <agentdl/unique_fd.hpp>

#include <unistd.h>

namespace agentdl {

void UniqueFd::reset()
{
  if (m_fd >= 0) {
    ::close(m_fd);
    m_fd = -1;
  }
}

} // namespace agentdl
