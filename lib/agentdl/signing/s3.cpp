// AWS Signature Version 4, query-string presigning of a GET, as botocore's
// S3SigV4QueryAuth does it (the black-box tests compare byte for byte):
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
//
// This runs once per redirect in agentdl-serve, so the strings are built by
// hand into reserved buffers rather than with fmt and a vector of parameters.
#include <agentdl/crypto.hpp>
#include <agentdl/signing/signer.hpp>
#include <agentdl/signing/url_parts.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <mutex>
#include <utility>

namespace agentdl {

namespace {

using namespace signing_detail;

constexpr char k_hex_upper[] = "0123456789ABCDEF";
constexpr char k_hex_lower[] = "0123456789abcdef";

// Appends `text` URI-encoded as SigV4 wants it: unreserved bytes kept, every
// other byte as upper-case %XX; '/' kept too when `keep_slash`.
void append_encoded(std::string& out, std::string_view text, bool keep_slash = false)
{
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
                            c == '~' || (keep_slash && c == '/');
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += k_hex_upper[byte >> 4];
      out += k_hex_upper[byte & 0xF];
    }
  }
}

std::string encoded(std::string_view text)
{
  std::string out;
  out.reserve(text.size() * 3);
  append_encoded(out, text);
  return out;
}

template<std::size_t N>
void append_hex(std::string& out, const std::array<unsigned char, N>& bytes)
{
  std::array<char, 2 * N> text{};
  for (std::size_t i = 0; i < N; ++i) {
    text[2 * i] = k_hex_lower[bytes[i] >> 4];
    text[2 * i + 1] = k_hex_lower[bytes[i] & 0xF];
  }
  out.append(text.data(), text.size());
}

// Returns the decoded bytes of a query's percent-encoding ('+' is kept: it is
// not a space outside HTML forms).
std::string decoded(std::string_view text)
{
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const auto value = std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16);
      out += static_cast<char>(value);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// The SigV4 date and time of `now`: "20130524" and "20130524T000000Z".
struct Stamp
{
  std::array<char, 8> day;
  std::array<char, 16> time;
};

Stamp stamp(SystemTime now)
{
  using namespace std::chrono;
  const auto seconds = floor<std::chrono::seconds>(now);
  const auto days = floor<std::chrono::days>(seconds);
  const year_month_day date(days);
  const hh_mm_ss clock(seconds - days);
  const auto put = [](char* at, unsigned value, int digits) {
    for (int i = digits - 1; i >= 0; --i) {
      at[i] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
  };
  Stamp out{};
  put(out.day.data(), static_cast<unsigned>(static_cast<int>(date.year())), 4);
  put(out.day.data() + 4, static_cast<unsigned>(date.month()), 2);
  put(out.day.data() + 6, static_cast<unsigned>(date.day()), 2);
  std::copy(out.day.begin(), out.day.end(), out.time.begin());
  out.time[8] = 'T';
  put(out.time.data() + 9, static_cast<unsigned>(clock.hours().count()), 2);
  put(out.time.data() + 11, static_cast<unsigned>(clock.minutes().count()), 2);
  put(out.time.data() + 13, static_cast<unsigned>(clock.seconds().count()), 2);
  out.time[15] = 'Z';
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

// One query parameter, encoded, held elsewhere.
struct ParamView
{
  std::string_view key;
  std::string_view value;
};

class S3Signer final : public Signer
{
public:
  explicit S3Signer(S3Signing settings)
    : m_settings(std::move(settings))
    , m_key_id(encoded(m_settings.access_key_id))
    , m_scope_tail(encoded(fmt::format("/{}/s3/aws4_request", m_settings.region)))
    , m_expires(std::to_string(m_settings.expires.count()))
    , m_token(encoded(m_settings.session_token))
  {
  }

  SignedLocation sign(std::string_view url, SystemTime now) const override
  {
    const auto& parts = url_parts(url);
    const auto when = stamp(now);
    const std::string_view day(when.day.data(), when.day.size());
    const std::string_view time(when.time.data(), when.time.size());

    // The operation's own parameters (the Location's query, the content
    // disposition), encoded: they come first in the URL, as botocore puts them.
    std::vector<Param> operation;
    if (!parts.query.empty()) {
      std::string_view rest = parts.query;
      while (!rest.empty()) {
        const auto pair = rest.substr(0, rest.find('&'));
        const auto eq = pair.find('=');
        operation.push_back(
          { encoded(decoded(pair.substr(0, eq))),
            eq == std::string_view::npos ? std::string() : encoded(decoded(pair.substr(eq + 1))) });
        rest.remove_prefix(std::min(rest.size(), pair.size() + 1));
      }
    }
    if (m_settings.content_disposition) {
      const auto name =
        std::string_view(parts.decoded_path).substr(parts.decoded_path.rfind('/') + 1);
      operation.push_back({ "response-content-disposition", encoded(attachment(name)) });
    }

    // The authentication parameters, in the URL's order.
    std::string credential;
    credential.reserve(m_key_id.size() + 12 + m_scope_tail.size());
    credential += m_key_id;
    credential += "%2F";
    credential += day;
    credential += m_scope_tail;
    const std::array<ParamView, 6> auth{ {
      { "X-Amz-Algorithm", "AWS4-HMAC-SHA256" },
      { "X-Amz-Credential", credential },
      { "X-Amz-Date", time },
      { "X-Amz-Expires", m_expires },
      { "X-Amz-SignedHeaders", "host" },
      { "X-Amz-Security-Token", m_token },
    } };
    const std::size_t auth_count = m_token.empty() ? 5 : 6;

    // The canonical query: every parameter, sorted by key (then value).
    std::array<ParamView, 16> sorted_storage{};
    std::vector<ParamView> sorted_spill; // a Location with many parameters of its own
    const auto count = operation.size() + auth_count;
    ParamView* sorted = sorted_storage.data();
    if (count > sorted_storage.size()) {
      sorted_spill.resize(count);
      sorted = sorted_spill.data();
    }
    std::size_t n = 0;
    for (const auto& p : operation) {
      sorted[n++] = { p.key, p.value };
    }
    for (std::size_t i = 0; i < auth_count; ++i) {
      sorted[n++] = auth[i];
    }
    std::sort(sorted, sorted + n, [](const ParamView& a, const ParamView& b) {
      return std::tie(a.key, a.value) < std::tie(b.key, b.value);
    });

    // Scratch text, kept per thread: its memory is reused from one request to the next.
    thread_local std::string path;
    thread_local std::string canonical_request;
    thread_local std::string string_to_sign;
    path.clear();
    canonical_request.clear();
    string_to_sign.clear();
    append_encoded(path, parts.decoded_path.empty() ? "/" : parts.decoded_path, true);

    canonical_request += "GET\n";
    canonical_request += path;
    canonical_request += '\n';
    for (std::size_t i = 0; i < n; ++i) {
      if (i > 0) {
        canonical_request += '&';
      }
      canonical_request += sorted[i].key;
      canonical_request += '=';
      canonical_request += sorted[i].value;
    }
    canonical_request += "\nhost:";
    canonical_request += parts.host;
    canonical_request += "\n\nhost\nUNSIGNED-PAYLOAD";

    string_to_sign += "AWS4-HMAC-SHA256\n";
    string_to_sign += time;
    string_to_sign += '\n';
    string_to_sign += day;
    string_to_sign += '/';
    string_to_sign += m_settings.region;
    string_to_sign += "/s3/aws4_request\n";
    append_hex(string_to_sign, sha256(canonical_request));

    std::string out;
    out.reserve(parts.origin.size() + canonical_request.size() + 80);
    out += parts.origin;
    out += path;
    out += '?';
    for (const auto& p : operation) {
      out += p.key;
      out += '=';
      out += p.value;
      out += '&';
    }
    for (std::size_t i = 0; i < auth_count; ++i) {
      out += auth[i].key;
      out += '=';
      out += auth[i].value;
      out += '&';
    }
    out += "X-Amz-Signature=";
    append_hex(out, signing_key(day)->sign(string_to_sign));
    return { std::move(out), std::chrono::floor<std::chrono::seconds>(now) + m_settings.expires };
  }

private:
  // Returns the signing key of `day` for the region: four HMACs, done once a
  // day rather than once a request.
  std::shared_ptr<const HmacSha256> signing_key(std::string_view day) const
  {
    std::lock_guard lock(m_mutex);
    if (m_key_day != day || !m_key) {
      const auto secret = "AWS4" + m_settings.secret_access_key;
      const auto k_date = hmac_sha256(byte_view(secret), day);
      const auto k_region = hmac_sha256(k_date, m_settings.region);
      const auto k_service = hmac_sha256(k_region, "s3");
      const auto k_signing = hmac_sha256(k_service, "aws4_request");
      m_key = std::make_shared<const HmacSha256>(k_signing);
      m_key_day = std::string(day);
    }
    return m_key;
  }

  S3Signing m_settings;
  std::string m_key_id;     // encoded
  std::string m_scope_tail; // "%2F{region}%2Fs3%2Faws4_request"
  std::string m_expires;
  std::string m_token; // encoded; empty: none
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
