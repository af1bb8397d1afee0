// Signed, expiring Locations (CONTRACT section 5): one Signer per scheme
// behind one interface, built from the catalog's [storage] when it loads.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentdl {

using SystemTime = std::chrono::system_clock::time_point;

// A Location as handed out: the URL, and when its signature expires (none
// when it is not signed).
struct SignedLocation
{
  std::string url;
  std::optional<SystemTime> expires_at;
};

// Signs the Locations of one catalog's storage. Thread-safe; the secrets it
// holds never leave it.
class Signer
{
public:
  virtual ~Signer() = default;

  // Returns `url` (an absolute URL as the catalog made it) signed as of `now`.
  virtual SignedLocation sign(std::string_view url, SystemTime now) const = 0;
};

// What S3 presigning needs (AWS Signature Version 4).
struct S3Signing
{
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token; // empty: none
  std::string region;
  std::chrono::seconds expires{ 900 };
  bool content_disposition = false; // add response-content-disposition=attachment
};

// Returns the S3 presigner (s3.cpp): query-string SigV4 for GET, payload
// UNSIGNED-PAYLOAD, `host` the only signed header; the signing key derived
// once per day.
std::unique_ptr<Signer> make_s3_signer(S3Signing settings);

// Returns the signer for nginx's secure_link (nginx_secure_link.cpp):
// appends md5=base64url(MD5("{expires}{decoded path} {secret}"))&expires=.
std::unique_ptr<Signer> make_nginx_secure_link_signer(std::string secret,
                                                      std::chrono::seconds expires);

// Returns the signer of agentdl's own links (hmac.cpp): appends
// expires=&sig=base64url(HMAC-SHA256(secret, "{expires}:{decoded path}")),
// with the first of `secrets`. For a URL under `public_url` (the server's
// own, without a trailing '/'), the decoded path signed is the one the server
// sees: without public_url's own path ("/dl/files/a" under "https://h/dl" is
// signed as "/files/a").
std::unique_ptr<Signer> make_hmac_signer(std::vector<std::string> secrets,
                                         std::chrono::seconds expires,
                                         std::string public_url = {});

} // namespace agentdl
