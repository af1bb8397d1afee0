#include <agentdl/catalog/blocks.hpp>

#include <doctest/doctest.h>

#include <string>

using agentdl::catalog_detail::is_releases_header;
using agentdl::catalog_detail::split_blocks;

TEST_CASE("blocks: which lines start a release")
{
  struct Case
  {
    const char* line;
    bool releases; // a header of the releases' tables
    bool start;    // exactly [[releases]]
  };
  for (const auto& c : { Case{ "[[releases]]", true, true },
                         Case{ "  [[ releases ]]  # the next one", true, true },
                         Case{ "[[releases]]\r", true, true },
                         Case{ "[[releases.artifacts]]", true, false },
                         Case{ "  [[ releases . artifacts ]]", true, false },
                         Case{ "[releases]", false, false },
                         Case{ "[[releasesx]]", false, false },
                         Case{ "[[releases]] x", false, false },
                         Case{ "[server]", false, false } }) {
    CAPTURE(c.line);
    bool start = false;
    CHECK(is_releases_header(c.line, start) == c.releases);
    CHECK(start == c.start);
  }
}

TEST_CASE("blocks: the head, then one block per release")
{
  const std::string text = "[platforms.linux]\narchs = [\"x\"]\n"
                           "[[releases]]\nversion = \"1\"\n  [[releases.artifacts]]\n"
                           "[[releases]]\nversion = \"2\"\n";
  const auto blocks = split_blocks(text);
  REQUIRE(blocks);
  REQUIRE(blocks->size() == 3);
  CHECK((*blocks)[0].text == "[platforms.linux]\narchs = [\"x\"]\n");
  CHECK((*blocks)[0].line_offset == 0);
  CHECK((*blocks)[1].text == "[[releases]]\nversion = \"1\"\n  [[releases.artifacts]]\n");
  CHECK((*blocks)[1].line_offset == 2);
  CHECK((*blocks)[2].text == "[[releases]]\nversion = \"2\"\n");
  CHECK((*blocks)[2].line_offset == 5);
  CHECK(split_blocks("")->size() == 1);
}

TEST_CASE("blocks: declined where lines could mislead")
{
  // A multi-line string may hold a line that looks like a header.
  CHECK_FALSE(split_blocks("a = \"\"\"\n[[releases]]\n\"\"\"\n"));
  CHECK_FALSE(split_blocks("a = '''\n[[releases]]\n'''\n"));
  // A table after the releases: its keys belong to the top level.
  CHECK_FALSE(split_blocks("[[releases]]\nversion = \"1\"\n[server]\nthreads = 1\n"));
  // Tables before the releases are the head's.
  CHECK(split_blocks("[server]\n[[releases]]\nversion = \"1\"\n"));
}
