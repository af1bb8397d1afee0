#include <agentdl/output.hpp>
#include <agentdl/snapshot.hpp>

#include <algorithm>

namespace agentdl {

Snapshot::Snapshot(Catalog catalog)
  : m_catalog(std::move(catalog))
  , m_page(page::DownloadsPage::render(m_catalog))
{
  if (m_catalog.mirror.root.empty()) {
    return;
  }
  for (std::size_t r = 0; r < m_catalog.releases.size(); ++r) {
    const auto& release = m_catalog.releases[r];
    if (release.yanked) {
      continue; // never resolved, so never linked to
    }
    for (const auto& artifact : release.artifacts) {
      if (!artifact.path.empty()) {
        m_files.push_back({ artifact.path, r });
      }
    }
  }
  std::stable_sort(
    m_files.begin(), m_files.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
}

std::span<const ListedFile> Snapshot::releases_with_file(std::string_view path) const
{
  const auto [first, last] = std::equal_range(
    m_files.begin(), m_files.end(), ListedFile{ path, 0 }, [](const auto& a, const auto& b) {
      return a.path < b.path;
    });
  return { first, last };
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
