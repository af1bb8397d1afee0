// A catalog as agentdl-serve serves it: the loaded catalog, and the answers
// rendered from it once and shared by every request that uses it.
#pragma once

#include <agentdl/auth.hpp>
#include <agentdl/catalog.hpp>
#include <agentdl/page/page.hpp>

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agentdl {

// A mirror file and a release that lists it (an artifact's relative path).
struct ListedFile
{
  std::string_view path; // the artifact's path, held by the snapshot's catalog
  std::size_t release;   // index into Catalog::releases
};

// An immutable catalog and its shared answers. A reload makes a new
// Snapshot; a request keeps the one it started with. Thread-safe.
class Snapshot
{
public:
  explicit Snapshot(Catalog catalog);

  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  const Catalog& catalog() const { return m_catalog; }

  // Returns the downloads page, rendered with the snapshot; nullptr when
  // there is none (nothing public, or [page] enabled = false).
  const page::DownloadsPage* page() const { return m_page.get(); }

  // Returns the release list (releases_json) of `channel` as `scope` sees it,
  // rendered on first use and shared after: a slow reader of a large list
  // holds a reference, not a copy. Past k_cache_limit bytes of lists, a list
  // is rendered for its request alone.
  std::shared_ptr<const std::string> release_list(std::optional<ChannelId> channel,
                                                  const Scope& scope) const;

  // Returns the releases that list the mirror file `path` (relative to
  // [mirror] root), newest first; yanked ones do not count. Empty when none
  // does or the catalog has no [mirror]. O(log n) in the artifacts.
  std::span<const ListedFile> releases_with_file(std::string_view path) const;

  // Returns how many bytes of rendered lists are kept.
  std::size_t cached_bytes() const;

  // Bytes of release lists kept per snapshot, at most.
  static constexpr std::size_t k_cache_limit = 64 * 1024 * 1024;

private:
  Catalog m_catalog;
  std::vector<ListedFile> m_files; // with [mirror]: by path, then newest first
  std::unique_ptr<const page::DownloadsPage> m_page;
  mutable std::mutex m_mutex;
  mutable std::map<std::pair<std::optional<ChannelId>, Scope>, std::shared_ptr<const std::string>>
    m_lists;
  mutable std::size_t m_cached_bytes = 0;
};

} // namespace agentdl
