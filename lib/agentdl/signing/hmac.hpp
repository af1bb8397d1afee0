// agentdl's own signed links, checked: what agentdl-serve's /files/ calls
// for `signing = "hmac"`. The signer is make_hmac_signer() (signer.hpp).
#pragma once

#include <agentdl/signing/signer.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace agentdl {

// What a link's `expires` and `sig` say.
enum class LinkCheck
{
  valid,
  missing,   // no `expires` or no `sig`
  malformed, // not a number, not a signature's length or alphabet, or repeated
  expired,   // `expires` is past
  bad,       // no secret gives this signature
};

// Returns the reason a LinkCheck gives for a 403, e.g. "the link has expired".
std::string_view link_check_text(LinkCheck check);

// Checks links signed with any of the secrets (the first signs today's links;
// the others, earlier secrets, keep links in flight valid while they rotate).
class HmacVerifier
{
public:
  explicit HmacVerifier(std::vector<std::string> secrets);
  ~HmacVerifier();
  HmacVerifier(const HmacVerifier&) = delete;
  HmacVerifier& operator=(const HmacVerifier&) = delete;

  // Checks the link to `decoded_path` (the whole decoded URL path) whose raw
  // query string is `query`, as of `now`. Signatures compare in constant time.
  LinkCheck check(std::string_view decoded_path, std::string_view query, SystemTime now) const;

private:
  struct Keys;
  std::unique_ptr<Keys> m_keys;
};

// Returns base64url(HMAC-SHA256(`secret`, "{expires}:{decoded_path}")), the
// `sig` of a link.
std::string hmac_link_signature(std::string_view secret,
                                std::string_view decoded_path,
                                long long expires);

} // namespace agentdl
