#include <agentdl/fetch/sync.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

using agentdl::Errc;
using agentdl::Error;
using agentdl::fetch::CancelToken;
using agentdl::fetch::fetch_all;
using agentdl::fetch::HttpClient;
using agentdl::fetch::ItemResult;
using agentdl::fetch::Wanted;

namespace {

// Records what the runner tells, from whichever thread.
class Recorder final : public agentdl::fetch::SyncProgress
{
public:
  void transfer(std::size_t, std::uint64_t, std::optional<std::uint64_t>) override {}

  void finished(std::size_t index, const ItemResult& result) override
  {
    const std::scoped_lock lock(m_mutex);
    finished_items.push_back(
      fmt::format("{} {}", index, result.error ? result.error->message : std::string("ok")));
  }

  std::vector<std::string> sorted() const
  {
    auto out = finished_items;
    std::sort(out.begin(), out.end());
    return out;
  }

  std::vector<std::string> finished_items;

private:
  std::mutex m_mutex;
};

std::vector<std::filesystem::path> targets(std::size_t n)
{
  std::vector<std::filesystem::path> out;
  for (std::size_t i = 0; i < n; ++i) {
    out.emplace_back(fmt::format("/nonexistent/agentdl-sync-test/{}", i));
  }
  return out;
}

} // namespace

TEST_CASE("fetch sync: every item is tried, each failure its own")
{
  const CancelToken cancel;
  Recorder recorder;
  std::mutex mutex;
  std::vector<std::size_t> located;
  const agentdl::fetch::Locate locate = [&](HttpClient&,
                                            std::size_t index) -> agentdl::Expected<Wanted> {
    {
      const std::scoped_lock lock(mutex);
      located.push_back(index);
    }
    return agentdl::fail(index == 1 ? Errc::integrity : Errc::not_found,
                         fmt::format("item {} is not there", index));
  };
  for (const unsigned jobs : { 1u, 3u, 64u }) {
    CAPTURE(jobs);
    located.clear();
    recorder.finished_items.clear();
    const auto results = fetch_all(targets(5), locate, jobs, {}, cancel, recorder);
    REQUIRE(results.has_value());
    REQUIRE(results->size() == 5);
    for (std::size_t i = 0; i < 5; ++i) {
      CAPTURE(i);
      CHECK_FALSE((*results)[i].transferred);
      REQUIRE((*results)[i].error.has_value());
      CHECK((*results)[i].error->code == (i == 1 ? Errc::integrity : Errc::not_found));
      CHECK((*results)[i].error->message == fmt::format("item {} is not there", i));
    }
    std::sort(located.begin(), located.end());
    CHECK(located == std::vector<std::size_t>{ 0, 1, 2, 3, 4 });
    CHECK(recorder.sorted() == std::vector<std::string>{ "0 item 0 is not there",
                                                         "1 item 1 is not there",
                                                         "2 item 2 is not there",
                                                         "3 item 3 is not there",
                                                         "4 item 4 is not there" });
  }
}

TEST_CASE("fetch sync: once cancelled, no item starts")
{
  CancelToken cancel;
  Recorder recorder;
  int calls = 0;
  const agentdl::fetch::Locate locate = [&](HttpClient&, std::size_t) -> agentdl::Expected<Wanted> {
    ++calls;
    cancel.cancel(); // as a Ctrl-C during the first item
    return agentdl::fail(Errc::network, "cut short");
  };
  const auto results = fetch_all(targets(3), locate, 1, {}, cancel, recorder);
  REQUIRE(results.has_value());
  CHECK(calls == 1);
  CHECK(recorder.finished_items ==
        std::vector<std::string>{ "0 interrupted", "1 interrupted", "2 interrupted" });
  for (const auto& result : *results) {
    REQUIRE(result.error.has_value());
    CHECK(result.error->code == Errc::interrupted);
  }
}

TEST_CASE("fetch sync: nothing to fetch")
{
  const CancelToken cancel;
  Recorder recorder;
  const agentdl::fetch::Locate locate = [](HttpClient&, std::size_t) -> agentdl::Expected<Wanted> {
    FAIL("nothing is located");
    return agentdl::fail(Errc::internal, "");
  };
  const auto results = fetch_all({}, locate, 4, {}, cancel, recorder);
  REQUIRE(results.has_value());
  CHECK(results->empty());
  CHECK(recorder.finished_items.empty());
}
