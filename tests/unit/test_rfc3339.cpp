#include <agentdl/rfc3339.hpp>

#include <doctest/doctest.h>

using agentdl::parse_rfc3339;
using agentdl::SystemTime;

TEST_CASE("rfc3339: times read and written")
{
  const SystemTime aws(std::chrono::seconds(1369353600)); // 2013-05-24T00:00:00Z
  CHECK(parse_rfc3339("2013-05-24T00:00:00Z") == aws);
  CHECK(parse_rfc3339("2013-05-24t00:00:00z") == aws);
  CHECK(parse_rfc3339("2013-05-24T02:30:00+02:30") == aws);
  CHECK(parse_rfc3339("2013-05-23T23:00:00-01:00") == aws);
  CHECK(parse_rfc3339("2013-05-24T00:00:00.999Z") == aws); // whole seconds
  CHECK(agentdl::rfc3339(aws) == "2013-05-24T00:00:00Z");
  CHECK(agentdl::rfc3339(aws + std::chrono::milliseconds(1500)) == "2013-05-24T00:00:01Z");
  for (const auto* bad : { "",
                           "2013-05-24",
                           "2013-05-24T00:00:00",
                           "2013-05-24 00:00:00Z",
                           "2013-02-30T00:00:00Z",
                           "2013-05-24T24:00:00Z",
                           "2013-05-24T00:00:00+2",
                           "2013-05-24T00:00:00.Z",
                           "2013-05-24T00:00:00Zx",
                           "13-05-24T00:00:00Z" }) {
    CAPTURE(bad);
    CHECK_FALSE(parse_rfc3339(bad).has_value());
  }
}
