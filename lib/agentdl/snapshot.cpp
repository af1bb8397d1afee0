#include <agentdl/output.hpp>
#include <agentdl/snapshot.hpp>

namespace agentdl {

Snapshot::Snapshot(Catalog catalog)
  : m_catalog(std::move(catalog))
{
}

std::shared_ptr<const std::string> Snapshot::release_list(std::optional<ChannelId> channel,
                                                          const Scope& scope) const
{
  auto key = std::make_pair(channel, scope);
  {
    std::lock_guard lock(m_mutex);
    if (const auto it = m_lists.find(key); it != m_lists.end()) {
      return it->second;
    }
  }
  // Rendered outside the lock: a large list must not hold up other callers.
  auto list = std::make_shared<const std::string>(releases_json(m_catalog, channel, scope));
  std::lock_guard lock(m_mutex);
  if (m_cached_bytes + list->size() > k_cache_limit) {
    return list;
  }
  const auto [it, added] = m_lists.emplace(std::move(key), list);
  if (added) {
    m_cached_bytes += list->size();
  }
  return it->second; // the first one rendered, if two raced
}

std::size_t Snapshot::cached_bytes() const
{
  std::lock_guard lock(m_mutex);
  return m_cached_bytes;
}

} // namespace agentdl
