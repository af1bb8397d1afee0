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
#include <functional>
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

  // Opens a catalog for serving (its mirror root, its access log): what
  // must hold before a catalog counts as good.
  using Opener =
    std::function<std::expected<std::shared_ptr<const Served>, std::string>(Catalog catalog)>;

  // Loads and opens the catalog to start with: the store's, else (store
  // unreachable, or its catalog invalid, said on stderr) the last good copy
  // kept. Only a catalog `open` took is kept as the good copy. Fails when
  // there is neither.
  Expected<std::shared_ptr<const Served>> load_first(const LoadOptions& options,
                                                     const Opener& open);

  // Returns what a reload loads: the text last fetched, parsed again (its
  // secrets read again).
  CatalogLoader loader();

  // SIGHUP: tries again the catalog fetched last if it was rejected (a
  // missing mirror root or secret may have been mended), else reloads the
  // one serving (its secrets and access log); then polls at once.
  std::expected<ReloadReport, std::string> reload(State& state);

  // Polls in a thread of its own until stop(), swapping good catalogs into `state`.
  void run(State& state);

  // Polls now rather than at the next interval (SIGHUP).
  void poll_now();

  // Stops polling (SIGTERM); a fetch under way is cut short.
  void stop();

  // Stops polling and waits for the polling thread to end.
  void join();

private:
  CatalogPoller(fetch::CatalogUrl where, std::filesystem::path folder);

  // Parses `text` as the catalog at the URL.
  Expected<Catalog> parse(const std::string& text, const LoadOptions& options) const;

  // Keeps `text` and `etag` as the last good copy; says on stderr if it cannot.
  void keep(const std::string& text, const std::string& etag) const;

  // Returns the last good copy kept for this URL, if there is a sound one.
  struct Kept
  {
    std::string text;
    std::string etag;
  };
  std::optional<Kept> read_kept() const;

  // Tries `text` as the catalog to serve; on success it is the current one
  // (and kept). On failure, says so unless it was said for this text.
  std::expected<ReloadReport, std::string> swap_in(State& state,
                                                   const std::string& text,
                                                   const std::string& etag);

  void poll_once(State& state);
  void poll_loop(State& state);
  void say_fetch_failure(const Error& error);

  const fetch::CatalogUrl m_where;
  const std::string m_shown;          // the URL for messages: no query, no password
  const std::filesystem::path m_kept; // the last good copy: FOLDER/catalog-ID.toml
  const std::string m_source_id;      // sha256 of the whole URL fetched, checked in the copy
  fetch::CancelToken m_cancel;
  std::optional<fetch::HttpClient> m_client; // used by one thread at a time: main, then the poller

  // Held across a swap and the update of m_text: a SIGHUP's reload and a
  // poll's swap never interleave, so the text kept is the text served.
  std::mutex m_swap_mutex;

  mutable std::mutex m_mutex;
  std::condition_variable m_wake;
  std::string m_text;      // the catalog serving now, as fetched; guarded by m_mutex
  std::string m_etag;      // its ETag; guarded by m_mutex
  std::string m_seen_etag; // the last ETag fetched, good or not (poll thread only)
  // The catalog fetched last when it was rejected: SIGHUP tries it again.
  std::optional<Kept> m_rejected; // guarded by m_swap_mutex
  std::string m_rejected_error;   // the last rejection said; guarded by m_swap_mutex
  std::optional<Errc> m_failing;  // the kind of fetch failure said (poll thread only)
  std::optional<std::chrono::system_clock::time_point> m_first_ok; // load_first's fetch answered
  bool m_poll_now = false;                                         // guarded by m_mutex
  bool m_stop = false;                                             // guarded by m_mutex
  std::thread m_thread;
};

} // namespace agentdl::serve
