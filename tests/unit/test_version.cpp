#include <agentdl/version.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using agentdl::Version;

namespace {

Version v(std::string_view text)
{
  auto parsed = Version::parse(text);
  REQUIRE_MESSAGE(parsed.has_value(), text);
  return *parsed;
}

std::string error_of(std::string_view text)
{
  auto parsed = Version::parse(text);
  REQUIRE_FALSE_MESSAGE(parsed.has_value(), text);
  return parsed.error();
}

} // namespace

TEST_CASE("version: semver.org precedence chain")
{
  const std::vector<std::string> chain{
    "1.0.0-alpha",  "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
    "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",       "1.0.0",
  };
  for (std::size_t i = 0; i + 1 < chain.size(); ++i) {
    CAPTURE(chain[i]);
    CAPTURE(chain[i + 1]);
    CHECK(v(chain[i]) < v(chain[i + 1]));
    CHECK(v(chain[i + 1]) > v(chain[i]));
    CHECK_FALSE(v(chain[i]) == v(chain[i + 1]));
  }
  // Transitively, the first is below the last.
  CHECK(v(chain.front()) < v(chain.back()));
}

TEST_CASE("version: numeric components")
{
  SUBCASE("compared as numbers, not strings")
  {
    CHECK(v("1.9.0") < v("1.10.0"));
    CHECK(v("2.0.0") > v("1.99.99"));
    CHECK(v("1.0.0-beta.2") < v("1.0.0-beta.10"));
  }
  SUBCASE("missing components count as 0")
  {
    CHECK(v("1.8") == v("1.8.0"));
    CHECK(v("1") == v("1.0.0.0"));
    CHECK(v("1.8") < v("1.8.0.1"));
  }
  SUBCASE("four components")
  {
    CHECK(v("1.8.3.1200") > v("1.8.3"));
    CHECK(v("1.8.3.1200") < v("1.8.3.1201"));
    CHECK(v("1.8.3.1200") < v("1.8.4"));
    CHECK(v("1.8.3.9") < v("1.8.3.10"));
    CHECK(v("1.8.3.1200").component_count() == 4);
    CHECK(v("1.8.3.1200").component(3) == 1200);
    CHECK(v("1.8.3.1200-rc.1") < v("1.8.3.1200"));
  }
  SUBCASE("large components")
  {
    CHECK(v("18446744073709551615.0") > v("18446744073709551614.9"));
  }
}

TEST_CASE("version: build metadata is ignored for ordering")
{
  CHECK(v("1.8.3+build.7") == v("1.8.3"));
  CHECK(v("1.8.3+a") == v("1.8.3+b"));
  CHECK(v("1.9.0-beta.2+x") == v("1.9.0-beta.2"));
  CHECK(v("1.8.3+build.7").str() == "1.8.3+build.7");
}

TEST_CASE("version: leading v is accepted and dropped")
{
  CHECK(v("v1.8.3") == v("1.8.3"));
  CHECK(v("v1.8.3").str() == "1.8.3");
  CHECK(v("V2").str() == "2");
}

TEST_CASE("version: prerelease rules")
{
  CHECK(v("1.0.0-1") < v("1.0.0-alpha"));       // numeric below alphanumeric
  CHECK(v("1.0.0-alpha") < v("1.0.0-alpha.0")); // more identifiers win
  CHECK(v("1.0.0-Alpha") < v("1.0.0-alpha"));   // ASCII order
  CHECK(v("1.0.0-alpha-1") > v("1.0.0-alpha"));
  CHECK(v("1.0.0-rc.1").is_prerelease());
  CHECK_FALSE(v("1.0.0").is_prerelease());
}

TEST_CASE("version: malformed versions are rejected with the reason")
{
  const std::string shape = "must be 1 to 4 dot-separated numbers, then optional -prerelease "
                            "and +build (e.g. 1.8.3, 1.9.0-beta.2)";
  CHECK(error_of("") == "is empty (expected e.g. 1.8.3)");
  CHECK(error_of("v") == "is empty (expected e.g. 1.8.3)");
  CHECK(error_of("1.2.3.4.5") == "has more than 4 numeric components");
  CHECK(error_of("1..2") == shape);
  CHECK(error_of("1.x") == shape);
  CHECK(error_of("-1.0") == shape);
  CHECK(error_of(".1") == shape);
  CHECK(error_of("1.") == shape);
  CHECK(error_of("latest") == shape);
  CHECK(error_of("1.08") == "component \"08\" has a leading zero");
  CHECK(error_of("99999999999999999999") == "component \"99999999999999999999\" is too large");
  CHECK(error_of("1.0-") == "empty prerelease");
  CHECK(error_of("1.0-beta..1") == "empty identifier in prerelease \"beta..1\"");
  CHECK(error_of("1.0-beta.01") == "numeric identifier \"01\" in prerelease has a leading zero");
  CHECK(error_of("1.0-be_ta") == "prerelease \"be_ta\" may hold only letters, digits, '-' and '.'");
  CHECK(error_of("1.0+") == "empty build metadata");
  CHECK(error_of("1.0+a+b") == "build metadata \"a+b\" may hold only letters, digits, '-' and '.'");
  CHECK(error_of("1.0 ") == shape);
  CHECK(error_of("1.0/../x") == shape);
}

TEST_CASE("version: build metadata may have leading zeros")
{
  CHECK(v("1.0.0+001").str() == "1.0.0+001");
}

TEST_CASE("version: precedence keys are equal exactly when precedence is")
{
  CHECK(v("1.8").precedence_hash() == v("1.8.0.0").precedence_hash());
  CHECK(v("v1.8.0+b1").precedence_hash() == v("1.8").precedence_hash());
  CHECK(v("1.8.3.1200-rc.1").precedence_hash() == v("1.8.3.1200-rc.1+x").precedence_hash());
  CHECK(v("1.0.0-beta.2").precedence_hash() != v("1.0.0-beta.02x").precedence_hash());
  CHECK(v("1.0.0-alpha").precedence_hash() != v("1.0.0").precedence_hash());
  CHECK(v("1.10").precedence_hash() != v("1.1.0").precedence_hash());
  CHECK(v("1.0.1").precedence_hash() != v("1.1.0").precedence_hash());
}
