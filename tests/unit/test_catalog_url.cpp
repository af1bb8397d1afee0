#include <agentdl/fetch/catalog_url.hpp>

#include <doctest/doctest.h>

#include <map>

namespace {

using agentdl::fetch::parse_catalog_url;

std::map<std::string, std::string> aws_keys(std::map<std::string, std::string> more = {})
{
  more.emplace("AWS_ACCESS_KEY_ID", "AKID");
  more.emplace("AWS_SECRET_ACCESS_KEY", "secret");
  return more;
}

agentdl::GetEnv env_of(const std::map<std::string, std::string>& vars)
{
  return [vars](std::string_view name) -> std::optional<std::string> {
    const auto it = vars.find(std::string(name));
    return it == vars.end() ? std::nullopt : std::optional(it->second);
  };
}

// Returns the URL fetched for `text`, or "error: ..." with the message.
std::string url_of(std::string_view text, const std::map<std::string, std::string>& vars)
{
  auto where = parse_catalog_url(text, env_of(vars));
  return where ? where->url : "error: " + where.error().message;
}

} // namespace

TEST_CASE("catalog url: http and https are fetched as given")
{
  CHECK(url_of("https://cdn.example.com/agentdl.toml?v=1", {}) ==
        "https://cdn.example.com/agentdl.toml?v=1");
  CHECK(url_of("http://10.0.0.5:8080/c/agentdl.toml", {}) == "http://10.0.0.5:8080/c/agentdl.toml");
  const auto where = parse_catalog_url("https://h/agentdl.toml", env_of({}));
  REQUIRE(where);
  CHECK_FALSE(where->s3);
  for (const auto* bad :
       { "ftp://h/c.toml", "agentdl.toml", "/etc/agentdl.toml", "https://", "" }) {
    CAPTURE(bad);
    CHECK(url_of(bad, {}).starts_with("error: --catalog-url \""));
  }
  // A query is never shown: it may hold a token.
  CHECK(url_of("ftp://h/c.toml?token=s3cr3t", {}) ==
        "error: --catalog-url \"ftp://h/c.toml?...\" must be an https://, http:// or "
        "s3://BUCKET/KEY URL");
}

TEST_CASE("catalog url: s3 on AWS itself, by region")
{
  CHECK(url_of("s3://my-bucket/prod/agentdl.toml", aws_keys()) ==
        "https://my-bucket.s3.us-east-1.amazonaws.com/prod/agentdl.toml");
  CHECK(
    url_of("s3://my-bucket/agentdl.toml", aws_keys({ { "AWS_DEFAULT_REGION", "eu-west-1" } })) ==
    "https://my-bucket.s3.eu-west-1.amazonaws.com/agentdl.toml");
  CHECK(
    url_of("s3://my-bucket/agentdl.toml",
           aws_keys({ { "AWS_REGION", "eu-central-1" }, { "AWS_DEFAULT_REGION", "eu-west-1" } })) ==
    "https://my-bucket.s3.eu-central-1.amazonaws.com/agentdl.toml");
  // A bucket that cannot be a host name label goes in the path.
  CHECK(url_of("s3://my.bucket/agentdl.toml", aws_keys()) ==
        "https://s3.us-east-1.amazonaws.com/my.bucket/agentdl.toml");
  // The key is encoded as SigV4 wants it, '/' kept.
  CHECK(url_of("s3://my-bucket/a b/c+d%.toml", aws_keys()) ==
        "https://my-bucket.s3.us-east-1.amazonaws.com/a%20b/c%2Bd%25.toml");

  const auto where = parse_catalog_url(
    "s3://my-bucket/agentdl.toml",
    env_of(aws_keys({ { "AWS_SESSION_TOKEN", "tok" }, { "AWS_REGION", "ap-south-1" } })));
  REQUIRE(where);
  REQUIRE(where->s3);
  CHECK(where->s3->access_key_id == "AKID");
  CHECK(where->s3->secret_access_key == "secret");
  CHECK(where->s3->session_token == "tok");
  CHECK(where->s3->region == "ap-south-1");
  CHECK(where->given == "s3://my-bucket/agentdl.toml");
}

TEST_CASE("catalog url: s3 at another endpoint (MinIO, R2)")
{
  CHECK(url_of("s3://cat/agentdl.toml",
               aws_keys({ { "AWS_ENDPOINT_URL", "http://127.0.0.1:9000" } })) ==
        "http://127.0.0.1:9000/cat/agentdl.toml");
  CHECK(
    url_of("s3://cat/agentdl.toml", aws_keys({ { "AWS_ENDPOINT_URL", "http://[::1]:9000/" } })) ==
    "http://[::1]:9000/cat/agentdl.toml");
  // Path style for a name too, as the AWS CLI: no wildcard DNS name needed.
  CHECK(url_of("s3://cat/agentdl.toml",
               aws_keys({ { "AWS_ENDPOINT_URL", "https://acc.r2.cloudflarestorage.com" } })) ==
        "https://acc.r2.cloudflarestorage.com/cat/agentdl.toml");
  CHECK(url_of("s3://cat/agentdl.toml",
               aws_keys({ { "AWS_ENDPOINT_URL", "https://minio.internal:9000/s3/" } })) ==
        "https://minio.internal:9000/s3/cat/agentdl.toml");
  // The S3 setting wins over the general one.
  CHECK(url_of("s3://cat/agentdl.toml",
               aws_keys({ { "AWS_ENDPOINT_URL_S3", "http://10.1.2.3:9000" },
                          { "AWS_ENDPOINT_URL", "http://10.9.9.9:9000" } })) ==
        "http://10.1.2.3:9000/cat/agentdl.toml");
  CHECK(url_of("s3://cat/agentdl.toml", aws_keys({ { "AWS_ENDPOINT_URL_S3", "10.1.2.3:9000" } })) ==
        "error: AWS_ENDPOINT_URL_S3 \"10.1.2.3:9000\" must be an http(s) URL such as "
        "http://127.0.0.1:9000");
}

TEST_CASE("catalog url: s3 errors name what is wrong")
{
  CHECK(url_of("s3://cat/agentdl.toml", {}) ==
        "error: --catalog-url \"s3://cat/agentdl.toml\" needs AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY in the environment");
  CHECK(url_of("s3://cat/agentdl.toml", { { "AWS_ACCESS_KEY_ID", "AKID" } }) ==
        "error: --catalog-url \"s3://cat/agentdl.toml\" needs AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY in the environment");
  CHECK(url_of("s3://cat", aws_keys()) ==
        "error: --catalog-url \"s3://cat\" must name a bucket and a key: s3://BUCKET/KEY");
  CHECK(url_of("s3://cat/", aws_keys()) ==
        "error: --catalog-url \"s3://cat/\" must name a bucket and a key: s3://BUCKET/KEY");
  CHECK(
    url_of("s3:///agentdl.toml", aws_keys()) ==
    "error: --catalog-url \"s3:///agentdl.toml\" must name a bucket and a key: s3://BUCKET/KEY");
  CHECK(url_of("s3://a/agentdl.toml", aws_keys()) ==
        "error: --catalog-url \"s3://a/agentdl.toml\" has an invalid bucket name \"a\"");
  CHECK(url_of("s3://bad bucket/agentdl.toml", aws_keys()) ==
        "error: --catalog-url \"s3://bad bucket/agentdl.toml\" has an invalid bucket name "
        "\"bad bucket\"");
  CHECK(url_of("s3://cat/a/../agentdl.toml", aws_keys()) ==
        "error: --catalog-url \"s3://cat/a/../agentdl.toml\" has a key with a \".\" or \"..\" "
        "segment, which no HTTP request can name");
  CHECK(url_of("s3://cat/./agentdl.toml", aws_keys()).starts_with("error: "));
  CHECK(url_of("s3://cat/agentdl.toml", aws_keys({ { "AWS_REGION", "eu-west-1.evil.com/" } })) ==
        "error: AWS region \"eu-west-1.evil.com/\" is not a region name such as eu-west-1");
  const auto where = parse_catalog_url("s3://cat", env_of(aws_keys()));
  REQUIRE_FALSE(where);
  CHECK(where.error().code == agentdl::Errc::usage);
}

TEST_CASE("catalog url: messages show neither the query nor a password")
{
  using agentdl::fetch::display_url;
  CHECK(display_url("https://h/c.toml?token=s3cr3t") == "https://h/c.toml?...");
  CHECK(display_url("https://alice:s3cr3t@h:8443/c.toml") == "https://h:8443/c.toml");
  CHECK(display_url("https://alice@h/c@d.toml?x=1") == "https://h/c@d.toml?...");
  CHECK(display_url("https://h/c@d.toml") == "https://h/c@d.toml");
  CHECK(display_url("s3://bucket/key") == "s3://bucket/key");
}
