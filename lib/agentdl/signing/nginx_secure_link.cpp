#include <agentdl/crypto.hpp>
#include <agentdl/signing/signer.hpp>
#include <agentdl/signing/url_parts.hpp>
#include <agentdl/token.hpp>

#include <fmt/format.h>

namespace agentdl {

namespace {

using namespace signing_detail;

// For nginx's `secure_link $arg_md5,$arg_expires;` with
// `secure_link_md5 "$secure_link_expires$uri $secret";`.
class NginxSecureLinkSigner final : public Signer
{
public:
  NginxSecureLinkSigner(std::string secret, std::chrono::seconds expires)
    : m_secret(std::move(secret))
    , m_expires(expires)
  {
  }

  SignedLocation sign(std::string_view url, SystemTime now) const override
  {
    const auto expires = unix_seconds(now) + m_expires.count();
    const auto& parts = url_parts(url);
    const auto digest = md5(fmt::format("{}{} {}", expires, parts.decoded_path, m_secret));
    return { add_query(url, fmt::format("md5={}&expires={}", base64url(digest), expires)),
             SystemTime(std::chrono::seconds(expires)) };
  }

private:
  std::string m_secret;
  std::chrono::seconds m_expires;
};

} // namespace

std::unique_ptr<Signer> make_nginx_secure_link_signer(std::string secret,
                                                      std::chrono::seconds expires)
{
  return std::make_unique<NginxSecureLinkSigner>(std::move(secret), expires);
}

} // namespace agentdl
