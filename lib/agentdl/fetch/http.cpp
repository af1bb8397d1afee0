#include <agentdl/build_info.hpp>
#include <agentdl/catalog.hpp>
#include <agentdl/dynlib.hpp>
#include <agentdl/fetch/http.hpp>
#include <agentdl/http_message.hpp>

#include <boost/url/grammar/ci_string.hpp>
#include <boost/url/parse.hpp>
#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <exception>
#include <memory>
#include <thread>

namespace agentdl::fetch {

// The libcurl functions agentdl calls, typed by curl.h's declarations.
struct CurlApi
{
  decltype(&::curl_global_init) global_init = nullptr;
  decltype(&::curl_easy_init) easy_init = nullptr;
  decltype(&::curl_easy_reset) easy_reset = nullptr;
  decltype(&::curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&::curl_easy_setopt) easy_setopt = nullptr;
  decltype(&::curl_easy_perform) easy_perform = nullptr;
  decltype(&::curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&::curl_easy_strerror) easy_strerror = nullptr;
  decltype(&::curl_slist_append) slist_append = nullptr;
  decltype(&::curl_slist_free_all) slist_free_all = nullptr;
};

namespace {

Expected<CurlApi> load_curl()
{
  const auto library = AGENTDL_TRY(SharedLibrary::open("libcurl.so.4", "to talk HTTP", "libcurl4"));
  CurlApi api;
  AGENTDL_BIND(library, api.global_init, curl_global_init);
  AGENTDL_BIND(library, api.easy_init, curl_easy_init);
  AGENTDL_BIND(library, api.easy_reset, curl_easy_reset);
  AGENTDL_BIND(library, api.easy_cleanup, curl_easy_cleanup);
  AGENTDL_BIND(library, api.easy_setopt, curl_easy_setopt);
  AGENTDL_BIND(library, api.easy_perform, curl_easy_perform);
  AGENTDL_BIND(library, api.easy_getinfo, curl_easy_getinfo);
  AGENTDL_BIND(library, api.easy_strerror, curl_easy_strerror);
  AGENTDL_BIND(library, api.slist_append, curl_slist_append);
  AGENTDL_BIND(library, api.slist_free_all, curl_slist_free_all);
  if (const auto code = api.global_init(CURL_GLOBAL_DEFAULT); code != CURLE_OK) {
    return fail(Errc::io, fmt::format("libcurl failed to initialize: {}", api.easy_strerror(code)));
  }
  return api;
}

std::string_view trim(std::string_view s)
{
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// What the callbacks of one transfer share.
struct Transfer
{
  const CurlApi* api = nullptr;
  CURL* easy = nullptr;
  HttpResponse* response = nullptr;
  const BodySink* sink = nullptr;
  const ProgressSink* progress = nullptr;
  bool sink_stopped = false;
  bool body_started = false;  // some of the response's body came
  std::exception_ptr failure; // thrown in a callback: C frames in between
};

// libcurl calls this with each header line of each response, redirects
// included; a status line starts a new response.
std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user)
{
  auto& transfer = *static_cast<Transfer*>(user);
  try {
    const std::string_view line(data, size * count);
    if (line.starts_with("HTTP/")) {
      transfer.response->headers.clear();
    } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
      transfer.response->headers.emplace_back(std::string(trim(line.substr(0, colon))),
                                              std::string(trim(line.substr(colon + 1))));
    }
    return size * count;
  } catch (...) {
    transfer.failure = std::current_exception();
    return 0;
  }
}

// libcurl calls this with the body of the response (a redirect's too).
std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user)
{
  auto& transfer = *static_cast<Transfer*>(user);
  try {
    const std::span<const char> bytes(data, size * count);
    auto& response = *transfer.response;
    if (!transfer.body_started) {
      transfer.body_started = true;
      transfer.api->easy_getinfo(transfer.easy, CURLINFO_RESPONSE_CODE, &response.status);
      char* url = nullptr;
      transfer.api->easy_getinfo(transfer.easy, CURLINFO_EFFECTIVE_URL, &url);
      if (url) {
        response.url = url;
      }
    }
    if (transfer.sink && response.status >= 200 && response.status < 300) {
      if (!(*transfer.sink)(response, bytes)) {
        transfer.sink_stopped = true;
        return CURL_WRITEFUNC_ERROR;
      }
      return bytes.size();
    }
    auto& body = response.body;
    body.append(bytes.data(), std::min(bytes.size(), k_max_kept_body - body.size()));
    return bytes.size();
  } catch (...) {
    transfer.failure = std::current_exception();
    return CURL_WRITEFUNC_ERROR;
  }
}

int on_progress(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t)
{
  auto& transfer = *static_cast<Transfer*>(user);
  try {
    const bool go_on =
      (*transfer.progress)(static_cast<std::uint64_t>(std::max<curl_off_t>(now, 0)),
                           static_cast<std::uint64_t>(std::max<curl_off_t>(total, 0)));
    return go_on ? 0 : 1;
  } catch (...) {
    transfer.failure = std::current_exception();
    return 1;
  }
}

bool transient_error(CURLcode code)
{
  switch (code) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

// Tells whether perform() follows the Location of an answer with `status`
// (as browsers do; not 300, 304 or 305).
bool redirect_status(long status)
{
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// Returns the scheme of the URL `url`, lowercase; empty when it has none.
std::string url_scheme(std::string_view url)
{
  const auto colon = url.find(':');
  const auto scheme = url.substr(0, colon == std::string_view::npos ? 0 : colon);
  const auto valid = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '-' || c == '.';
  };
  if (scheme.empty() || std::isalpha(static_cast<unsigned char>(scheme.front())) == 0 ||
      !std::ranges::all_of(scheme, valid)) {
    return {};
  }
  return lowercase(scheme);
}

// An http or https URL's origin (RFC 6454): scheme, host and port.
struct Origin
{
  boost::urls::scheme scheme;
  std::string host; // lowercase; an IPv6 address in its canonical form
  std::uint16_t port;

  bool operator==(const Origin&) const = default;
};

std::optional<Origin> origin_of(std::string_view url)
{
  // Only the scheme and the authority are parsed: a path or query that
  // libcurl takes as it is (with a "|", say) leaves the origin known.
  const auto slashes = url.find("://");
  if (slashes == std::string_view::npos) {
    return std::nullopt;
  }
  const auto parsed =
    boost::urls::parse_absolute_uri(url.substr(0, url.find_first_of("/?#", slashes + 3)));
  if (!parsed) {
    return std::nullopt;
  }
  const auto scheme = parsed->scheme_id();
  if (scheme != boost::urls::scheme::http && scheme != boost::urls::scheme::https) {
    return std::nullopt;
  }
  std::string host = parsed->host_type() == boost::urls::host_type::ipv6
                       ? parsed->host_ipv6_address().to_string()
                       : lowercase(parsed->host_address());
  if (host.empty()) {
    return std::nullopt;
  }
  std::uint16_t port = scheme == boost::urls::scheme::https ? 443 : 80;
  if (parsed->has_port() && !parsed->port().empty()) {
    port = parsed->port_number();
    if (port == 0) {
      return std::nullopt; // 0, or too large for a port
    }
  }
  return Origin{ scheme, std::move(host), port };
}

} // namespace

std::optional<std::string_view> HttpResponse::header(std::string_view name) const
{
  for (const auto& [key, value] : headers) {
    if (boost::urls::grammar::ci_is_equal(key, name)) {
      return value;
    }
  }
  return std::nullopt;
}

Expected<HttpClient> HttpClient::create(HttpSettings settings, const CancelToken& cancel)
{
  static const Expected<CurlApi> k_api = load_curl();
  if (!k_api) {
    return std::unexpected(k_api.error());
  }
  CURL* easy = k_api->easy_init();
  if (!easy) {
    return fail(Errc::io, "libcurl cannot make a transfer handle");
  }
  return HttpClient(&*k_api, easy, settings, cancel);
}

HttpClient::HttpClient(const CurlApi* api,
                       void* easy,
                       HttpSettings settings,
                       const CancelToken& cancel)
  : m_api(api)
  , m_easy(easy)
  , m_settings(settings)
  , m_cancel(&cancel)
{
}

HttpClient::HttpClient(HttpClient&& other) noexcept
  : m_api(other.m_api)
  , m_easy(std::exchange(other.m_easy, nullptr))
  , m_settings(other.m_settings)
  , m_cancel(other.m_cancel)
{
}

HttpClient::~HttpClient()
{
  if (m_easy) {
    m_api->easy_cleanup(m_easy);
  }
}

std::expected<HttpResponse, TransferFailure> HttpClient::perform(const HttpRequest& request,
                                                                 const BodySink* sink,
                                                                 const ProgressSink* progress)
{
  // Redirects are followed here, not by libcurl, to decide at each hop
  // whether the token goes along: libcurl would send it again to a hop that
  // comes back to the first host after leaving it. Here (as in the Fetch
  // standard) a chain that has left the first URL's origin never gets it back.
  std::string url = request.url;
  bool with_token = request.bearer_token.has_value();
  for (long redirects = 0;; ++redirects) {
    const auto token =
      with_token ? std::optional<std::string_view>(*request.bearer_token) : std::nullopt;
    auto response = perform_hop(request, url, token, sink, progress);
    char* location = nullptr;
    if (request.follow == Follow::yes && response && redirect_status(response->status)) {
      m_api->easy_getinfo(m_easy, CURLINFO_REDIRECT_URL, &location);
    }
    if (!location) {
      return response; // the answer, or a redirect without a Location
    }
    const auto shown = request.secret_query ? display_url(url) : url;
    const auto refuse = [](std::string message) {
      return std::unexpected(TransferFailure{ Error(Errc::network, std::move(message)), false });
    };
    if (redirects == m_settings.max_redirects) {
      return refuse(fmt::format(
        "transfer from {} failed: more than {} redirects", shown, m_settings.max_redirects));
    }
    // libcurl made the Location absolute (or, when it could not parse it,
    // left it as sent): an http(s) URL is followed, and libcurl judges the rest.
    const auto scheme = url_scheme(location);
    if (scheme.empty()) {
      return refuse(fmt::format("{} redirected without a valid Location", shown));
    }
    if (scheme != "http" && scheme != "https") {
      return refuse(
        fmt::format("{} redirected to a {}: URL; only http and https are fetched", shown, scheme));
    }
    with_token = with_token && same_origin(location, request.url);
    url = location;
  }
}

std::expected<HttpResponse, TransferFailure> HttpClient::perform_hop(
  const HttpRequest& request,
  const std::string& url,
  std::optional<std::string_view> token,
  const BodySink* sink,
  const ProgressSink* progress)
{
  const auto& api = *m_api;
  CURL* easy = m_easy;
  HttpResponse response;
  Transfer transfer;
  transfer.api = m_api;
  transfer.easy = easy;
  transfer.response = &response;
  transfer.sink = sink;
  transfer.progress = progress;

  std::unique_ptr<curl_slist, decltype(api.slist_free_all)> headers(nullptr, api.slist_free_all);
  if (token) {
    const auto line = fmt::format("Authorization: Bearer {}", *token);
    headers.reset(api.slist_append(headers.release(), line.c_str()));
  }
  if (request.if_none_match) {
    const auto line = fmt::format("If-None-Match: {}", *request.if_none_match);
    headers.reset(api.slist_append(headers.release(), line.c_str()));
  }

  api.easy_reset(easy);
  api.easy_setopt(easy, CURLOPT_URL, url.c_str());
  if (api.easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK) {
    return std::unexpected(TransferFailure{
      Error(Errc::io, "the installed libcurl is too old: agentdl needs 7.85 or later"), false });
  }
  static const auto user_agent = fmt::format("agentdl/{}", program_version());
  api.easy_setopt(easy, CURLOPT_USERAGENT, user_agent.c_str());
  api.easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  api.easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L); // perform() follows
  api.easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, m_settings.connect_timeout);
  api.easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, m_settings.speed_limit);
  api.easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, m_settings.speed_time);
  // Larger reads than the default 16 KiB: fewer system calls per megabyte.
  api.easy_setopt(easy, CURLOPT_BUFFERSIZE, 512L * 1024);
  api.easy_setopt(easy, CURLOPT_HTTPHEADER, headers.get());
  if (request.range_from) {
    const auto range = fmt::format("{}-", *request.range_from);
    api.easy_setopt(easy, CURLOPT_RANGE, range.c_str()); // copied by libcurl
  }
  api.easy_setopt(easy, CURLOPT_HEADERFUNCTION, &on_header);
  api.easy_setopt(easy, CURLOPT_HEADERDATA, &transfer);
  api.easy_setopt(easy, CURLOPT_WRITEFUNCTION, &on_body);
  api.easy_setopt(easy, CURLOPT_WRITEDATA, &transfer);
  if (progress) {
    api.easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
    api.easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, &on_progress);
    api.easy_setopt(easy, CURLOPT_XFERINFODATA, &transfer);
  }
  std::array<char, CURL_ERROR_SIZE> details{};
  api.easy_setopt(easy, CURLOPT_ERRORBUFFER, details.data());

  const CURLcode code = api.easy_perform(easy);

  char* effective = nullptr;
  api.easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &effective);
  response.url = effective ? effective : url;
  api.easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &response.status);
  api.easy_setopt(easy, CURLOPT_ERRORBUFFER, nullptr);

  if (transfer.failure) {
    std::rethrow_exception(transfer.failure);
  }
  if (code == CURLE_OK) {
    return response;
  }
  if (transfer.sink_stopped || code == CURLE_ABORTED_BY_CALLBACK) {
    // The caller's sink or progress stopped it: cancelled, or for a reason
    // the caller holds and reports itself.
    return std::unexpected(
      TransferFailure{ cancelled() ? Error(Errc::interrupted, "interrupted")
                                   : Error(Errc::internal, "transfer stopped by its receiver"),
                       false });
  }
  std::string reason = details[0] != '\0' ? details.data() : api.easy_strerror(code);
  if (code == CURLE_OPERATION_TIMEDOUT && transfer.body_started) {
    reason =
      fmt::format("transfer slower than {} bytes/s for {} s (see --speed-limit, --speed-time)",
                  m_settings.speed_limit,
                  m_settings.speed_time);
  }
  const auto shown = request.secret_query ? display_url(response.url) : response.url;
  const auto message = transfer.body_started
                         ? fmt::format("transfer from {} failed: {}", shown, reason)
                         : fmt::format("cannot reach {}: {}", shown, reason);
  return std::unexpected(TransferFailure{ Error(Errc::network, message), transient_error(code) });
}

bool same_origin(std::string_view a, std::string_view b)
{
  const auto x = origin_of(a);
  const auto y = origin_of(b);
  return x && y && *x == *y;
}

Expected<HttpResponse> perform_with_retries(HttpClient& client, const HttpRequest& request)
{
  const ProgressSink progress = [&](std::uint64_t, std::uint64_t) { return !client.cancelled(); };
  for (int attempt = 0;; ++attempt) {
    auto response = client.perform(request, nullptr, &progress);
    const bool transient =
      response ? transient_status(response->status) : response.error().transient;
    if (!transient || attempt >= client.settings().retries ||
        !client.wait_before_retry(attempt + 1)) {
      if (!response) {
        return std::unexpected(std::move(response.error().error));
      }
      return std::move(*response);
    }
  }
}

bool HttpClient::wait_before_retry(int attempt) const
{
  const auto delay = std::chrono::seconds(std::min(30, 1 << std::min(attempt - 1, 5)));
  const auto until = std::chrono::steady_clock::now() + delay;
  while (std::chrono::steady_clock::now() < until) {
    if (cancelled()) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return !cancelled();
}

std::string display_url(std::string_view url)
{
  const auto query = url.find('?');
  std::string out(url.substr(0, query));
  // Nor a user and password before the host.
  if (const auto scheme = out.find("://"); scheme != std::string::npos) {
    const auto authority = scheme + 3;
    const auto end = out.find('/', authority);
    const auto at = out.rfind('@', end == std::string::npos ? std::string::npos : end);
    if (at != std::string::npos && at >= authority) {
      out.erase(authority, at + 1 - authority);
    }
  }
  if (query != std::string_view::npos) {
    out += "?...";
  }
  return out;
}

bool transient_status(long status)
{
  return status >= 500 && status <= 599;
}

Errc status_errc(long status)
{
  switch (status) {
    case 401:
      return Errc::unauthorized;
    case 403:
      return Errc::forbidden;
    case 404:
    case 410:
      return Errc::not_found;
    default:
      return Errc::network;
  }
}

std::string status_text(long status)
{
  const auto reason = reason_phrase(static_cast<int>(status));
  return reason.empty() ? fmt::format("HTTP {}", status)
                        : fmt::format("HTTP {} ({})", status, reason);
}

std::optional<std::uint64_t> parse_uint64(std::string_view text)
{
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return n;
}

} // namespace agentdl::fetch
