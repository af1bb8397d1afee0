// The mirror's signed-link check: a path and a query, one per line. A link
// signed for the path with either secret must check valid, and a check
// never throws or reads past its input.
#include "fuzz.hpp"

#include <agentdl/signing/hmac.hpp>

#include <chrono>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  using namespace agentdl;
  static const HmacVerifier verifier({ "current-secret", "previous-secret" });
  const auto now = SystemTime(std::chrono::seconds(1'790'000'000));
  const auto f = fuzz::fields(fuzz::text_of(data, size), 2);
  (void)verifier.check(f[0], f[1], now);

  const long long expires = 1'790'000'060;
  for (const auto* secret : { "current-secret", "previous-secret" }) {
    const auto query =
      "expires=" + std::to_string(expires) + "&sig=" + hmac_link_signature(secret, f[0], expires);
    fuzz::require(verifier.check(f[0], query, now) == LinkCheck::valid,
                  "a link signed with a known secret is valid");
    fuzz::require(verifier.check(f[0], query, now + std::chrono::seconds(61)) == LinkCheck::expired,
                  "a link past its expiry is expired");
  }
  return 0;
}
