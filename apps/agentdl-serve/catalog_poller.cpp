#include "catalog_poller.hpp"

#include <agentdl/atomic_file.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <sstream>
#include <system_error>

namespace agentdl::serve {

namespace {

// Prints `message` to stderr as one "agentdl-serve: ..." line.
void log_error(std::string_view message)
{
  fmt::print(stderr, "agentdl-serve: {}\n", message);
}

// The last good copy, and beside it where it came from: the URL (without its
// query) on the first line, its ETag on the second.
constexpr const char* k_kept_catalog = "catalog.toml";
constexpr const char* k_kept_source = "catalog.toml.source";

struct Kept
{
  std::string text;
  std::string etag;
};

std::optional<std::string> read_text(const std::filesystem::path& path)
{
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return std::nullopt;
  }
  std::stringstream text;
  text << file.rdbuf();
  if (file.bad()) {
    return std::nullopt;
  }
  return std::move(text).str();
}

} // namespace

Expected<std::unique_ptr<CatalogPoller>> CatalogPoller::create(fetch::CatalogUrl where,
                                                               std::filesystem::path state_folder)
{
  std::unique_ptr<CatalogPoller> poller(
    new CatalogPoller(std::move(where), std::move(state_folder)));
  auto client = fetch::HttpClient::create(fetch::HttpSettings{}, poller->m_cancel);
  if (!client) {
    return std::unexpected(std::move(client.error()));
  }
  poller->m_client.emplace(std::move(*client));
  return poller;
}

CatalogPoller::CatalogPoller(fetch::CatalogUrl where, std::filesystem::path folder)
  : m_where(std::move(where))
  , m_folder(std::move(folder))
{
}

CatalogPoller::~CatalogPoller()
{
  stop();
  if (m_thread.joinable()) {
    m_thread.join();
  }
}

Expected<Catalog> CatalogPoller::parse(const std::string& text, const LoadOptions& options) const
{
  return parse_catalog(text, fetch::display_url(m_where.given), options);
}

Expected<Catalog> CatalogPoller::check(const LoadOptions& options)
{
  auto fetched = fetch::fetch_catalog(*m_client, m_where, {});
  if (!fetched) {
    return std::unexpected(std::move(fetched.error()));
  }
  return parse(fetched->text, options);
}

Expected<Catalog> CatalogPoller::load_first(const LoadOptions& options)
{
  const auto shown = fetch::display_url(m_where.given);
  const auto kept_path = m_folder / k_kept_catalog;
  std::optional<Kept> kept;
  if (const auto source = read_text(m_folder / k_kept_source)) {
    std::istringstream lines(*source);
    std::string url;
    std::string etag;
    std::getline(lines, url);
    std::getline(lines, etag);
    auto text = read_text(kept_path);
    // A copy of another catalog (the URL changed) is not this one's.
    if (text && url == shown) {
      kept = Kept{ std::move(*text), std::move(etag) };
    }
  }

  auto fetched = fetch::fetch_catalog(*m_client, m_where, kept ? kept->etag : "");
  if (fetched) {
    m_first_ok = std::chrono::system_clock::now();
  }
  std::optional<Error> failure;
  if (fetched && fetched->modified) {
    m_seen_etag = fetched->etag;
    auto catalog = parse(fetched->text, options);
    if (catalog) {
      m_text = std::move(fetched->text);
      m_etag = std::move(fetched->etag);
      keep(m_text, m_etag);
      return catalog;
    }
    failure = std::move(catalog.error());
  } else if (!fetched) {
    failure = std::move(fetched.error());
  }
  if (!kept) {
    return std::unexpected(std::move(*failure));
  }
  if (failure) {
    log_error(fmt::format("error: {}", failure->message));
  }
  auto catalog = parse(kept->text, options);
  if (!catalog) {
    return catalog;
  }
  if (failure) {
    log_error(
      fmt::format("serving the last good copy of the catalog, kept in {}", kept_path.string()));
  } else {
    m_seen_etag = kept->etag; // 304: the copy kept is the store's
  }
  m_text = std::move(kept->text);
  m_etag = std::move(kept->etag);
  return catalog;
}

void CatalogPoller::keep(const std::string& text, const std::string& etag) const
{
  std::error_code ec;
  std::filesystem::create_directories(m_folder, ec);
  auto written = write_file_atomically(m_folder / k_kept_catalog, text);
  if (written) {
    written = write_file_atomically(
      m_folder / k_kept_source, fmt::format("{}\n{}\n", fetch::display_url(m_where.given), etag));
  }
  if (!written) {
    log_error(
      fmt::format("warning: cannot keep a copy of the catalog: {}", written.error().message));
  }
}

CatalogLoader CatalogPoller::loader()
{
  return [this](const LoadOptions& options) {
    std::string text;
    {
      std::lock_guard lock(m_mutex);
      text = m_text;
    }
    return parse(text, options);
  };
}

std::expected<ReloadReport, std::string> CatalogPoller::reload(State& state)
{
  auto report = [&] {
    std::lock_guard swap(m_swap_mutex);
    return state.reload(loader());
  }();
  poll_now();
  return report;
}

void CatalogPoller::run(State& state)
{
  if (m_first_ok) {
    state.metrics().count_catalog_poll(true, *m_first_ok);
  } else {
    state.metrics().count_catalog_poll(false, std::chrono::system_clock::now());
  }
  m_thread = std::thread([this, &state] { poll_loop(state); });
}

void CatalogPoller::poll_now()
{
  {
    std::lock_guard lock(m_mutex);
    m_poll_now = true;
  }
  m_wake.notify_one();
}

void CatalogPoller::stop()
{
  m_cancel.cancel();
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_wake.notify_one();
}

void CatalogPoller::poll_loop(State& state)
{
  std::unique_lock lock(m_mutex);
  while (!m_stop) {
    // Read each time: a new catalog may change it.
    const auto interval = state.served()->catalog().server.catalog_poll;
    m_wake.wait_for(lock, interval, [this] { return m_stop || m_poll_now; });
    if (m_stop) {
      break;
    }
    m_poll_now = false;
    lock.unlock();
    poll_once(state);
    lock.lock();
  }
}

void CatalogPoller::poll_once(State& state)
{
  const auto shown = fetch::display_url(m_where.given);
  auto fetched = fetch::fetch_catalog(*m_client, m_where, m_seen_etag);
  if (!fetched && m_cancel.cancelled()) {
    return;
  }
  state.metrics().count_catalog_poll(fetched.has_value(), std::chrono::system_clock::now());
  if (!fetched) {
    // Said once, not every interval while the store is down.
    if (fetched.error().message != m_last_failure) {
      m_last_failure = fetched.error().message;
      log_error(fmt::format("cannot fetch the catalog, still serving the previous one: {}",
                            m_last_failure));
    }
    return;
  }
  if (!m_last_failure.empty()) {
    m_last_failure.clear();
    log_error(fmt::format("fetching the catalog from {} again", shown));
  }
  if (!fetched->modified) {
    return;
  }
  // Not asked again until it changes, good or not.
  m_seen_etag = fetched->etag;
  std::lock_guard swap(m_swap_mutex);
  {
    std::lock_guard lock(m_mutex);
    if (fetched->text == m_text) {
      m_etag = fetched->etag;
      return;
    }
  }
  const auto& text = fetched->text;
  const auto report =
    state.reload([&](const LoadOptions& options) { return parse(text, options); });
  if (!report) {
    log_error(fmt::format("catalog update rejected, still serving the previous catalog: {}",
                          report.error()));
    return;
  }
  {
    std::lock_guard lock(m_mutex);
    m_text = text;
    m_etag = fetched->etag;
  }
  keep(text, fetched->etag);
  log_error(fmt::format("reloaded the catalog from {}: {} releases", shown, report->releases));
  if (!report->applied.empty()) {
    log_error(fmt::format("[server] {} changed: applied", fmt::join(report->applied, ", ")));
  }
  for (const auto& key : report->need_restart) {
    log_error(fmt::format("[server] {} changed: it applies after a restart", key));
  }
}

} // namespace agentdl::serve
