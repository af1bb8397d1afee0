#include "state.hpp"

#include <cerrno>
#include <malloc.h>
#include <unistd.h>

namespace agentdl::serve {

State::State(std::string config_path, std::shared_ptr<const Catalog> catalog, int access_log_fd)
  : m_config_path(std::move(config_path))
  , m_catalog(std::move(catalog))
  , m_settings(m_catalog.load()->server)
  , m_access_log_fd(access_log_fd)
{
  m_metrics.set_releases(m_catalog.load()->releases.size());
  malloc_trim(0); // as after a reload
}

std::string State::reload()
{
  std::lock_guard lock(m_reload_mutex);
  auto loaded = load_catalog(m_config_path);
  m_metrics.count_reload(loaded.has_value());
  if (!loaded) {
    return loaded.error().message;
  }
  auto next = std::make_shared<const Catalog>(std::move(*loaded));
  m_metrics.set_releases(next->releases.size());
  m_catalog.store(std::move(next), std::memory_order_release);
  // Loading a catalog builds a TOML tree several times the catalog's size;
  // give those pages back rather than keep them for the daemon's life.
  malloc_trim(0);
  return {};
}

void State::log_access(const AccessEntry& entry) const
{
  if (m_access_log_fd < 0) {
    return;
  }
  // One write(2) per line: lines from different threads never interleave.
  const auto line = access_log_line(entry);
  std::size_t written = 0;
  while (written < line.size()) {
    const auto n = ::write(m_access_log_fd, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return; // a full disk must not take the server down; the line is lost
    }
    written += static_cast<std::size_t>(n);
  }
}

} // namespace agentdl::serve
