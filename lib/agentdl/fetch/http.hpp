// HTTP for the download engine: libcurl, loaded (dlopen) when a program
// first needs it, so that a local `agentdl resolve` never pays for it.
// TLS with the system's CA store, proxies from the environment (https_proxy,
// no_proxy) and HTTP/2 are libcurl's; redirects are followed here, to decide
// at each hop whether the bearer token goes along.
#pragma once

#include <agentdl/error.hpp>
#include <agentdl/fetch/cancel.hpp>

#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agentdl::fetch {

enum class Follow
{
  no,
  yes
};

// Limits for every transfer (the command line's --connect-timeout and so on).
struct HttpSettings
{
  long connect_timeout = 10; // seconds to establish a connection
  long speed_limit = 1024;   // bytes per second under which a transfer is too slow...
  long speed_time = 30;      // ...for this many seconds, and given up
  long max_redirects = 10;
  int retries = 3; // further attempts after a transient failure
};

struct HttpRequest
{
  std::string url;
  Follow follow = Follow::no; // follow 301, 302, 303, 307 and 308 to http(s) URLs
  // Sent to `url`, and to each redirect on `url`'s origin until the chain
  // leaves it: never again after that, even to a hop that comes back.
  std::optional<std::string> bearer_token;
  std::optional<std::uint64_t> range_from;  // asks for bytes from here on
  std::optional<std::string> if_none_match; // sent as If-None-Match (an ETag)
  bool secret_query = false; // the query may hold a signature: keep it out of messages
};

// The final response (after any redirects followed).
struct HttpResponse
{
  long status = 0;
  std::string url;                                          // the URL that answered
  std::vector<std::pair<std::string, std::string>> headers; // as received, in order
  std::string body; // the body, unless a sink took it; at most k_max_kept_body

  // Returns the value of header `name` (case-insensitive), if present.
  std::optional<std::string_view> header(std::string_view name) const;
};

// A failed transfer: the error, and whether trying again may help (a refused
// connection, a timeout, a transfer cut short; never a certificate problem).
struct TransferFailure
{
  Error error;
  bool transient = false;
};

// Receives the body of a 2xx response in pieces, with the response's status
// and headers; returns false to stop the transfer.
using BodySink = std::function<bool(const HttpResponse& head, std::span<const char> data)>;

// Receives the progress of a transfer (bytes so far, and in all when known);
// returns false to stop it.
using ProgressSink = std::function<bool(std::uint64_t received, std::uint64_t total)>;

// Bodies kept in HttpResponse::body are cut at this size.
inline constexpr std::size_t k_max_kept_body = 16 * 1024 * 1024;

struct CurlApi;

// One libcurl handle, reused for each request (and its connections with it).
class HttpClient
{
public:
  // Loads libcurl; fails with a message naming the library if it cannot.
  // Every transfer stops soon after `cancel` is raised, which must outlive
  // the client.
  static Expected<HttpClient> create(HttpSettings settings, const CancelToken& cancel);

  HttpClient(HttpClient&& other) noexcept;
  HttpClient& operator=(HttpClient&&) = delete;
  ~HttpClient();

  // Performs `request`, following its redirects when asked (at most
  // settings().max_redirects). The body of a 2xx answer goes to `sink` if
  // given; other bodies are kept in the response. Fails only when no HTTP
  // answer came, a redirect cannot be followed, or a sink or `progress`
  // stopped the transfer.
  std::expected<HttpResponse, TransferFailure> perform(const HttpRequest& request,
                                                       const BodySink* sink = nullptr,
                                                       const ProgressSink* progress = nullptr);

  const HttpSettings& settings() const { return m_settings; }

  // Tells whether the host asked to stop (the CancelToken given to create()).
  bool cancelled() const { return m_cancel->cancelled(); }

  // Sleeps before retry number `attempt` (1, 2, ...): 1 s, 2 s, 4 s ... at
  // most 30 s. Returns false if cancelled meanwhile.
  bool wait_before_retry(int attempt) const;

private:
  HttpClient(const CurlApi* api, void* easy, HttpSettings settings, const CancelToken& cancel);

  // Performs one request of `request`'s chain: to `url`, with `token` if
  // given, following nothing.
  std::expected<HttpResponse, TransferFailure> perform_hop(const HttpRequest& request,
                                                           const std::string& url,
                                                           std::optional<std::string_view> token,
                                                           const BodySink* sink,
                                                           const ProgressSink* progress);

  const CurlApi* m_api;
  void* m_easy; // CURL*
  HttpSettings m_settings;
  const CancelToken* m_cancel;
};

// Performs `request` (its body kept in the response), retrying transient
// failures and 5xx answers with backoff as often as `client`'s settings allow,
// until cancelled. Returns the last answer, whatever its status.
Expected<HttpResponse> perform_with_retries(HttpClient& client, const HttpRequest& request);

// Tells whether the http(s) URLs `a` and `b` have the same origin: scheme,
// host (case-insensitively) and port (80 or 443 when not given).
bool same_origin(std::string_view a, std::string_view b);

// Returns `url` for a message: without its query, which may hold a signature,
// and without a user and password.
std::string display_url(std::string_view url);

// Tells whether a status is worth retrying (5xx: the server may recover).
bool transient_status(long status);

// Returns the kind of error an HTTP error status is: 401, 403 and 404/410 as
// the contract's exit codes have them, anything else a network or server error.
Errc status_errc(long status);

// Returns "HTTP 404 (Not Found)", or "HTTP 599" for a status of no known reason.
std::string status_text(long status);

// Returns `text` as an unsigned number if it is one, whole.
std::optional<std::uint64_t> parse_uint64(std::string_view text);

} // namespace agentdl::fetch
