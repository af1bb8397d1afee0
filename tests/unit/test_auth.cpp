#include <agentdl/auth.hpp>
#include <agentdl/crypto.hpp>
#include <agentdl/token.hpp>

#include <doctest/doctest.h>

#include <string>

namespace {

const agentdl::Catalog& catalog()
{
  static const auto loaded = [] {
    auto c = agentdl::parse_catalog(R"([platforms.linux]
archs = ["x86_64"]
[channels.stable]
[channels.beta]
includes = ["stable"]
[channels.internal]
[auth]
[[auth.tokens]]
name = "all"
sha256 = ")" + agentdl::sha256_hex("all-token") +
                                      R"("
channels = ["*"]
[[auth.tokens]]
name = "beta"
sha256 = ")" + agentdl::sha256_hex("beta-token") +
                                      R"("
channels = ["beta"]
[[releases]]
version = "2.0"
channels = ["beta"]
[[releases]]
version = "1.0"
channels = ["stable"]
[[releases]]
version = "0.9"
channels = ["internal"]
)",
                                    "t.toml");
    REQUIRE_MESSAGE(c.has_value(), c.error().message);
    return std::move(*c);
  }();
  return loaded;
}

// Returns the name of the token `authorization` authenticates, or "401".
std::string who(std::string_view authorization)
{
  const auto caller = agentdl::authenticate(catalog(), authorization);
  return caller ? caller->token->name : "401";
}

} // namespace

TEST_CASE("auth: a token matches whole, never by a prefix or an extension")
{
  REQUIRE(agentdl::crypto_init().has_value());
  // The same thread, one request after the other, as on a keep-alive
  // connection: the digest of the last token is remembered.
  CHECK(who("Bearer all-token") == "all");
  CHECK(who("Bearer all-toke") == "401");
  CHECK(who("Bearer a") == "401");
  CHECK(who("Bearer all-token") == "all");
  CHECK(who("Bearer all-tokenx") == "401");
  CHECK(who("Bearer all-token-and-more") == "401");
  CHECK(who("Bearer beta-token") == "beta");
  CHECK(who("Bearer all-token") == "all");
  CHECK(who("Bearer ") == "401");
  CHECK(who("Bearer all-token") == "all");
}

TEST_CASE("auth: a scope is the channels a token reaches")
{
  REQUIRE(agentdl::crypto_init().has_value());
  const auto& c = catalog();
  const auto stable = *c.find_channel("stable");
  const auto beta = *c.find_channel("beta");
  const auto internal = *c.find_channel("internal");
  const auto release = [&](std::string_view version) -> const agentdl::Release& {
    return c.releases[*c.find_release(*agentdl::Version::parse(version))];
  };

  const auto beta_scope =
    agentdl::Scope::of(c, *agentdl::authenticate(c, std::string_view("Bearer beta-token")));
  CHECK(beta_scope.may_read(beta));
  CHECK(beta_scope.may_read(stable)); // beta includes stable
  CHECK_FALSE(beta_scope.may_read(internal));
  CHECK(beta_scope.may_read(release("2.0")));
  CHECK(beta_scope.may_read(release("1.0")));
  CHECK_FALSE(beta_scope.may_read(release("0.9")));

  const auto all =
    agentdl::Scope::of(c, *agentdl::authenticate(c, std::string_view("Bearer all-token")));
  CHECK(all == agentdl::Scope::everything());
  CHECK(all.may_read(internal));
  CHECK(all.may_read(release("0.9")));
  CHECK(beta_scope != all);
}
