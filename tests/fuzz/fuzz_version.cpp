// The version grammar and precedence: two versions, one per line.
#include "fuzz.hpp"

#include <agentdl/version.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  using agentdl::Version;
  using agentdl::fuzz::require;
  const auto f = agentdl::fuzz::fields(agentdl::fuzz::text_of(data, size), 2);
  const auto a = Version::parse(f[0]);
  const auto b = Version::parse(f[1]);
  for (const auto* v : { &a, &b }) {
    if (*v) {
      const auto again = Version::parse((*v)->str());
      require(again.has_value(), "a version's text parses again");
      require(*again == **v, "a version's text parses to an equal version");
      require(again->precedence_hash() == (*v)->precedence_hash(), "equal versions hash alike");
    }
  }
  if (a && b) {
    const auto ab = *a <=> *b;
    const auto ba = *b <=> *a;
    require((ab < 0) == (ba > 0) && (ab == 0) == (ba == 0), "precedence is antisymmetric");
    if (ab == 0) {
      require(a->precedence_hash() == b->precedence_hash(), "equal versions hash alike");
    }
  }
  return 0;
}
