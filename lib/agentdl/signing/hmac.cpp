#include <agentdl/crypto.hpp>
#include <agentdl/signing/hmac.hpp>
#include <agentdl/signing/url_parts.hpp>
#include <agentdl/token.hpp>

#include <boost/url/parse_query.hpp>
#include <fmt/format.h>

#include <charconv>
#include <mutex>

namespace agentdl {

namespace {

using namespace signing_detail;

// The signed message of a link: "{expires}:{decoded path}".
std::string message(long long expires, std::string_view decoded_path)
{
  return fmt::format("{}:{}", expires, decoded_path);
}

// Keyed HMACs, made on first use: crypto_init() may come after the catalog loads.
class LazyKeys
{
public:
  explicit LazyKeys(std::vector<std::string> secrets)
    : m_secrets(std::move(secrets))
  {
  }

  const std::vector<std::unique_ptr<HmacSha256>>& get() const
  {
    std::call_once(m_once, [this] {
      for (const auto& secret : m_secrets) {
        m_keys.push_back(std::make_unique<HmacSha256>(secret));
      }
    });
    return m_keys;
  }

private:
  std::vector<std::string> m_secrets;
  mutable std::once_flag m_once;
  mutable std::vector<std::unique_ptr<HmacSha256>> m_keys;
};

class HmacSigner final : public Signer
{
public:
  HmacSigner(std::vector<std::string> secrets, std::chrono::seconds expires, std::string public_url)
    : m_keys(std::vector<std::string>{ std::move(secrets.at(0)) })
    , m_expires(expires)
    , m_public_url(std::move(public_url))
  {
    if (!m_public_url.empty()) {
      m_public_url += '/';
      m_public_path_size = url_parts(m_public_url).decoded_path.size() - 1;
    }
  }

  SignedLocation sign(std::string_view url, SystemTime now) const override
  {
    const auto expires = unix_seconds(now) + m_expires.count();
    std::string_view path = url_parts(url).decoded_path;
    // A link to this server's own /files/ is checked on the path the server
    // sees: a proxy in front of a public_url such as "https://host/dl" strips
    // "/dl" before the request reaches it.
    if (!m_public_url.empty() && url.starts_with(m_public_url)) {
      path.remove_prefix(m_public_path_size);
    }
    const auto signature = m_keys.get().front()->sign(message(expires, path));
    return { add_query(url, fmt::format("expires={}&sig={}", expires, base64url(signature))),
             SystemTime(std::chrono::seconds(expires)) };
  }

private:
  LazyKeys m_keys;
  std::chrono::seconds m_expires;
  std::string m_public_url;           // with a trailing '/'; empty: none
  std::size_t m_public_path_size = 0; // its decoded path's length, without that '/'
};

bool is_base64url(std::string_view text)
{
  for (const char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

} // namespace

struct HmacVerifier::Keys
{
  explicit Keys(std::vector<std::string> secrets)
    : keys(std::move(secrets))
  {
  }

  LazyKeys keys;
};

std::unique_ptr<Signer> make_hmac_signer(std::vector<std::string> secrets,
                                         std::chrono::seconds expires,
                                         std::string public_url)
{
  return std::make_unique<HmacSigner>(std::move(secrets), expires, std::move(public_url));
}

std::string_view link_check_text(LinkCheck check)
{
  switch (check) {
    case LinkCheck::valid:
      return "the link is valid";
    case LinkCheck::missing:
      return "the link is not signed (no expires and sig)";
    case LinkCheck::malformed:
      return "the link's expires or sig is malformed";
    case LinkCheck::expired:
      return "the link has expired";
    case LinkCheck::bad:
      return "the link's signature does not match";
  }
  return "the link is refused";
}

HmacVerifier::HmacVerifier(std::vector<std::string> secrets)
  : m_keys(std::make_unique<Keys>(std::move(secrets)))
{
}

HmacVerifier::~HmacVerifier() = default;

LinkCheck HmacVerifier::check(std::string_view decoded_path,
                              std::string_view query,
                              SystemTime now) const
{
  // Boost 1.81's parse_query() measures its text with strlen (it passes
  // s.data() on as a string), so it reads past a query that is not the end
  // of a NUL-terminated string: the fuzzer's first seed did. A copy ends
  // where the query does.
  const std::string terminated(query);
  const auto params = boost::urls::parse_query(terminated);
  if (!params) {
    return LinkCheck::malformed;
  }
  std::optional<std::string> expires_text;
  std::optional<std::string> sig;
  for (const auto& param : *params) {
    std::optional<std::string>* slot = param.key == "expires" ? &expires_text
                                       : param.key == "sig"   ? &sig
                                                              : nullptr;
    if (!slot) {
      continue;
    }
    if (*slot) {
      return LinkCheck::malformed; // repeated: which one would a cache or a proxy read?
    }
    *slot = param.has_value ? std::string(param.value) : std::string();
  }
  if (!expires_text || !sig) {
    return LinkCheck::missing;
  }
  long long expires = 0;
  const auto& text = *expires_text;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), expires);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || expires < 0 ||
      text.front() == '+') {
    return LinkCheck::malformed;
  }
  // 32 bytes in base64url without padding.
  if (sig->size() != 43 || !is_base64url(*sig)) {
    return LinkCheck::malformed;
  }
  const auto signed_message = message(expires, decoded_path);
  bool valid = false;
  for (const auto& key : m_keys->keys.get()) {
    const auto expected = base64url(key->sign(signed_message));
    // Every secret is tried, match or not: the time does not tell which matched.
    valid |= equal_constant_time(
      byte_view(expected),
      std::span(reinterpret_cast<const unsigned char*>(sig->data()), sig->size()));
  }
  if (!valid) {
    return LinkCheck::bad;
  }
  if (unix_seconds(now) > expires) {
    return LinkCheck::expired;
  }
  return LinkCheck::valid;
}

std::string hmac_link_signature(std::string_view secret,
                                std::string_view decoded_path,
                                long long expires)
{
  return base64url(HmacSha256(secret).sign(message(expires, decoded_path)));
}

} // namespace agentdl
