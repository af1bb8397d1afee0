// The catalog from a store (agentdl-serve --catalog-url, CONTRACT section 4):
// an http(s) URL, or an S3 object `s3://BUCKET/KEY` reached and signed the
// way the AWS SDKs do it, fetched again only when its ETag moved.
#pragma once

#include <agentdl/config.hpp>
#include <agentdl/error.hpp>
#include <agentdl/fetch/http.hpp>
#include <agentdl/signing/signer.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace agentdl::fetch {

// Where a catalog lives.
struct CatalogUrl
{
  std::string given;           // as given on the command line, for messages
  std::string url;             // the http(s) URL to GET; for S3 before signing
  std::optional<S3Signing> s3; // how to sign `url`, for s3://
};

// Parses `text`: "https://...", "http://..." or "s3://BUCKET/KEY". For S3 the
// endpoint comes from AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, else AWS
// itself for AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1 (path style
// for an endpoint given, as the AWS CLI does; virtual-host style on AWS but
// for a bucket with a '.'), and the keys from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN, read with `getenv`. Fails with Errc::usage naming what is
// wrong or missing.
Expected<CatalogUrl> parse_catalog_url(std::string_view text, const GetEnv& getenv);

// One answer of the store.
struct FetchedCatalog
{
  bool modified = true; // false: 304, the copy the caller has is current
  std::string text;     // the catalog, when modified
  std::string etag;     // its ETag, as the store sent it (empty: none)
};

// The largest catalog fetched: a larger answer is an error, never cut.
inline constexpr std::size_t k_max_catalog_bytes = 256 * 1024 * 1024;

// Asks the store for the catalog at `where` over `client`: with If-None-Match
// `etag` when it is not empty. One attempt: the caller's next poll is the
// retry. Fails naming the URL (without a signature) and what went wrong: no
// answer, an HTTP error with S3's own error code when it sent one, a body cut
// short, empty or larger than k_max_catalog_bytes, or for S3 a body whose MD5
// is not the ETag when the ETag is one.
Expected<FetchedCatalog> fetch_catalog(HttpClient& client,
                                       const CatalogUrl& where,
                                       std::string_view etag);

} // namespace agentdl::fetch
