#include <agentdl/crypto.hpp>
#include <agentdl/fetch/catalog_url.hpp>
#include <agentdl/token.hpp>

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <span>

namespace agentdl::fetch {

namespace {

// A presigned URL is made for one request and never leaves the process;
// S3's own 15 minutes leave room for a replica's clock to be off.
constexpr std::chrono::seconds k_presign_expiry{ 900 };

std::string env_or(const GetEnv& getenv, std::string_view name, std::string fallback = {})
{
  auto value = getenv(name);
  return value && !value->empty() ? std::move(*value) : std::move(fallback);
}

// Tells whether `bucket` can be a host name label, as virtual-host style needs.
bool dns_compatible(std::string_view bucket)
{
  for (const char c : bucket) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return false;
    }
  }
  return bucket.front() != '-' && bucket.back() != '-';
}

Expected<CatalogUrl> parse_s3(std::string_view text, const GetEnv& getenv)
{
  const auto fail_usage = [&](std::string_view why) {
    return fail(Errc::usage, fmt::format("--catalog-url \"{}\" {}", text, why));
  };
  const auto rest = text.substr(5); // after "s3://"
  const auto slash = rest.find('/');
  const auto bucket = rest.substr(0, slash);
  const auto key = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  if (bucket.empty() || key.empty()) {
    return fail_usage("must name a bucket and a key: s3://BUCKET/KEY");
  }
  // HTTP clients remove such segments from a path, and S3 signs the path as given.
  for (std::string_view segments = key; !segments.empty();) {
    const auto segment = segments.substr(0, segments.find('/'));
    if (segment == "." || segment == "..") {
      return fail_usage("has a key with a \".\" or \"..\" segment, which no HTTP request can name");
    }
    segments.remove_prefix(std::min(segments.size(), segment.size() + 1));
  }
  // S3's rules for names: 3 to 63 of a-z, 0-9, '.', '-' (and, for old
  // buckets, capitals and '_', which only path style can reach).
  const bool valid_bucket =
    bucket.size() >= 3 && bucket.size() <= 63 &&
    bucket.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") ==
      std::string_view::npos;
  if (!valid_bucket) {
    return fail_usage(fmt::format("has an invalid bucket name \"{}\"", bucket));
  }

  CatalogUrl where;
  where.given = std::string(text);
  S3Signing signing;
  signing.access_key_id = env_or(getenv, "AWS_ACCESS_KEY_ID");
  signing.secret_access_key = env_or(getenv, "AWS_SECRET_ACCESS_KEY");
  signing.session_token = env_or(getenv, "AWS_SESSION_TOKEN");
  signing.region = env_or(getenv, "AWS_REGION", env_or(getenv, "AWS_DEFAULT_REGION", "us-east-1"));
  signing.expires = k_presign_expiry;
  if (signing.region.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") !=
      std::string::npos) {
    return fail(
      Errc::usage,
      fmt::format("AWS region \"{}\" is not a region name such as eu-west-1", signing.region));
  }
  if (signing.access_key_id.empty() || signing.secret_access_key.empty()) {
    return fail_usage("needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment");
  }

  const auto encoded_key =
    boost::urls::encode(key, boost::urls::unreserved_chars + '/', boost::urls::encoding_opts{});
  // The S3 setting first, then the one for every AWS service.
  std::string_view endpoint_setting = "AWS_ENDPOINT_URL_S3";
  std::string endpoint = env_or(getenv, endpoint_setting);
  if (endpoint.empty()) {
    endpoint_setting = "AWS_ENDPOINT_URL";
    endpoint = env_or(getenv, endpoint_setting);
  }
  if (endpoint.empty()) {
    where.url =
      dns_compatible(bucket)
        ? fmt::format("https://{}.s3.{}.amazonaws.com/{}", bucket, signing.region, encoded_key)
        : fmt::format("https://s3.{}.amazonaws.com/{}/{}", signing.region, bucket, encoded_key);
    where.s3 = std::move(signing);
    return where;
  }
  const auto parsed = boost::urls::parse_absolute_uri(endpoint);
  if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https") ||
      parsed->encoded_host().empty() || parsed->has_query() || parsed->has_userinfo()) {
    return fail(Errc::usage,
                fmt::format("{} \"{}\" must be an http(s) URL such as http://127.0.0.1:9000",
                            endpoint_setting,
                            endpoint));
  }
  std::string path(parsed->encoded_path());
  while (!path.empty() && path.back() == '/') {
    path.pop_back();
  }
  // Path style, as the AWS CLI (botocore) uses for any endpoint given: a
  // MinIO or Ceph at http://minio:9000 needs no wildcard DNS name.
  where.url = fmt::format("{}://{}{}/{}/{}",
                          parsed->scheme(),
                          parsed->encoded_host_and_port(),
                          path,
                          bucket,
                          encoded_key);
  where.s3 = std::move(signing);
  return where;
}

// Returns S3's error code in an XML error body ("SignatureDoesNotMatch"), if any.
std::string_view s3_error_code(std::string_view body)
{
  const auto open = body.find("<Code>");
  const auto close = body.find("</Code>");
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return {};
  }
  const auto code = body.substr(open + 6, close - open - 6);
  if (code.size() > 64 ||
      code.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") !=
        std::string_view::npos) {
    return {};
  }
  return code;
}

// Returns the MD5 an S3 ETag is, when it is one: for an object written whole
// and stored unencrypted ("<32 hex digits>"). Not for a multipart upload
// ("...-3") nor for encrypted objects, whose ETags are something else on some
// stores (SSE-KMS on AWS, any encryption on MinIO).
std::optional<std::string> etag_md5(const HttpResponse& response)
{
  const auto etag = response.header("ETag").value_or("");
  if (etag.size() != 34 || etag.front() != '"' || etag.back() != '"' ||
      etag.find_first_not_of("0123456789abcdef", 1) != 33 ||
      response.header("x-amz-server-side-encryption") ||
      response.header("x-amz-server-side-encryption-customer-algorithm")) {
    return std::nullopt;
  }
  return std::string(etag.substr(1, 32));
}

} // namespace

Expected<CatalogUrl> parse_catalog_url(std::string_view text, const GetEnv& getenv)
{
  if (text.starts_with("s3://")) {
    return parse_s3(text, getenv);
  }
  const auto parsed = boost::urls::parse_absolute_uri(text);
  if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https") ||
      parsed->encoded_host().empty()) {
    return fail(
      Errc::usage,
      fmt::format("--catalog-url \"{}\" must be an https://, http:// or s3://BUCKET/KEY URL",
                  display_url(text)));
  }
  CatalogUrl where;
  where.given = std::string(text);
  where.url = std::string(parsed->buffer());
  return where;
}

Expected<FetchedCatalog> fetch_catalog(HttpClient& client,
                                       const CatalogUrl& where,
                                       std::string_view etag)
{
  const auto shown = display_url(where.given);
  HttpRequest request;
  request.url = where.s3
                  ? make_s3_signer(*where.s3)->sign(where.url, std::chrono::system_clock::now()).url
                  : where.url;
  // A presigned URL signs one host: a redirect could not be followed with it.
  request.follow = where.s3 ? Follow::no : Follow::yes;
  request.secret_query = true;
  if (!etag.empty()) {
    request.if_none_match = std::string(etag);
  }
  std::string body;
  bool too_large = false;
  const BodySink sink = [&](const HttpResponse&, std::span<const char> data) {
    if (body.size() + data.size() > k_max_catalog_bytes) {
      too_large = true;
      return false;
    }
    body.append(data.data(), data.size());
    return true;
  };
  // Checked while connecting and between bytes: a stop cuts a slow store short.
  const ProgressSink progress = [&](std::uint64_t, std::uint64_t) { return !client.cancelled(); };
  auto response = client.perform(request, &sink, &progress);
  if (too_large) {
    return fail(
      Errc::config,
      fmt::format("{}: the catalog is larger than {} MiB", shown, k_max_catalog_bytes >> 20));
  }
  if (!response) {
    return fail(response.error().error.code,
                fmt::format("{}: {}", shown, response.error().error.message));
  }
  // What was fetched over https is never taken from a redirect to http.
  if (where.url.starts_with("https:") && response->url.starts_with("http:")) {
    return fail(
      Errc::network,
      fmt::format("{}: redirected to {}, which is not https", shown, display_url(response->url)));
  }
  if (response->status == 304 && !etag.empty()) {
    return FetchedCatalog{ .modified = false, .text = {}, .etag = std::string(etag) };
  }
  if (response->status != 200) {
    const auto code = s3_error_code(response->body);
    return fail(
      status_errc(response->status),
      fmt::format(
        "{}: {}{}{}", shown, status_text(response->status), code.empty() ? "" : " ", code));
  }
  // Never taken for a catalog: nothing, or a body that is not the object
  // (a store that served it while it was being written).
  if (body.empty()) {
    return fail(Errc::network, fmt::format("{}: the store answered an empty catalog", shown));
  }
  if (const auto md5 = where.s3 ? etag_md5(*response) : std::nullopt;
      md5 && to_hex(agentdl::md5(body)) != *md5) {
    return fail(Errc::network,
                fmt::format("{}: the catalog received does not match its ETag (an MD5): read "
                            "while it was being written?",
                            shown));
  }
  return FetchedCatalog{ .modified = true,
                         .text = std::move(body),
                         .etag = std::string(response->header("ETag").value_or("")) };
}

} // namespace agentdl::fetch
