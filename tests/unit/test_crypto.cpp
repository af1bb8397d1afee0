#include <agentdl/crypto.hpp>
#include <agentdl/token.hpp>

#include <doctest/doctest.h>

#include <string>

// These cases run twice: in unit_tests (libcrypto linked) and in
// unit_tests_dlopen (libcrypto loaded at run time, as `agentdl` does).

TEST_CASE("crypto: SHA-256 of the FIPS 180-2 examples, whole and in pieces")
{
  REQUIRE(agentdl::crypto_init().has_value());
  CHECK(agentdl::to_hex(agentdl::sha256("abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  CHECK(agentdl::to_hex(agentdl::sha256(two_blocks)) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

  SUBCASE("one byte at a time")
  {
    agentdl::Sha256 hash;
    for (const char c : two_blocks) {
      hash.update(std::string_view(&c, 1));
    }
    CHECK(agentdl::to_hex(hash.finish()) ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  }
  SUBCASE("a million 'a' in uneven pieces")
  {
    agentdl::Sha256 hash;
    const std::string piece(4093, 'a');
    std::size_t left = 1'000'000;
    while (left > 0) {
      const auto n = std::min(left, piece.size());
      hash.update(std::string_view(piece).substr(0, n));
      left -= n;
    }
    CHECK(agentdl::to_hex(hash.finish()) ==
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  }
  SUBCASE("nothing")
  {
    agentdl::Sha256 hash;
    CHECK(agentdl::to_hex(hash.finish()) ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  }
}

TEST_CASE("crypto: random bytes differ between calls")
{
  REQUIRE(agentdl::crypto_init().has_value());
  std::array<unsigned char, 32> a{};
  std::array<unsigned char, 32> b{};
  REQUIRE(agentdl::random_bytes(a).has_value());
  REQUIRE(agentdl::random_bytes(b).has_value());
  CHECK(a != b);
  CHECK(a != std::array<unsigned char, 32>{});
}

TEST_CASE("crypto: constant-time comparison")
{
  REQUIRE(agentdl::crypto_init().has_value());
  const std::array<unsigned char, 4> a{ 1, 2, 3, 4 };
  const std::array<unsigned char, 4> same{ 1, 2, 3, 4 };
  const std::array<unsigned char, 4> last_differs{ 1, 2, 3, 5 };
  const std::array<unsigned char, 3> shorter{ 1, 2, 3 };
  CHECK(agentdl::equal_constant_time(a, same));
  CHECK_FALSE(agentdl::equal_constant_time(a, last_differs));
  CHECK_FALSE(agentdl::equal_constant_time(a, shorter));
  CHECK(agentdl::equal_constant_time(std::span<const unsigned char>{},
                                     std::span<const unsigned char>{}));
  SUBCASE("two SHA-256 digests: every byte counts, the last one too")
  {
    const auto digest = agentdl::sha256("demo-token-do-not-use-in-production");
    for (std::size_t i = 0; i < digest.size(); ++i) {
      CAPTURE(i);
      auto other = digest;
      other[i] ^= 0x01;
      CHECK_FALSE(agentdl::equal_constant_time(digest, other));
    }
    const auto copy = digest;
    CHECK(agentdl::equal_constant_time(digest, copy));
  }
}

TEST_CASE("crypto: HMAC-SHA256 and MD5 against published vectors")
{
  REQUIRE(agentdl::crypto_init().has_value());
  // RFC 4231, test case 2.
  const std::string_view key = "Jefe";
  const agentdl::HmacSha256 hmac(key);
  CHECK(agentdl::to_hex(hmac.sign("what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(agentdl::to_hex(hmac.sign("what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"); // reusable
  CHECK(agentdl::to_hex(agentdl::hmac_sha256(
          std::span(reinterpret_cast<const unsigned char*>(key.data()), key.size()),
          "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // RFC 1321's test suite.
  CHECK(agentdl::to_hex(agentdl::md5("")) == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(agentdl::to_hex(agentdl::md5("message digest")) == "f96b697d7cb7938d525a2f31aaf161d0");
}
