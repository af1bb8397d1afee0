#include "catalog_poller.hpp"

#include "log.hpp"

#include <agentdl/atomic_file.hpp>
#include <agentdl/token.hpp>

#include <fmt/format.h>

#include <exception>
#include <system_error>

namespace agentdl::serve {

namespace {

// The last good copy starts with these lines (TOML comments), then the
// catalog as fetched: the copy is one file, written atomically, and checked
// whole before it is served.
constexpr std::string_view k_kept_title = "# agentdl-serve: the last good copy of ";
constexpr std::string_view k_kept_source = "# source: ";
constexpr std::string_view k_kept_etag = "# etag: ";
constexpr std::string_view k_kept_sha256 = "# sha256: ";

// Takes the line at the front of `text` if it starts with `prefix`; returns the rest of it.
std::optional<std::string_view> take_line(std::string_view& text, std::string_view prefix)
{
  const auto end = text.find('\n');
  if (end == std::string_view::npos || !text.starts_with(prefix)) {
    return std::nullopt;
  }
  const auto value = text.substr(prefix.size(), end - prefix.size());
  text.remove_prefix(end + 1);
  return value;
}

// Everything that tells one catalog object from another: the URL as given
// and, for S3, the endpoint it resolved to.
std::string source_id(const fetch::CatalogUrl& where)
{
  return sha256_hex(where.given + '\n' + where.url);
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
  , m_shown(fetch::display_url(m_where.given))
  , m_kept(folder / fmt::format("catalog-{}.toml", source_id(m_where).substr(0, 16)))
  , m_source_id(source_id(m_where))
{
}

CatalogPoller::~CatalogPoller()
{
  join();
}

Expected<Catalog> CatalogPoller::parse(const std::string& text, const LoadOptions& options) const
{
  return parse_catalog(text, m_shown, options);
}

Expected<Catalog> CatalogPoller::check(const LoadOptions& options)
{
  auto fetched = fetch::fetch_catalog(*m_client, m_where, {});
  if (!fetched) {
    return std::unexpected(std::move(fetched.error()));
  }
  return parse(fetched->text, options);
}

std::optional<CatalogPoller::Kept> CatalogPoller::read_kept() const
{
  const auto file = read_text_file(m_kept);
  if (!file || !*file) {
    return std::nullopt; // none, or none to read: the store's copy is fetched whole
  }
  std::string_view rest = **file;
  const auto title = take_line(rest, k_kept_title);
  const auto source = take_line(rest, k_kept_source);
  const auto etag = take_line(rest, k_kept_etag);
  const auto digest = take_line(rest, k_kept_sha256);
  if (!title || !source || !etag || !digest || *source != m_source_id ||
      *digest != sha256_hex(rest)) {
    log_error(
      fmt::format("warning: ignoring {}: not a sound copy of {}", m_kept.string(), m_shown));
    return std::nullopt;
  }
  return Kept{ std::string(rest), std::string(*etag) };
}

void CatalogPoller::keep(const std::string& text, const std::string& etag) const
{
  std::error_code ec;
  std::filesystem::create_directories(m_kept.parent_path(), ec);
  const auto file = fmt::format("{}{}\n{}{}\n{}{}\n{}{}\n{}",
                                k_kept_title,
                                m_shown,
                                k_kept_source,
                                m_source_id,
                                k_kept_etag,
                                etag,
                                k_kept_sha256,
                                sha256_hex(text),
                                text);
  if (const auto written = write_file_atomically(m_kept, file); !written) {
    log_error(
      fmt::format("warning: cannot keep a copy of the catalog: {}", written.error().message));
  }
}

Expected<std::shared_ptr<const Served>> CatalogPoller::load_first(const LoadOptions& options,
                                                                  const Opener& open)
{
  // Parses and opens `text`; the error is the catalog's or the opener's.
  const auto load = [&](const std::string& text) -> Expected<std::shared_ptr<const Served>> {
    auto catalog = parse(text, options);
    if (!catalog) {
      return std::unexpected(std::move(catalog.error()));
    }
    auto served = open(std::move(*catalog));
    if (!served) {
      return fail(Errc::config, std::move(served.error()));
    }
    return std::move(*served);
  };

  auto kept = read_kept();
  auto fetched = fetch::fetch_catalog(*m_client, m_where, kept ? kept->etag : "");
  if (fetched && !fetched->modified) {
    if (auto served = load(kept->text)) {
      m_first_ok = std::chrono::system_clock::now();
      m_seen_etag = kept->etag; // the store vouches for the copy
      m_text = std::move(kept->text);
      m_etag = std::move(kept->etag);
      return served;
    }
    // The copy no longer loads here (a secret moved, say): ask for the object itself.
    fetched = fetch::fetch_catalog(*m_client, m_where, {});
  }

  std::optional<Error> failure;
  if (fetched) {
    m_first_ok = std::chrono::system_clock::now();
    m_seen_etag = fetched->etag;
    auto served = load(fetched->text);
    if (served) {
      m_text = std::move(fetched->text);
      m_etag = std::move(fetched->etag);
      keep(m_text, m_etag);
      return served;
    }
    failure = std::move(served.error());
    m_rejected = Kept{ std::move(fetched->text), fetched->etag };
    m_rejected_error = failure->message;
  } else {
    failure = std::move(fetched.error());
    m_failing = failure->code;
  }
  if (!kept) {
    return std::unexpected(std::move(*failure));
  }
  log_error(fmt::format("error: {}", failure->message));
  auto served = load(kept->text);
  if (!served) {
    return served;
  }
  log_error(fmt::format("serving the last good copy of the catalog, kept in {}", m_kept.string()));
  m_text = std::move(kept->text);
  m_etag = std::move(kept->etag);
  return served;
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
  auto report = [&]() -> std::expected<ReloadReport, std::string> {
    std::lock_guard swap(m_swap_mutex);
    if (m_rejected) {
      const auto rejected = *m_rejected; // swap_in clears it on success
      if (auto fetched = swap_in(state, rejected.text, rejected.etag)) {
        return fetched;
      }
    }
    return state.reload(loader());
  }();
  poll_now();
  return report;
}

std::expected<ReloadReport, std::string> CatalogPoller::swap_in(State& state,
                                                                const std::string& text,
                                                                const std::string& etag)
{
  auto report = state.reload([&](const LoadOptions& options) { return parse(text, options); });
  if (!report) {
    // Said once per catalog and error: a store without ETags sends it again each poll.
    const bool said = m_rejected && m_rejected->text == text && m_rejected_error == report.error();
    if (!said) {
      log_error(fmt::format("catalog update rejected, still serving the previous catalog: {}",
                            report.error()));
    }
    m_rejected = Kept{ text, etag };
    m_rejected_error = report.error();
    return report;
  }
  {
    std::lock_guard lock(m_mutex);
    m_text = text;
    m_etag = etag;
  }
  m_rejected.reset();
  m_rejected_error.clear();
  keep(text, etag);
  log_reload(*report,
             fmt::format("reloaded the catalog from {}: {} releases", m_shown, report->releases),
             [](const std::string&) { return std::string(); });
  return report;
}

void CatalogPoller::run(State& state)
{
  state.metrics().count_catalog_poll(m_first_ok.has_value(),
                                     m_first_ok.value_or(std::chrono::system_clock::now()));
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

void CatalogPoller::join()
{
  stop();
  if (m_thread.joinable()) {
    m_thread.join();
  }
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
    try {
      poll_once(state);
    } catch (const std::exception& e) {
      // Out of memory on a huge catalog, say: the catalog serving stays.
      log_error(fmt::format("error: polling the catalog failed: {}", e.what()));
    }
    lock.lock();
  }
}

void CatalogPoller::say_fetch_failure(const Error& error)
{
  // Said when the store starts failing, and again only if it fails another
  // way (a message alone may change with each try: "after 3012 ms").
  if (m_failing != error.code) {
    m_failing = error.code;
    log_error(
      fmt::format("cannot fetch the catalog, still serving the previous one: {}", error.message));
  }
}

void CatalogPoller::poll_once(State& state)
{
  auto fetched = fetch::fetch_catalog(*m_client, m_where, m_seen_etag);
  if (!fetched && m_cancel.cancelled()) {
    return;
  }
  state.metrics().count_catalog_poll(fetched.has_value(), std::chrono::system_clock::now());
  if (!fetched) {
    say_fetch_failure(fetched.error());
    return;
  }
  if (m_failing) {
    m_failing.reset();
    log_error(fmt::format("fetching the catalog from {} again", m_shown));
  }
  if (!fetched->modified) {
    return;
  }
  // Not asked for again until it changes, good or not.
  m_seen_etag = fetched->etag;
  std::lock_guard swap(m_swap_mutex);
  {
    std::lock_guard lock(m_mutex);
    if (fetched->text == m_text) {
      if (fetched->etag != m_etag) {
        m_etag = fetched->etag;
        keep(m_text, m_etag); // so that a restart asks with the new ETag
      }
      m_rejected.reset();
      return;
    }
  }
  (void)swap_in(state, fetched->text, fetched->etag);
}

} // namespace agentdl::serve
