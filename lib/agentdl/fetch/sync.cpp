#include <agentdl/fetch/sync.hpp>

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>

namespace agentdl::fetch {

namespace {

// Tells a SyncProgress what download() tells the Progress of one item.
class ItemProgress final : public Progress
{
public:
  ItemProgress(SyncProgress& to, std::size_t index)
    : m_to(to)
    , m_index(index)
  {
  }

  void start(std::uint64_t offset, std::optional<std::uint64_t> expected) override
  {
    m_offset = offset;
    m_expected = expected;
    m_to.transfer(m_index, offset, expected);
  }

  void update(std::uint64_t received, std::uint64_t total) override
  {
    const auto expected = m_expected || total == 0 ? m_expected : m_offset + total;
    m_to.transfer(m_index, m_offset + received, expected);
  }

  // Called after every request for the file, whatever came of it.
  void clear() override { m_transferred = true; }

  bool transferred() const { return m_transferred; }

private:
  SyncProgress& m_to;
  std::size_t m_index;
  std::uint64_t m_offset = 0;
  std::optional<std::uint64_t> m_expected;
  bool m_transferred = false;
};

Error interrupted_error()
{
  return Error(Errc::interrupted, "interrupted");
}

// Fetches item `index`; returns what became of it.
ItemResult fetch_one(HttpClient& client,
                     const std::filesystem::path& target,
                     std::size_t index,
                     const Locate& locate,
                     SyncProgress& progress)
{
  ItemResult result;
  if (client.cancelled()) {
    result.error = interrupted_error();
    return result;
  }
  ItemProgress item(progress, index);
  try {
    auto wanted = locate(client, index);
    const auto done = wanted ? download(client, *wanted, target, Force::no, item)
                             : Expected<void>(std::unexpected(std::move(wanted).error()));
    if (!done) {
      result.error = done.error();
    }
  } catch (const std::exception& e) {
    result.error = Error(Errc::internal, std::string("unexpected internal error: ") + e.what());
  }
  result.transferred = item.transferred();
  if (result.error && client.cancelled()) {
    // Whatever the transfer said as it was cut short, it was the signal.
    result.error = interrupted_error();
  }
  return result;
}

} // namespace

Expected<std::vector<ItemResult>> fetch_all(const std::vector<std::filesystem::path>& targets,
                                            const Locate& locate,
                                            unsigned jobs,
                                            const HttpSettings& settings,
                                            const CancelToken& cancel,
                                            SyncProgress& progress)
{
  std::vector<ItemResult> results(targets.size());
  const auto threads = std::clamp<std::size_t>(jobs, 1, std::max<std::size_t>(targets.size(), 1));
  std::vector<HttpClient> clients;
  for (std::size_t i = 0; i < threads && !targets.empty(); ++i) {
    clients.push_back(AGENTDL_TRY(HttpClient::create(settings, cancel)));
  }
  std::atomic<std::size_t> next = 0;
  const auto work = [&](HttpClient& client) {
    for (auto i = next.fetch_add(1); i < targets.size(); i = next.fetch_add(1)) {
      results[i] = fetch_one(client, targets[i], i, locate, progress);
      progress.finished(i, results[i]);
    }
  };
  {
    std::vector<std::jthread> pool;
    for (std::size_t i = 1; i < clients.size(); ++i) {
      pool.emplace_back(work, std::ref(clients[i]));
    }
    if (!clients.empty()) {
      work(clients[0]);
    }
  }
  return results;
}

} // namespace agentdl::fetch
