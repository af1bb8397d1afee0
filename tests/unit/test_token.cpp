#include <agentdl/crypto.hpp>
#include <agentdl/token.hpp>

#include <doctest/doctest.h>

#include <algorithm>

TEST_CASE("token: sha256 of known inputs")
{
  REQUIRE(agentdl::crypto_init().has_value());
  CHECK(agentdl::sha256_hex("") ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(agentdl::sha256_hex("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("token: new tokens are 43 URL-safe characters and differ")
{
  REQUIRE(agentdl::crypto_init().has_value());
  const auto a = agentdl::new_token();
  const auto b = agentdl::new_token();
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  CHECK(a->size() == 43); // 32 bytes, base64url without padding
  CHECK(*a != *b);
  const auto url_safe = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  };
  CHECK(std::all_of(a->begin(), a->end(), url_safe));
}

TEST_CASE("token: what is wrong with a token")
{
  CHECK_FALSE(agentdl::token_problem("abc-DEF_123").has_value());
  CHECK(agentdl::token_problem("") == "is empty");
  using namespace std::string_view_literals;
  for (const auto bad : { "a b"sv, "a\tb"sv, "a\nb"sv, "a\0b"sv, "a\x7f"sv }) {
    CHECK(agentdl::token_problem(bad) == "holds white space or control characters");
  }
}

TEST_CASE("token: base64url without padding (RFC 4648 section 10's vectors)")
{
  const auto encode = [](std::string_view text) {
    return agentdl::base64url(
      std::span(reinterpret_cast<const unsigned char*>(text.data()), text.size()));
  };
  CHECK(encode("") == "");
  CHECK(encode("f") == "Zg");
  CHECK(encode("fo") == "Zm8");
  CHECK(encode("foo") == "Zm9v");
  CHECK(encode("foob") == "Zm9vYg");
  CHECK(encode("fooba") == "Zm9vYmE");
  CHECK(encode("foobar") == "Zm9vYmFy");
  CHECK(encode("\xfb\xff\xfe") == "-__-"); // the URL-safe letters
}

TEST_CASE("token: base64 with padding (RFC 4648 section 10's vectors)")
{
  const auto encode = [](std::string_view text) {
    return agentdl::base64(agentdl::byte_view(text));
  };
  CHECK(encode("") == "");
  CHECK(encode("f") == "Zg==");
  CHECK(encode("fo") == "Zm8=");
  CHECK(encode("foo") == "Zm9v");
  CHECK(encode("foob") == "Zm9vYg==");
  CHECK(encode("fooba") == "Zm9vYmE=");
  CHECK(encode("foobar") == "Zm9vYmFy");
  CHECK(encode("\xfb\xff\xfe") == "+//+"); // the standard letters
}
