#include <agentdl/location.hpp>

#include <doctest/doctest.h>

TEST_CASE("location: relative path rules")
{
  CHECK(agentdl::check_relative_path("windows/1.8.3/ScalepadAgent-1.8.3.msi").has_value());
  CHECK(agentdl::check_relative_path("a").has_value());
  CHECK(agentdl::check_relative_path("a..b/c..").has_value()); // only whole ".." segments
  CHECK(agentdl::check_relative_path("").error() == "is empty");
  CHECK(agentdl::check_relative_path("..").error() == "has a \"..\" segment");
  CHECK(agentdl::check_relative_path("a/../b").error() == "has a \"..\" segment");
  CHECK(agentdl::check_relative_path("a/./b").error() == "has a \".\" segment");
  CHECK(agentdl::check_relative_path("/a").error() == "must be relative (no leading '/')");
  CHECK(agentdl::check_relative_path("a/").error() == "has an empty segment");
  CHECK(agentdl::check_relative_path("a\\b").error() == "contains a backslash (use '/')");
  CHECK(agentdl::check_relative_path(std::string_view("a\0b", 3)).error() ==
        "contains a control character");
  CHECK(agentdl::check_relative_path("a\x7f").error() == "contains a control character");
}

TEST_CASE("location: absolute URLs")
{
  CHECK(agentdl::check_absolute_url("https://dl.example.com/a.msi").value() ==
        "https://dl.example.com/a.msi");
  CHECK(agentdl::check_absolute_url("http://[::1]:8080/a").has_value());
  CHECK(agentdl::check_absolute_url("https://dl.example.com/a b").error() ==
        "is not a valid absolute URL");
  CHECK(agentdl::check_absolute_url("file:///etc/passwd").error() ==
        "must be an http or https URL");
  CHECK(agentdl::check_absolute_url("https:/a").error() == "has no host");
  CHECK(agentdl::check_absolute_url("https://dl.example.com/a#x").error() ==
        "must not have a fragment ('#')");
  CHECK(agentdl::check_absolute_url("https://dl.example.com/\r\nSet-Cookie: a").error() ==
        "is not a valid absolute URL");
}

TEST_CASE("location: join encodes each segment")
{
  CHECK(agentdl::join_url("https://x/", "a/b c/d.msi") == "https://x/a/b%20c/d.msi");
  CHECK(agentdl::join_url("https://x/base/", "%2F/?#") == "https://x/base/%252F/%3F%23");
  CHECK(agentdl::join_url("https://x/", "A-Z_a.z~0") == "https://x/A-Z_a.z~0");
  CHECK(agentdl::join_url("https://x/", "\xc3\xa9") == "https://x/%C3%A9");
}

TEST_CASE("location: file name of a URL")
{
  CHECK(agentdl::url_filename("https://x/a/Agent%20Setup.msi?sig=1") == "Agent Setup.msi");
  CHECK(agentdl::url_filename("https://x/a/") == "");
  CHECK(agentdl::url_filename("https://x") == "");
}
