#include <agentdl/api.hpp>
#include <agentdl/auth.hpp>
#include <agentdl/http_message.hpp>
#include <agentdl/mirror/files.hpp>
#include <agentdl/output.hpp>
#include <agentdl/resolver.hpp>
#include <agentdl/signing/hmac.hpp>
#include <agentdl/utf8.hpp>

#include <boost/url/decode_view.hpp>
#include <boost/url/grammar/ci_string.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/scheme.hpp>
#include <boost/url/url_view.hpp>
#include <fmt/format.h>

#include <array>
#include <charconv>
#include <iterator>
#include <optional>

namespace agentdl {

namespace {

enum class Route
{
  download_latest,
  download_version,
  latest,
  version,
  releases,
  healthz,
  metrics,
  files,
  page
};

std::string_view route_name(Route route)
{
  switch (route) {
    case Route::download_latest:
      return "download_latest";
    case Route::download_version:
      return "download_version";
    case Route::latest:
      return "latest";
    case Route::version:
      return "version";
    case Route::releases:
      return "releases";
    case Route::healthz:
      return "healthz";
    case Route::page:
      return "page";
    case Route::metrics:
      return "metrics";
    case Route::files:
      return "files";
  }
  return "unknown";
}

// The query parameters the API reads. Others are ignored.
struct Params
{
  std::optional<std::string> channel;
  std::optional<std::string> platform;
  std::optional<std::string> arch;
};

Expected<Params> read_params(const boost::urls::url_view& url)
{
  Params params;
  for (const auto& param : url.params()) {
    std::optional<std::string>* slot = nullptr;
    if (param.key == "channel") {
      slot = &params.channel;
    } else if (param.key == "platform") {
      slot = &params.platform;
    } else if (param.key == "arch") {
      slot = &params.arch;
    } else {
      continue;
    }
    const std::string value = param.has_value ? param.value : std::string();
    if (!is_valid_utf8(value)) {
      // Names are ASCII, and what a JSON answer echoes must be UTF-8.
      return fail(Errc::bad_request,
                  fmt::format("parameter \"{}\" is not valid UTF-8", param.key),
                  { { "parameter", param.key }, { "value", value } });
    }
    // Values match case-insensitively, so "windows" and "WINDOWS" are one value.
    if (*slot && !boost::urls::grammar::ci_is_equal(**slot, value)) {
      return fail(Errc::bad_request,
                  fmt::format("parameter \"{}\" is given twice with different values", param.key),
                  { { "parameter", param.key }, { "value", value } });
    }
    *slot = value;
  }
  return params;
}

std::optional<std::string_view> view(const std::optional<std::string>& s)
{
  return s ? std::optional<std::string_view>(*s) : std::nullopt;
}

// The route of `path`, and for versioned routes the decoded version segment.
struct Match
{
  Route route;
  std::string version;
};

// Returns the route for `path` (still percent-encoded), nullopt for an
// unknown route, or an error for a version segment that cannot be one.
// /files/ is a route only for a catalog with a [mirror], / only with a
// downloads page.
Expected<std::optional<Match>> match_route(std::string_view path,
                                           std::string_view prefix,
                                           bool mirror,
                                           bool page)
{
  if (page && path == "/") {
    return Match{ Route::page, {} };
  }
  if (path == "/healthz") {
    return Match{ Route::healthz, {} };
  }
  if (path == "/metrics") {
    return Match{ Route::metrics, {} };
  }
  if (mirror && path.starts_with("/files/")) {
    return Match{ Route::files, {} };
  }
  if (!path.starts_with(prefix) || path.substr(prefix.size()).substr(0, 15) != "/agent-releases") {
    return std::nullopt;
  }
  auto rest = path.substr(prefix.size() + 15);
  if (rest.empty()) {
    return Match{ Route::releases, {} };
  }
  if (rest.front() != '/' || rest.size() == 1) {
    return std::nullopt;
  }
  rest.remove_prefix(1);
  const auto slash = rest.find('/');
  const auto segment = rest.substr(0, slash);
  const auto tail = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  const bool download = tail == "/download";
  if (!tail.empty() && !download) {
    return std::nullopt;
  }
  if (segment == "latest") {
    return Match{ download ? Route::download_latest : Route::latest, {} };
  }
  auto encoded = boost::urls::make_pct_string_view(segment);
  std::string version;
  if (encoded) {
    version = std::string(encoded->decode());
  }
  const auto bad = [&](std::string_view why) {
    return fail(Errc::bad_request,
                fmt::format("invalid version \"{}\": {}", segment, why),
                { { "parameter", "version" }, { "value", std::string(segment) } });
  };
  if (!encoded) {
    return bad("malformed percent-encoding");
  }
  if (auto parsed = Version::parse(version); !parsed) {
    return bad(parsed.error());
  }
  return Match{ download ? Route::download_version : Route::version, std::move(version) };
}

ApiResponse json_response(std::string body, Route route)
{
  ApiResponse response;
  response.content_type = "application/json";
  response.body = std::move(body);
  response.route = route_name(route);
  return response;
}

// Makes `response` the redirect to `location` (signed when `signed_location`).
void redirect(const Catalog& catalog,
              const Resolution& resolution,
              Route route,
              std::string_view location,
              bool signed_location,
              ApiResponse& response)
{
  response.status = 302;
  response.route = route_name(route);
  response.location_signed = signed_location;
  const auto& artifact = *resolution.artifact;
  response.headers.emplace_back("Location", location);
  response.headers.emplace_back("X-Release-Version", resolution.release->version.str());
  if (!artifact.sha256.empty()) {
    response.headers.emplace_back("X-Artifact-Sha256", artifact.sha256);
  }
  if (artifact.size) {
    std::array<char, 24> digits; // std::to_chars: no std::string made
    const auto end =
      std::to_chars(digits.data(), digits.data() + digits.size(), *artifact.size).ptr;
    response.headers.emplace_back("X-Artifact-Size", std::string_view(digits.data(), end));
  }
  std::string_view cache;
  if (catalog.storage.signing != Signing::none) {
    cache = "no-store"; // a signed Location expires; no cache may keep it
  } else if (route == Route::download_latest) {
    cache = "no-cache";
  } else {
    cache = catalog.auth.mode == AuthMode::none ? "public, max-age=3600" : "private, max-age=3600";
  }
  response.headers.emplace_back("Cache-Control", cache);
}

// Answers a resolved request into `response`: the redirect, or its JSON
// description (latest, version), with the Location signed as of `now` when
// the catalog signs.
void answer_resolution(const Catalog& catalog,
                       const Resolution& resolution,
                       Route route,
                       SystemTime now,
                       ApiResponse& response)
{
  if (route == Route::latest || route == Route::version) {
    response = json_response(
      resolution_json(resolution, location_of(catalog, *resolution.artifact, now)), route);
    return;
  }
  if (!catalog.storage.signer) {
    // The catalog's own URL, copied once, into the response's buffer.
    redirect(catalog, resolution, route, resolution.artifact->location, false, response);
    return;
  }
  const auto location = catalog.storage.signer->sign(resolution.artifact->location, now);
  redirect(catalog, resolution, route, location.url, location.expires_at.has_value(), response);
}

Error forbidden(std::string message, std::vector<Detail> details)
{
  return Error(Errc::forbidden, std::move(message), std::move(details));
}

// The 401 of a caller without a token asking for what is not public: the
// same answer as when nothing is public.
Error authentication_required()
{
  return Error(Errc::unauthorized, "Authentication required: send Authorization: Bearer <token>");
}

// Returns `error` (a 403) for a caller with a token, the 401 for one without.
Error denied(const Caller& caller, Error error)
{
  return caller.anonymous ? authentication_required() : std::move(error);
}

// Tells whether an anonymous caller may ask for channel `name` (or the
// default channel): it is known and public. Checked before the parameters,
// so that a caller without a token learns nothing of the private channels.
bool anonymous_may_ask(const Catalog& catalog,
                       const Caller& caller,
                       std::optional<std::string_view> name)
{
  const auto channel = find_channel(catalog, name);
  return channel && may_read_channel(
                      catalog, caller, static_cast<ChannelId>(*channel - catalog.channels.data()));
}

// Tells whether an anonymous caller may ask for release `version`: it
// exists and is in a public channel.
bool anonymous_may_ask(const Catalog& catalog, const Caller& caller, const Version& version)
{
  const auto index = catalog.find_release(version);
  return index && may_read_release(catalog, caller, catalog.releases[*index]);
}

// Answers an authenticated request on a release route into `response`.
Expected<void> answer(const Snapshot& snapshot,
                      const Caller& caller,
                      const Match& match,
                      const Params& params,
                      SystemTime now,
                      ApiResponse& response)
{
  const auto& catalog = snapshot.catalog();
  switch (match.route) {
    case Route::download_latest:
    case Route::latest: {
      Query query{ .channel = view(params.channel),
                   .platform = view(params.platform),
                   .arch = view(params.arch) };
      // Parameters first (400), then the channel's access (403), then lookup
      // (404); a caller without a token is refused a private channel first.
      if (caller.anonymous && !anonymous_may_ask(catalog, caller, query.channel)) {
        return std::unexpected(authentication_required());
      }
      const auto* channel = AGENTDL_TRY(find_channel(catalog, query.channel));
      auto resolution = resolve(catalog, query);
      if (!resolution && resolution.error().code == Errc::bad_request) {
        return std::unexpected(std::move(resolution).error());
      }
      const auto id = static_cast<ChannelId>(channel - catalog.channels.data());
      if (!may_read_channel(catalog, caller, id)) {
        return std::unexpected(
          denied(caller,
                 forbidden(fmt::format("this token may not read channel \"{}\"", channel->name),
                           { { "channel", channel->name } })));
      }
      if (!resolution) {
        return std::unexpected(std::move(resolution).error());
      }
      answer_resolution(catalog, *resolution, match.route, now, response);
      return {};
    }
    case Route::download_version:
    case Route::version: {
      if (caller.anonymous && !anonymous_may_ask(catalog, caller, *Version::parse(match.version))) {
        return std::unexpected(authentication_required());
      }
      if (match.route == Route::version && !params.platform && !params.arch) {
        // Without platform: the release with all its artifacts.
        const auto index = catalog.find_release(*Version::parse(match.version));
        if (index && !may_read_release(catalog, caller, catalog.releases[*index])) {
          return std::unexpected(
            denied(caller,
                   forbidden(fmt::format("this token may not read release {}",
                                         catalog.releases[*index].version.str()),
                             { { "version", catalog.releases[*index].version.str() } })));
        }
        if (!index || catalog.releases[*index].yanked) {
          return fail(Errc::not_found,
                      index ? fmt::format("release {} is yanked", match.version)
                            : fmt::format("no release {}", match.version),
                      { { "version", match.version } });
        }
        response = json_response(release_json(catalog, *index), match.route);
        return {};
      }
      Query query{ .version = match.version,
                   .platform = view(params.platform),
                   .arch = view(params.arch) };
      auto resolution = resolve(catalog, query);
      if (!resolution && resolution.error().code == Errc::bad_request) {
        return std::unexpected(std::move(resolution).error());
      }
      const auto index = catalog.find_release(*Version::parse(match.version));
      if (index && !may_read_release(catalog, caller, catalog.releases[*index])) {
        return std::unexpected(
          denied(caller,
                 forbidden(fmt::format("this token may not read release {}",
                                       catalog.releases[*index].version.str()),
                           { { "version", catalog.releases[*index].version.str() } })));
      }
      if (!resolution) {
        return std::unexpected(std::move(resolution).error());
      }
      answer_resolution(catalog, *resolution, match.route, now, response);
      return {};
    }
    case Route::releases: {
      std::optional<ChannelId> channel;
      if (params.channel) {
        if (caller.anonymous && !anonymous_may_ask(catalog, caller, view(params.channel))) {
          return std::unexpected(authentication_required());
        }
        const auto* found = AGENTDL_TRY(find_channel(catalog, view(params.channel)));
        channel = static_cast<ChannelId>(found - catalog.channels.data());
        if (!may_read_channel(catalog, caller, *channel)) {
          return std::unexpected(
            forbidden(fmt::format("this token may not read channel \"{}\"", found->name),
                      { { "channel", found->name } }));
        }
      }
      response.content_type = "application/json";
      response.route = route_name(match.route);
      response.shared_body = snapshot.release_list(channel, Scope::of(catalog, caller));
      return {};
    }
    case Route::healthz:
    case Route::metrics:
    case Route::files:
    case Route::page:
      break;
  }
  return fail(Errc::internal, "unreachable route");
}

// Returns the 401 answer for a failed authentication.
ApiResponse unauthorized(const Error& error,
                         std::string_view route,
                         std::optional<std::string_view> authorization)
{
  auto response = error_response(error, route);
  response.headers.emplace_back(
    "WWW-Authenticate",
    www_authenticate(Errc::unauthorized, bearer_token(authorization).has_value()));
  return response;
}

// Answers /files/{path} for `caller` (nullptr: signed links, no token):
// which file, and whether this caller may have it (CONTRACT section 6). The
// mirror serves what its catalog lists, so a file no release lists is 404
// even when it is on disk.
ApiResponse file_response(const Snapshot& snapshot,
                          const Caller* caller,
                          const boost::urls::url_view& url,
                          SystemTime now)
{
  const auto& catalog = snapshot.catalog();
  const auto route = route_name(Route::files);
  auto path =
    mirror::decode_file_path(url.encoded_path().substr(std::string_view("/files/").size()));
  if (!path) {
    return error_response(path.error(), route);
  }
  if (!caller) {
    const auto check =
      catalog.storage.link_verifier->check("/files/" + *path, url.encoded_query(), now);
    if (check != LinkCheck::valid) {
      return error_response(
        Error(Errc::forbidden, std::string(link_check_text(check)), { { "path", *path } }), route);
    }
  }
  const auto listed = snapshot.releases_with_file(*path);
  const auto readable = [&](const ListedFile& file) {
    return may_read_release(catalog, *caller, catalog.releases[file.release]);
  };
  if (caller && caller->anonymous && std::none_of(listed.begin(), listed.end(), readable)) {
    // Without a token: a file no public release lists is not told apart
    // from one that does not exist.
    return unauthorized(authentication_required(), route, std::nullopt);
  }
  if (listed.empty()) {
    return error_response(mirror::file_not_found(*path), route);
  }
  if (caller && std::none_of(listed.begin(), listed.end(), [&](const ListedFile& file) {
        return may_read_release(catalog, *caller, catalog.releases[file.release]);
      })) {
    const auto& version = catalog.releases[listed.front().release].version.str();
    auto response = error_response(
      forbidden(fmt::format("this token may not read file \"{}\" (release {})", *path, version),
                { { "path", *path }, { "version", version } }),
      route);
    response.headers.emplace_back("WWW-Authenticate", www_authenticate(Errc::forbidden, true));
    return response;
  }
  ApiResponse response;
  response.route = route;
  response.file = std::move(*path);
  return response;
}

// Answers /files/{path}: with signing = "hmac" the link is the credential
// and no token is read; else the bearer token, as on the other routes.
ApiResponse answer_file_request(const Snapshot& snapshot,
                                const ApiRequest& request,
                                const boost::urls::url_view& url,
                                const ApiContext& context)
{
  const auto& catalog = snapshot.catalog();
  if (catalog.storage.signing == Signing::hmac) {
    return file_response(snapshot, nullptr, url, context.now);
  }
  const auto caller = authenticate(catalog, request.authorization);
  if (!caller) {
    return unauthorized(caller.error(), route_name(Route::files), request.authorization);
  }
  auto response = file_response(snapshot, &*caller, url, context.now);
  if (caller->token) {
    response.token_name = caller->token->name;
  }
  return response;
}

// Returns the URL of request target `target`: the origin form, or the
// absolute form, which RFC 9112 section 3.2.2 says a server must accept
// ("GET http://host/v2/..."; only its path and query count) when its
// scheme is http or https: "x:80" (the authority form) and "ftp://..."
// name no resource here.
std::optional<boost::urls::url_view> parse_target(std::string_view target)
{
  if (const auto url = boost::urls::parse_origin_form(target)) {
    return *url;
  }
  const auto url = boost::urls::parse_absolute_uri(target);
  if (url && (url->scheme_id() == boost::urls::scheme::http ||
              url->scheme_id() == boost::urls::scheme::https)) {
    return *url;
  }
  return std::nullopt;
}

// Answers / with the downloads page's rendering for the visitor's
// User-Agent: public by definition, so no token is read; 304 when the
// visitor has that rendering already.
void answer_page(const page::DownloadsPage& page, const ApiRequest& request, ApiResponse& response)
{
  const auto& rendering = page.for_visitor(page::visitor_of(request.user_agent));
  // Browsers all take gzip: a fifth of the bytes, compressed once per catalog.
  const bool gzip = accepts_gzip(request.accept_encoding);
  const auto& etag = gzip ? rendering.gzip_etag : rendering.etag;
  response.route = route_name(Route::page);
  response.content_type = "text/html; charset=utf-8";
  if (gzip) {
    response.headers.emplace_back("Content-Encoding", "gzip");
  }
  response.headers.emplace_back("ETag", etag);
  response.headers.emplace_back("Cache-Control", "no-cache");
  response.headers.emplace_back("Vary", "User-Agent, Accept-Encoding");
  response.headers.emplace_back("Content-Security-Policy", page.content_security_policy());
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("Referrer-Policy", "same-origin");
  if (request.if_none_match && mirror::none_match_matches(*request.if_none_match, etag)) {
    response.status = 304;
    return;
  }
  response.shared_body = gzip ? rendering.gzip : rendering.html;
}

} // namespace

ApiResponse error_response(const Error& error, std::string_view route)
{
  ApiResponse response;
  response.status = http_status(error.code);
  response.content_type = "application/json";
  response.route = route;
  if (response.status >= 500) {
    // A 500 reveals nothing internal (a path, a library's message).
    response.body = error_json(Error(Errc::internal, "Internal server error"));
  } else {
    response.body = error_json(error);
  }
  return response;
}

ApiResponse handle(const Snapshot& snapshot, const ApiRequest& request, const ApiContext& context)
{
  ApiResponse response;
  handle(snapshot, request, context, response);
  return response;
}

void handle(const Snapshot& snapshot,
            const ApiRequest& request,
            const ApiContext& context,
            ApiResponse& response)
{
  response.clear();
  const auto& catalog = snapshot.catalog();
  const auto url = parse_target(request.target);
  if (!url) {
    response = error_response(Error(Errc::bad_request, "malformed request target"), "unknown");
    return;
  }
  auto matched = match_route(url->encoded_path(),
                             catalog.server.api_prefix,
                             !catalog.mirror.root.empty(),
                             snapshot.page() != nullptr);
  if (matched && (*matched) && (*matched)->route == Route::metrics && !context.metrics) {
    response = error_response(Error(Errc::not_found, "no such route (metrics are off)"), "unknown");
    return;
  }
  const bool unknown = matched && !*matched;
  const auto route = unknown   ? std::string_view("unknown")
                     : matched ? route_name((*matched)->route)
                               : std::string_view("version");

  if (request.method != "GET" && request.method != "HEAD") {
    response = error_response(
      Error(Errc::method_not_allowed,
            fmt::format("method {} is not allowed (allowed: GET, HEAD)", request.method)),
      route);
    response.headers.emplace_back("Allow", "GET, HEAD");
    return;
  }
  if (matched && !unknown && (*matched)->route == Route::healthz) {
    response.content_type = "application/json";
    response.route = route_name(Route::healthz);
    fmt::format_to(std::back_inserter(response.body),
                   R"({{"status":"ok","releases":{}}})",
                   catalog.releases.size());
    return;
  }
  if (matched && !unknown && (*matched)->route == Route::metrics) {
    response = json_response(context.metrics(), Route::metrics);
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return;
  }
  if (matched && !unknown && (*matched)->route == Route::files) {
    response = answer_file_request(snapshot, request, *url, context);
    return;
  }
  if (matched && !unknown && (*matched)->route == Route::page) {
    answer_page(*snapshot.page(), request, response);
    return;
  }

  const auto caller = authenticate(catalog, request.authorization);
  if (!caller) {
    response = unauthorized(caller.error(), route, request.authorization);
    return;
  }
  auto params = read_params(*url);
  if (caller->anonymous && (unknown || !matched)) {
    // Without a token, only the public channels' routes are answered.
    response = unauthorized(authentication_required(), route, request.authorization);
  } else if (unknown) {
    // After authentication: callers without a token cannot map the routes.
    response = error_response(Error(Errc::not_found, "no such route"), "unknown");
  } else if (!matched) {
    response = error_response(matched.error(), route); // a malformed version segment: 400
  } else if (!params) {
    response = error_response(params.error(), route);
  } else if (auto answered = answer(snapshot, *caller, **matched, *params, context.now, response);
             !answered) {
    if (answered.error().code == Errc::unauthorized) {
      response = unauthorized(answered.error(), route, request.authorization);
    } else {
      response = error_response(answered.error(), route);
    }
    if (answered.error().code == Errc::forbidden) {
      response.headers.emplace_back("WWW-Authenticate", www_authenticate(Errc::forbidden, true));
    }
  }
  if (caller->token) {
    response.token_name = caller->token->name;
  }
}

} // namespace agentdl
