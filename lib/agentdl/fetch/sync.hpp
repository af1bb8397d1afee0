// Fetching many files at once, for `agentdl mirror sync`: a pool of threads,
// each with its own HttpClient, over download(), all stopped by one
// CancelToken, reporting to the host through SyncProgress.
#pragma once

#include <agentdl/error.hpp>
#include <agentdl/fetch/cancel.hpp>
#include <agentdl/fetch/download.hpp>
#include <agentdl/fetch/http.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <vector>

namespace agentdl::fetch {

// Returns what to download for item `index`, asked by the thread that takes
// the item, just before it downloads it (a signed URL is then fresh).
using Locate = std::function<Expected<Wanted>(HttpClient& client, std::size_t index)>;

// What became of one item.
struct ItemResult
{
  bool transferred = false;   // bytes were asked for (false: the target already was the file)
  std::optional<Error> error; // why it failed; Errc::interrupted when cancelled before or during
};

// Receives the progress of each item; called from the fetching threads, at
// the same time for different items, so an implementation must lock.
class SyncProgress
{
public:
  virtual ~SyncProgress() = default;

  // Tells that item `index` has `done` bytes on disk, of `expected` when known.
  virtual void transfer(std::size_t index,
                        std::uint64_t done,
                        std::optional<std::uint64_t> expected) = 0;

  // Tells that item `index` is over: fetched, found in place, or failed.
  virtual void finished(std::size_t index, const ItemResult& result) = 0;

protected:
  SyncProgress() = default;
  SyncProgress(const SyncProgress&) = default;
  SyncProgress& operator=(const SyncProgress&) = default;
};

// Downloads items 0 to `targets.size()` - 1 with up to `jobs` threads: item
// i to `targets[i]` from what `locate` says for it, each through download()
// (resuming a .part, verifying, renaming). A failed item does not stop the
// others. Once `cancel` is raised, no item starts and those running stop,
// keeping their .part. Returns each item's result, in order; fails only when
// no HttpClient can be made.
Expected<std::vector<ItemResult>> fetch_all(const std::vector<std::filesystem::path>& targets,
                                            const Locate& locate,
                                            unsigned jobs,
                                            const HttpSettings& settings,
                                            const CancelToken& cancel,
                                            SyncProgress& progress);

} // namespace agentdl::fetch
