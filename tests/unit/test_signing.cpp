#include <agentdl/crypto.hpp>
#include <agentdl/signing/hmac.hpp>
#include <agentdl/signing/signer.hpp>

#include <doctest/doctest.h>

#include <string>

using agentdl::LinkCheck;
using agentdl::SystemTime;
using namespace std::chrono_literals;

namespace {

SystemTime at(long long unix_seconds)
{
  return SystemTime(std::chrono::seconds(unix_seconds));
}

// 2013-05-24T00:00:00Z, the AWS documentation's example time.
const SystemTime k_aws_example_time = at(1369353600);

agentdl::S3Signing aws_example()
{
  REQUIRE(agentdl::crypto_init().has_value());
  agentdl::S3Signing s3;
  s3.access_key_id = "AKIAIOSFODNN7EXAMPLE";
  s3.secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  s3.region = "us-east-1";
  s3.expires = 86400s;
  return s3;
}

} // namespace

TEST_CASE("signing: s3, the AWS documentation's example")
{
  const auto signer = agentdl::make_s3_signer(aws_example());
  const auto location =
    signer->sign("https://examplebucket.s3.amazonaws.com/test.txt", k_aws_example_time);
  CHECK(location.url ==
        "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
  CHECK(location.expires_at == k_aws_example_time + 86400s);
  SUBCASE("the same again, and the next day: the day's key is made anew")
  {
    CHECK(signer->sign("https://examplebucket.s3.amazonaws.com/test.txt", k_aws_example_time).url ==
          location.url);
    const auto next_day =
      signer->sign("https://examplebucket.s3.amazonaws.com/test.txt", k_aws_example_time + 24h);
    CHECK(next_day.url.find("%2F20130525%2F") != std::string::npos);
    CHECK(next_day.url.find("X-Amz-Signature=aeeed9bb") == std::string::npos);
  }
}

TEST_CASE("signing: s3 URI encoding, path-style endpoints, token and content disposition")
{
  auto settings = aws_example();
  SUBCASE("the key re-encoded as SigV4 wants: '/' kept, '+' and ' ' and UTF-8 as %XX")
  {
    const auto url =
      agentdl::make_s3_signer(settings)
        ->sign("http://127.0.0.1:9000/bucket/a%20b/c+d/%C3%A9~x!.msi", k_aws_example_time)
        .url;
    CHECK(url.starts_with("http://127.0.0.1:9000/bucket/a%20b/c%2Bd/%C3%A9~x%21.msi?"
                          "X-Amz-Algorithm=AWS4-HMAC-SHA256&"));
  }
  SUBCASE("a session token is signed, before the signature")
  {
    settings.session_token = "token/with+signs=";
    const auto url = agentdl::make_s3_signer(settings)
                       ->sign("https://b.s3.amazonaws.com/k", k_aws_example_time)
                       .url;
    const auto token = url.find("&X-Amz-Security-Token=token%2Fwith%2Bsigns%3D&X-Amz-Signature=");
    CHECK(token != std::string::npos);
  }
  SUBCASE("the content disposition comes first, as an operation parameter")
  {
    settings.content_disposition = true;
    const auto url =
      agentdl::make_s3_signer(settings)
        ->sign("https://b.s3.amazonaws.com/dir/Agent%20Setup.msi", k_aws_example_time)
        .url;
    CHECK(url.starts_with("https://b.s3.amazonaws.com/dir/Agent%20Setup.msi?"
                          "response-content-disposition=attachment%3B%20filename%3D%22Agent%20"
                          "Setup.msi%22&X-Amz-Algorithm="));
  }
}

TEST_CASE("signing: nginx secure_link")
{
  REQUIRE(agentdl::crypto_init().has_value());
  // Expected values from Python: base64url(md5(b"1700000900/files/dir/Agent Setup é.msi s3cr3t")).
  const auto signer = agentdl::make_nginx_secure_link_signer("s3cr3t", 900s);
  const auto location =
    signer->sign("http://127.0.0.1:8080/files/dir/Agent%20Setup%20%C3%A9.msi", at(1700000000));
  CHECK(location.url == "http://127.0.0.1:8080/files/dir/Agent%20Setup%20%C3%A9.msi"
                        "?md5=HlYl_lQo1D0RmTrd_Gu9iQ&expires=1700000900");
  CHECK(location.expires_at == at(1700000900));
  SUBCASE("a Location with a query of its own")
  {
    CHECK(signer->sign("https://dl.example.com/a?x=1", at(0))
            .url.starts_with("https://dl.example.com/a?x=1&md5="));
  }
}

TEST_CASE("signing: hmac links, signed and checked")
{
  REQUIRE(agentdl::crypto_init().has_value());
  const std::string path = "/files/1.8.3/windows/x86_64/Agent Setup é.msi";
  const auto signer = agentdl::make_hmac_signer({ "mirror-secret" }, 900s);
  const auto location = signer->sign(
    "http://mirror.lan/files/1.8.3/windows/x86_64/Agent%20Setup%20%C3%A9.msi", at(1700000000));
  // Expected value from Python's hmac and base64.
  CHECK(location.url == "http://mirror.lan/files/1.8.3/windows/x86_64/Agent%20Setup%20%C3%A9.msi"
                        "?expires=1700000900&sig=Wf4Yl2L6KqytPv5rL5wXDVpGdWO6lRTOGVICV1T_qHw");
  CHECK(agentdl::hmac_link_signature("mirror-secret", path, 1700000900) ==
        "Wf4Yl2L6KqytPv5rL5wXDVpGdWO6lRTOGVICV1T_qHw");

  const agentdl::HmacVerifier verifier({ "mirror-secret" });
  const auto check = [&](std::string_view query, long long now = 1700000100) {
    return verifier.check(path, query, at(now));
  };
  const std::string sig = "sig=Wf4Yl2L6KqytPv5rL5wXDVpGdWO6lRTOGVICV1T_qHw";
  CHECK(check("expires=1700000900&" + sig) == LinkCheck::valid);
  CHECK(check(sig + "&expires=1700000900&other=1") == LinkCheck::valid);
  CHECK(check("expires=1700000900&" + sig, 1700000900) == LinkCheck::valid); // its last second
  SUBCASE("expired")
  {
    CHECK(check("expires=1700000900&" + sig, 1700000901) == LinkCheck::expired);
  }
  SUBCASE("altered: the signature, the expiry, the path")
  {
    CHECK(check("expires=1700000900&sig=Xf4Yl2L6KqytPv5rL5wXDVpGdWO6lRTOGVICV1T_qHw") ==
          LinkCheck::bad);
    CHECK(check("expires=1700000901&" + sig) == LinkCheck::bad);
    CHECK(verifier.check("/files/other.msi", "expires=1700000900&" + sig, at(1700000100)) ==
          LinkCheck::bad);
  }
  SUBCASE("missing")
  {
    CHECK(check("") == LinkCheck::missing);
    CHECK(check(sig) == LinkCheck::missing);
    CHECK(check("expires=1700000900") == LinkCheck::missing);
  }
  SUBCASE("repeated or malformed")
  {
    CHECK(check("expires=1700000900&expires=1700000900&" + sig) == LinkCheck::malformed);
    CHECK(check("expires=1700000900&" + sig + "&" + sig) == LinkCheck::malformed);
    CHECK(check("expires=17000009x0&" + sig) == LinkCheck::malformed);
    CHECK(check("expires=&" + sig) == LinkCheck::malformed);
    CHECK(check("expires=-1&" + sig) == LinkCheck::malformed);
    CHECK(check("expires=+1700000900&" + sig) == LinkCheck::malformed);
    CHECK(check("expires=99999999999999999999999&" + sig) == LinkCheck::malformed);
    CHECK(check("expires=1700000900&sig=short") == LinkCheck::malformed);
    CHECK(check("expires=1700000900&sig=Wf4Yl2L6KqytPv5rL5wXDVpGdWO6lRTOGVICV1T/qHw") ==
          LinkCheck::malformed);
    CHECK(check("expires=1700000900&sig") == LinkCheck::malformed);
  }
  SUBCASE("rotation: the first secret signs, any verifies")
  {
    const agentdl::HmacVerifier rotated({ "new-secret", "mirror-secret" });
    CHECK(rotated.check(path, "expires=1700000900&" + sig, at(1700000100)) == LinkCheck::valid);
    const auto new_signer = agentdl::make_hmac_signer({ "new-secret", "mirror-secret" }, 900s);
    const auto fresh = new_signer->sign("http://mirror.lan/files/a.msi", at(1700000000)).url;
    const auto query = fresh.substr(fresh.find('?') + 1);
    CHECK(rotated.check("/files/a.msi", query, at(1700000100)) == LinkCheck::valid);
    CHECK(verifier.check("/files/a.msi", query, at(1700000100)) == LinkCheck::bad);
    CHECK(fresh.find(agentdl::hmac_link_signature("new-secret", "/files/a.msi", 1700000900)) !=
          std::string::npos);
  }
  SUBCASE("under a public_url with a path, the path the server sees is signed")
  {
    // A proxy maps https://example.com/dl%20x/ to the server's root.
    const auto behind =
      agentdl::make_hmac_signer({ "mirror-secret" }, 900s, "https://example.com/dl%20x");
    const auto url =
      behind
        ->sign("https://example.com/dl%20x/files/1.8.3/windows/x86_64/Agent%20Setup%20%C3%A9.msi",
               at(1700000000))
        .url;
    CHECK(url.ends_with("?expires=1700000900&" + sig));
    // A URL elsewhere (another server's files) is signed on its whole path.
    const auto other = behind->sign("https://example.org/dl%20x/files/a.msi", at(1700000000)).url;
    CHECK(other.find(agentdl::hmac_link_signature(
            "mirror-secret", "/dl x/files/a.msi", 1700000900)) != std::string::npos);
  }
}
