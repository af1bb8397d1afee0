#include <agentdl/catalog.hpp>
#include <agentdl/config.hpp>
#include <agentdl/fetch/remote.hpp>
#include <agentdl/token.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <sstream>

namespace agentdl::fetch {

namespace {

Expected<std::string> read_token_file(const std::string& path)
{
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return fail(Errc::usage,
                fmt::format("cannot read token file {}: {}", path, std::strerror(errno)));
  }
  std::string line;
  std::getline(file, line);
  const auto first = line.find_first_not_of(" \t\r");
  const auto last = line.find_last_not_of(" \t\r");
  line = first == std::string::npos ? "" : line.substr(first, last - first + 1);
  if (const auto problem = token_problem(line)) {
    return fail(
      Errc::usage,
      fmt::format("the token in {} {}: give one token on the first line", path, *problem));
  }
  return line;
}

// Returns the URL of the API route `segments` under the server's base, with
// the query parameters of `params` that have a value.
std::string api_url(
  const Server& server,
  std::initializer_list<std::string_view> segments,
  std::initializer_list<std::pair<std::string_view, std::optional<std::string_view>>> params)
{
  boost::urls::url url(server.base);
  for (const auto segment : segments) {
    url.segments().push_back(segment);
  }
  for (const auto& [key, value] : params) {
    if (value) {
      url.params().append({ key, *value });
    }
  }
  return std::string(url.buffer());
}

// Returns the URL of the route that answers `query`: /download (`download`)
// or the JSON description.
std::string route_url(const Server& server, const Query& query, bool download)
{
  if (query.version) {
    return download ? api_url(server,
                              { "agent-releases", *query.version, "download" },
                              { { "platform", query.platform }, { "arch", query.arch } })
                    : api_url(server,
                              { "agent-releases", *query.version },
                              { { "platform", query.platform }, { "arch", query.arch } });
  }
  const std::initializer_list<std::pair<std::string_view, std::optional<std::string_view>>> params{
    { "channel", query.channel }, { "platform", query.platform }, { "arch", query.arch }
  };
  return download ? api_url(server, { "agent-releases", "latest", "download" }, params)
                  : api_url(server, { "agent-releases", "latest" }, params);
}

// Tells whether `url` is http or https (a scheme is case-insensitive).
bool web_scheme(const boost::urls::url_view& url)
{
  return url.scheme_id() == boost::urls::scheme::http ||
         url.scheme_id() == boost::urls::scheme::https;
}

HttpRequest api_request(const Server& server, std::string url)
{
  return HttpRequest{
    .url = std::move(url),
    .follow = Follow::no,
    .bearer_token = server.token,
    .range_from = std::nullopt,
    .if_none_match = std::nullopt,
    .secret_query = false,
  };
}

// Returns the JSON object of a 200 answer, compactly serialized.
Expected<std::string> json_object(const HttpResponse& response, const Server& server)
{
  if (response.status != 200) {
    return std::unexpected(answer_error(response, server.token.has_value()));
  }
  boost::system::error_code ec;
  const auto value = boost::json::parse(response.body, ec);
  if (ec || !value.is_object()) {
    return fail(Errc::network,
                fmt::format("{} answered something other than a JSON object", response.url));
  }
  return boost::json::serialize(value);
}

} // namespace

Expected<std::optional<Server>> find_server(const std::optional<std::string>& server_flag,
                                            const std::optional<std::string>& config_flag,
                                            const std::optional<std::string>& token_file)
{
  std::string text;
  std::string_view origin = "--server";
  if (server_flag) {
    text = *server_flag;
  } else if (config_flag) {
    return std::nullopt;
  } else if (const auto env = process_getenv("AGENTDL_SERVER"); env && !env->empty()) {
    text = *env;
    origin = "AGENTDL_SERVER";
  } else {
    return std::nullopt;
  }
  const auto parsed = boost::urls::parse_absolute_uri(text);
  if (!parsed || !web_scheme(*parsed) || parsed->encoded_host().empty() || parsed->has_query() ||
      parsed->has_fragment() || parsed->has_userinfo()) {
    return fail(Errc::usage,
                fmt::format("{} \"{}\" is not an http:// or https:// API base URL such as "
                            "https://api.example.com/v2",
                            origin,
                            text));
  }
  Server server;
  server.base = text;
  while (server.base.ends_with('/')) {
    server.base.pop_back();
  }
  if (token_file) {
    server.token = AGENTDL_TRY(read_token_file(*token_file));
  } else if (const auto env = process_getenv("AGENTDL_TOKEN"); env && !env->empty()) {
    if (const auto problem = token_problem(*env)) {
      return fail(Errc::usage, fmt::format("AGENTDL_TOKEN {}", *problem));
    }
    server.token = *env;
  }
  return server;
}

Expected<Located> locate(HttpClient& client, const Server& server, const Query& query)
{
  const auto response =
    AGENTDL_TRY(perform_with_retries(client, api_request(server, route_url(server, query, true))));
  if (response.status < 300 || response.status > 399 || response.status == 304) {
    if (response.status >= 200 && response.status < 400) {
      return fail(Errc::network,
                  fmt::format("{} answered HTTP {} where a redirect was expected: is {} an agentdl "
                              "server's API base?",
                              response.url,
                              response.status,
                              server.base));
    }
    return std::unexpected(answer_error(response, server.token.has_value()));
  }
  const auto location = response.header("Location").value_or("");
  Located located;
  if (const auto absolute = boost::urls::parse_absolute_uri(location); absolute) {
    if (!web_scheme(*absolute)) {
      return fail(Errc::network,
                  fmt::format("{} redirected to a {}: URL; only http and https are fetched",
                              response.url,
                              absolute->scheme()));
    }
    // Verbatim: a signed URL's encoding (%2F in an S3 key) is part of it.
    located.url = std::string(location);
  } else {
    const auto base = boost::urls::parse_uri(response.url);
    const auto reference = boost::urls::parse_relative_ref(location);
    boost::urls::url target;
    if (location.empty() || !base || !reference ||
        !boost::urls::resolve(*base, *reference, target)) {
      return fail(Errc::network,
                  fmt::format("{} redirected without a valid Location", response.url));
    }
    located.url = std::string(target.buffer());
  }
  located.version = std::string(response.header("X-Release-Version").value_or(""));
  if (const auto sha256 = response.header("X-Artifact-Sha256")) {
    if (!is_hex_digest(*sha256)) {
      return fail(
        Errc::network,
        fmt::format("{} sent an X-Artifact-Sha256 that is not 64 hex digits", response.url));
    }
    located.sha256 = lowercase(*sha256);
  }
  if (const auto size = response.header("X-Artifact-Size")) {
    located.size = parse_uint64(*size);
    if (!located.size) {
      return fail(Errc::network,
                  fmt::format("{} sent an X-Artifact-Size that is not a number", response.url));
    }
  }
  return located;
}

Expected<std::string> describe(HttpClient& client, const Server& server, const Query& query)
{
  const auto response =
    AGENTDL_TRY(perform_with_retries(client, api_request(server, route_url(server, query, false))));
  return json_object(response, server);
}

Expected<std::string> list_releases(HttpClient& client,
                                    const Server& server,
                                    std::optional<std::string_view> channel)
{
  const auto url = api_url(server, { "agent-releases" }, { { "channel", channel } });
  const auto response = AGENTDL_TRY(perform_with_retries(client, api_request(server, url)));
  return json_object(response, server);
}

Error answer_error(const HttpResponse& response, bool token_sent)
{
  const long status = response.status;
  // A 400 from the API is about the parameters the user gave.
  const Errc code = status == 400 ? Errc::bad_request : status_errc(status);
  std::string message;
  boost::system::error_code ec;
  const auto body = boost::json::parse(response.body, ec);
  if (!ec && body.is_object()) {
    if (const auto* error = body.as_object().if_contains("error"); error && error->is_object()) {
      if (const auto* m = error->as_object().if_contains("message"); m && m->is_string()) {
        message = std::string(m->as_string());
      }
    }
  }
  if (message.empty()) {
    message = "server answered " + status_text(status);
  }
  if (status == 401) {
    message = token_sent ? fmt::format("the server rejected the token (server said: {})", message)
                         : fmt::format("the server requires a token: set AGENTDL_TOKEN or use "
                                       "--token-file (server said: {})",
                                       message);
  }
  return Error(code, std::move(message));
}

} // namespace agentdl::fetch
