// agentdl-serve --catalog-url: the catalog fetched from a store at start and
// again every [server] catalog_poll, swapped in as a SIGHUP would; the last
// good copy kept in the state folder, so that a restart while the store is
// down still serves. Free of Asio and Beast.
#pragma once

#include "state.hpp"

#include <agentdl/catalog.hpp>
#include <agentdl/fetch/cancel.hpp>
#include <agentdl/fetch/catalog_url.hpp>
#include <agentdl/fetch/http.hpp>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace agentdl::serve {

class CatalogPoller
{
public:
  // Makes a poller of the catalog at `where` that keeps its copy in
  // `state_folder` (created if missing). Fails when libcurl cannot be loaded.
  static Expected<std::unique_ptr<CatalogPoller>> create(fetch::CatalogUrl where,
                                                         std::filesystem::path state_folder);

  CatalogPoller(const CatalogPoller&) = delete;
  CatalogPoller& operator=(const CatalogPoller&) = delete;
  ~CatalogPoller(); // stops and joins the polling thread

  // Fetches and validates the catalog, nothing kept: --check.
  Expected<Catalog> check(const LoadOptions& options);

  // Loads the catalog to start with: the store's, else (store unreachable, or
  // its catalog invalid, said on stderr) the last good copy kept. Fails when
  // there is neither.
  Expected<Catalog> load_first(const LoadOptions& options);

  // Returns what a reload loads: the text last fetched, parsed again (its
  // secrets read again).
  CatalogLoader loader();

  // Reloads `state` from the text last fetched, then polls at once: SIGHUP.
  std::expected<ReloadReport, std::string> reload(State& state);

  // Polls in a thread of its own until stop(), swapping good catalogs into `state`.
  void run(State& state);

  // Polls now rather than at the next interval (SIGHUP).
  void poll_now();

  // Stops polling (SIGTERM); a fetch under way is cut short.
  void stop();

private:
  CatalogPoller(fetch::CatalogUrl where, std::filesystem::path folder);

  // Parses `text` as the catalog at the URL.
  Expected<Catalog> parse(const std::string& text, const LoadOptions& options) const;

  // Keeps `text` and `etag` as the last good copy; says on stderr if it cannot.
  void keep(const std::string& text, const std::string& etag) const;

  void poll_once(State& state);
  void poll_loop(State& state);

  const fetch::CatalogUrl m_where;
  const std::filesystem::path m_folder;
  fetch::CancelToken m_cancel;
  std::optional<fetch::HttpClient> m_client; // used by one thread at a time: main, then the poller

  // Held across a swap and the update of m_text: a SIGHUP's reload and a
  // poll's swap never interleave, so the text kept is the text served.
  std::mutex m_swap_mutex;

  mutable std::mutex m_mutex;
  std::condition_variable m_wake;
  std::string m_text;         // the catalog serving now, as fetched; guarded by m_mutex
  std::string m_etag;         // its ETag; guarded by m_mutex
  std::string m_seen_etag;    // the last ETag fetched, good or not (poll thread only)
  std::string m_last_failure; // the last failure said, so that it is said once
  std::optional<std::chrono::system_clock::time_point> m_first_ok; // load_first's fetch answered
  bool m_poll_now = false;                                         // guarded by m_mutex
  bool m_stop = false;                                             // guarded by m_mutex
  std::thread m_thread;
};

} // namespace agentdl::serve
