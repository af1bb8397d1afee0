// AWS Signature Version 4, query-string presigning of a GET, as botocore's
// S3SigV4QueryAuth does it (the black-box tests compare byte for byte):
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
#include <agentdl/crypto.hpp>
#include <agentdl/signing/signer.hpp>
#include <agentdl/signing/url_parts.hpp>
#include <agentdl/token.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <utility>

namespace agentdl {

namespace {

using namespace signing_detail;

// Appends `text` URI-encoded as SigV4 wants it: unreserved bytes kept, every
// other byte as upper-case %XX; '/' kept too when `keep_slash`.
void append_encoded(std::string& out, std::string_view text, bool keep_slash)
{
  static constexpr char k_hex[] = "0123456789ABCDEF";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
                            c == '~' || (keep_slash && c == '/');
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += k_hex[byte >> 4];
      out += k_hex[byte & 0xF];
    }
  }
}

std::string encoded(std::string_view text, bool keep_slash = false)
{
  std::string out;
  out.reserve(text.size() + 16);
  append_encoded(out, text, keep_slash);
  return out;
}

// Returns the value of a `Content-Disposition: attachment` for `filename`.
std::string attachment(std::string_view filename)
{
  std::string quoted;
  for (const char c : filename) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
    }
    quoted += c;
  }
  return fmt::format("attachment; filename=\"{}\"", quoted);
}

// One query parameter, encoded.
struct Param
{
  std::string key;
  std::string value;
};

class S3Signer final : public Signer
{
public:
  explicit S3Signer(S3Signing settings)
    : m_settings(std::move(settings))
  {
  }

  SignedLocation sign(std::string_view url, SystemTime now) const override
  {
    const auto parts = url_parts(url);
    const auto seconds = std::chrono::floor<std::chrono::seconds>(now);
    const auto day = fmt::format("{:%Y%m%d}", seconds);
    const auto amz_date = fmt::format("{:%Y%m%dT%H%M%SZ}", seconds);
    const auto scope = fmt::format("{}/{}/s3/aws4_request", day, m_settings.region);

    // Operation parameters first (the Location's own, then the content
    // disposition), then the authentication parameters: botocore's order.
    std::vector<Param> params;
    if (!parts.query.empty()) {
      for (const auto& pair : split_query(parts.query)) {
        params.push_back(pair);
      }
    }
    if (m_settings.content_disposition) {
      const auto name = parts.decoded_path.substr(parts.decoded_path.rfind('/') + 1);
      params.push_back({ "response-content-disposition", encoded(attachment(name)) });
    }
    params.push_back({ "X-Amz-Algorithm", "AWS4-HMAC-SHA256" });
    params.push_back(
      { "X-Amz-Credential", encoded(fmt::format("{}/{}", m_settings.access_key_id, scope)) });
    params.push_back({ "X-Amz-Date", amz_date });
    params.push_back({ "X-Amz-Expires", std::to_string(m_settings.expires.count()) });
    params.push_back({ "X-Amz-SignedHeaders", "host" });
    if (!m_settings.session_token.empty()) {
      params.push_back({ "X-Amz-Security-Token", encoded(m_settings.session_token) });
    }

    auto sorted = params;
    std::sort(sorted.begin(), sorted.end(), [](const Param& a, const Param& b) {
      return std::tie(a.key, a.value) < std::tie(b.key, b.value);
    });
    std::string canonical_query;
    for (const auto& [key, value] : sorted) {
      canonical_query += canonical_query.empty() ? "" : "&";
      canonical_query += key;
      canonical_query += '=';
      canonical_query += value;
    }
    const auto path = encoded(parts.decoded_path.empty() ? "/" : parts.decoded_path, true);
    const auto canonical_request = fmt::format(
      "GET\n{}\n{}\nhost:{}\n\nhost\nUNSIGNED-PAYLOAD", path, canonical_query, parts.host);
    const auto string_to_sign = fmt::format(
      "AWS4-HMAC-SHA256\n{}\n{}\n{}", amz_date, scope, to_hex(sha256(canonical_request)));
    const auto signature = to_hex(signing_key(day)->sign(string_to_sign));

    std::string out = parts.origin + path + '?';
    for (const auto& [key, value] : params) {
      out += key;
      out += '=';
      out += value;
      out += '&';
    }
    out += "X-Amz-Signature=";
    out += signature;
    return { std::move(out), seconds + m_settings.expires };
  }

private:
  // Returns the Location's own query parameters, encoded as SigV4 wants.
  static std::vector<Param> split_query(std::string_view query)
  {
    std::vector<Param> out;
    while (!query.empty()) {
      const auto amp = query.find('&');
      const auto pair = query.substr(0, amp);
      const auto eq = pair.find('=');
      out.push_back({ std::string(pair.substr(0, eq)),
                      eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1)) });
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    }
    return out;
  }

  // Returns the signing key of `day` for the region: four HMACs, done once a
  // day rather than once a request.
  std::shared_ptr<const HmacSha256> signing_key(const std::string& day) const
  {
    std::lock_guard lock(m_mutex);
    if (m_key_day != day || !m_key) {
      const auto k_date = hmac_sha256_text("AWS4" + m_settings.secret_access_key, day);
      const auto k_region = hmac_sha256(k_date, m_settings.region);
      const auto k_service = hmac_sha256(k_region, "s3");
      const auto k_signing = hmac_sha256(k_service, "aws4_request");
      m_key = std::make_shared<const HmacSha256>(k_signing);
      m_key_day = day;
    }
    return m_key;
  }

  static Sha256Digest hmac_sha256_text(std::string_view key, std::string_view data)
  {
    return hmac_sha256(std::span(reinterpret_cast<const unsigned char*>(key.data()), key.size()),
                       data);
  }

  S3Signing m_settings;
  mutable std::mutex m_mutex;
  mutable std::string m_key_day;
  mutable std::shared_ptr<const HmacSha256> m_key;
};

} // namespace

std::unique_ptr<Signer> make_s3_signer(S3Signing settings)
{
  return std::make_unique<S3Signer>(std::move(settings));
}

} // namespace agentdl
