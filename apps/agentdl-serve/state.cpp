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
  if (m_access_log_fd >= 0) {
    m_log_writer = std::thread([this] { write_log_lines(); });
  }
}

State::~State()
{
  {
    std::lock_guard lock(m_log_mutex);
    m_log_stop = true;
  }
  m_log_ready.notify_one();
  if (m_log_writer.joinable()) {
    m_log_writer.join(); // writes what is queued first
  }
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

void State::log_access(const AccessEntry& entry)
{
  if (m_access_log_fd < 0) {
    return;
  }
  auto line = access_log_line(entry);
  {
    std::lock_guard lock(m_log_mutex);
    if (m_log_queue.size() >= k_log_queue_limit) {
      m_metrics.count_log_dropped();
      return;
    }
    m_log_queue.push_back(std::move(line));
  }
  m_log_ready.notify_one();
}

void State::write_log_lines()
{
  std::vector<std::string> batch;
  while (true) {
    {
      std::unique_lock lock(m_log_mutex);
      m_log_ready.wait(lock, [this] { return m_log_stop || !m_log_queue.empty(); });
      if (m_log_queue.empty()) {
        return; // stopping, and everything is written
      }
      batch.swap(m_log_queue);
    }
    // Whole lines in one buffer, one write(2) per batch where the pipe takes it.
    std::string out;
    for (const auto& line : batch) {
      out += line;
    }
    batch.clear();
    std::size_t written = 0;
    while (written < out.size()) {
      const auto n = ::write(m_access_log_fd, out.data() + written, out.size() - written);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        break; // a full disk or a closed pipe must not take the server down
      }
      written += static_cast<std::size_t>(n);
    }
  }
}

} // namespace agentdl::serve
