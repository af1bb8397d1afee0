// Remote mode: asking an agentdl server (the API of CONTRACT section 4)
// instead of reading a catalog.
#pragma once

#include <agentdl/error.hpp>
#include <agentdl/fetch/http.hpp>
#include <agentdl/resolver.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace agentdl::fetch {

// The server to ask: its API base URL (prefix included, no trailing slash)
// and the token to send, if any.
struct Server
{
  std::string base;
  std::optional<std::string> token;
};

// Returns the server named by `server_flag`, else (unless `config_flag` names
// a catalog: a flag beats any environment variable) by $AGENTDL_SERVER, with
// the token read from `token_file`, else $AGENTDL_TOKEN; nullopt when the
// catalog is local. Fails with Errc::usage on a bad URL or an unreadable
// token file.
Expected<std::optional<Server>> find_server(const std::optional<std::string>& server_flag,
                                            const std::optional<std::string>& config_flag,
                                            const std::optional<std::string>& token_file);

// Where the server's /download route points, with what it says of the file.
struct Located
{
  std::string url;
  std::string version;
  std::string sha256; // lowercase hex; empty when the server does not say
  std::optional<std::uint64_t> size;
};

// Asks the /download route of `server` for `query`, without following the
// redirect.
Expected<Located> locate(HttpClient& client, const Server& server, const Query& query);

// Returns the JSON object of the route that describes `query` (latest or a
// version), compactly serialized.
Expected<std::string> describe(HttpClient& client, const Server& server, const Query& query);

// Returns the server's {"releases":[...]} for `channel` (all when absent).
Expected<std::string> list_releases(HttpClient& client,
                                    const Server& server,
                                    std::optional<std::string_view> channel);

// Returns the Error for an answer that is not the one asked for: the
// server's own message when it sent a JSON error, else the status. The code
// maps 400, 401/403, 404 and 5xx to the contract's exit codes.
Error answer_error(const HttpResponse& response, bool token_sent);

} // namespace agentdl::fetch
