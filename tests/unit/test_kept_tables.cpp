#include <agentdl/catalog/kept_tables.hpp>

#include <doctest/doctest.h>

#include <array>
#include <string>
#include <string_view>

using agentdl::kept_tables;

namespace {

constexpr std::array<std::string_view, 3> k_names = { "storage", "server", "auth" };

std::string kept(std::string_view text)
{
  const auto result = kept_tables(text, "m/agentdl.toml", k_names);
  REQUIRE_MESSAGE(result.has_value(), result.error().message);
  return *result;
}

} // namespace

TEST_CASE("kept_tables: the tables as written, with the comments above them")
{
  // The operator's tables, among the sync's.
  const std::string server_and_auth = R"(# The office's clients.
[server]
listen = ["0.0.0.0:8080"]   # all addresses
# threads = 4

[auth]
mode = "required"
# CI
[[auth.tokens]]
name = "ci"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
channels = ["*"]
)";
  const std::string storage = R"(["storage"]
signing = "none"
  [ storage . s3 ]
  region = "eu-west-1"
)";
  const std::string text = R"(# Written by agentdl mirror sync.

default_channel = "stable"

[platforms.windows]
archs = ["x86_64"]
# Not ours: [mirror] follows.

[mirror]
root = "."

)" + server_and_auth + R"(

[[releases]]
version = "1.0"
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "1.0/windows/x86_64/a.msi"

)" + storage;
  CHECK(kept(text) == server_and_auth + "\n" + storage);
}

TEST_CASE("kept_tables: none, and a last line without a newline")
{
  CHECK(kept("") == "");
  CHECK(kept("[platforms.w]\narchs = [\"x\"]\n") == "");
  CHECK(kept("[auth]\nmode = \"none\"") == "[auth]\nmode = \"none\"\n");
}

TEST_CASE("kept_tables: lines of a multi-line string are not headers")
{
  CHECK(
    kept(
      "[server]\naccess_log = \"\"\"\n[[releases]]\n\"\"\"\n[mirror]\nroot = '''\n[auth]\n'''\n") ==
    "[server]\naccess_log = \"\"\"\n[[releases]]\n\"\"\"\n");
}

TEST_CASE("kept_tables: what cannot be kept as text")
{
  const std::string message =
    "m/agentdl.toml: cannot keep [storage], [server], [auth] as written: write each as a table "
    "under its own header ([server], then its keys), not as dotted keys or inline tables";
  for (const auto* text : { "auth.mode = \"none\"\n[server]\nthreads = 1\n",
                            "server = { threads = 1 }\n",
                            // A comment that fools the line scan: the check notices.
                            "[mirror]\nroot = '''x''' # '''\n[auth]\nmode = \"none\"\n" }) {
    CAPTURE(text);
    const auto result = kept_tables(text, "m/agentdl.toml", k_names);
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == agentdl::Errc::config);
    CHECK(result.error().message == message);
  }
  const auto broken = kept_tables("[server\n", "m/agentdl.toml", k_names);
  REQUIRE_FALSE(broken.has_value());
  CHECK(broken.error().code == agentdl::Errc::config);
  CHECK(broken.error().message.starts_with("m/agentdl.toml:1:"));
}
