#include <agentdl/catalog.hpp>
#include <agentdl/catalog/parse.hpp>
#include <agentdl/crypto.hpp>
#include <agentdl/signing/hmac.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

using agentdl::Catalog;
using agentdl::Errc;

namespace {

// Platforms and channels most tests build on (lines 1 to 9).
const std::string k_head = R"(default_channel = "stable"
[platforms.windows]
archs = ["x86_64"]
default_arch = "x86_64"
[platforms.macos]
archs = ["arm64", "x86_64"]
[channels.stable]
[channels.latest]
includes = ["stable"]
)";

// A storage section (lines 10 and 11 after k_head).
const std::string k_storage = R"([storage]
base_url = "https://dl.example.com/agent/"
)";

// How many test catalogs were parsed, and how many of them both ways (see parse).
int g_parsed = 0;
int g_read_both_ways = 0;

// Parses `text` both ways the loader can, whole and one [[releases]] block at
// a time, and checks that they agree: the same catalog, or the same error.
// Every test catalog runs through both paths, and through parse_catalog's pick.
agentdl::Expected<Catalog> parse(const std::string& text, const agentdl::LoadOptions& options = {})
{
  ++g_parsed;
  auto whole = agentdl::catalog_detail::parse_whole(text, "t.toml", options);
  if (const auto blocks = agentdl::catalog_detail::parse_in_blocks(text, "t.toml", options)) {
    ++g_read_both_ways;
    REQUIRE(blocks->has_value() == whole.has_value());
    if (whole) {
      CHECK(**blocks == *whole);
    } else {
      CHECK(blocks->error().message == whole.error().message);
    }
  }
  const auto picked = agentdl::parse_catalog(text, "t.toml", options);
  REQUIRE(picked.has_value() == whole.has_value());
  if (whole) {
    CHECK(*picked == *whole);
  } else {
    CHECK(picked.error().message == whole.error().message);
  }
  return whole;
}

Catalog load(const std::string& text)
{
  auto catalog = parse(text);
  REQUIRE_MESSAGE(catalog.has_value(), catalog.error().message);
  return std::move(*catalog);
}

std::string error_of(const std::string& text)
{
  auto catalog = parse(text);
  REQUIRE_FALSE(catalog.has_value());
  CHECK(catalog.error().code == Errc::config);
  return catalog.error().message;
}

// A release at line 12 with one artifact whose table starts at line 15.
std::string release(const std::string& artifact_body, const std::string& release_extra = "")
{
  return k_head + k_storage + "[[releases]]\nversion = \"1.8.3\"\nchannels = [\"stable\"]\n" +
         release_extra + "  [[releases.artifacts]]\n" + artifact_body;
}

} // namespace

TEST_CASE("catalog: the demo catalog loads")
{
  auto catalog = agentdl::load_catalog(std::filesystem::path(AGENTDL_SOURCE_DIR) / "agentdl.toml");
  REQUIRE_MESSAGE(catalog.has_value(), catalog.error().message);
  CHECK(catalog->releases.size() == 4);
  CHECK(catalog->releases[0].version.str() == "1.9.0-beta.2");
  CHECK(catalog->releases[1].yanked);
  CHECK(catalog->channels.size() == 2);
  for (const auto& r : catalog->releases) {
    for (const auto& a : r.artifacts) {
      CHECK(a.sha256.size() == 64);
      CHECK(a.size.has_value());
    }
  }
}

TEST_CASE("catalog: model built from the file")
{
  const auto catalog = load(release(R"(  platform = "macos"
  arch = "arm64"
  path = "macos/arm64/1.8.3/Agent Setup 1.8.3.pkg"
  sha256 = "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789"
  size = 42
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  url = "https://cdn.example.net/win/Agent%20Setup.msi"
)",
                                    "published_at = 2026-10-01T12:00:00Z\n"));
  REQUIRE(catalog.releases.size() == 1);
  const auto& r = catalog.releases[0];
  CHECK(r.published_at == "2026-10-01T12:00:00Z");
  CHECK_FALSE(r.yanked);
  REQUIRE(r.artifacts.size() == 2);
  const auto& pkg = r.artifacts[0];
  CHECK(pkg.location == "https://dl.example.com/agent/macos/arm64/1.8.3/Agent%20Setup%201.8.3.pkg");
  CHECK(pkg.filename == "Agent Setup 1.8.3.pkg");
  CHECK(pkg.sha256 == "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
  CHECK(pkg.size == 42);
  CHECK(pkg.pos.line == 16); // release() puts it at 15, plus the published_at line
  const auto& msi = r.artifacts[1];
  CHECK(msi.location == "https://cdn.example.net/win/Agent%20Setup.msi");
  CHECK(msi.filename == "Agent Setup.msi");
  CHECK(msi.sha256.empty());
  CHECK_FALSE(msi.size.has_value());

  CHECK(catalog.platforms.size() == 2);
  CHECK(catalog.platforms[0].name == "macos"); // sorted
  CHECK_FALSE(catalog.platforms[0].default_arch.has_value());
  CHECK(catalog.archs == std::vector<std::string>{ "arm64", "x86_64" });
  REQUIRE(catalog.default_channel.has_value());
  CHECK(catalog.channels[*catalog.default_channel].name == "stable");
  const auto latest = *catalog.find_channel("latest");
  const auto stable = *catalog.find_channel("stable");
  CHECK(catalog.in_channel(r, latest));
  CHECK(catalog.in_channel(r, stable));
  CHECK(catalog.channels[latest].current == 0);
}

TEST_CASE("catalog: defaults")
{
  const auto catalog = load("");
  CHECK(catalog.releases.empty());
  CHECK_FALSE(catalog.default_channel.has_value()); // no "stable" declared
  CHECK(catalog.server.listen == std::vector<std::string>{ "127.0.0.1:8080" });
  CHECK(catalog.server.api_prefix == "/v2");
  CHECK(catalog.server.header_timeout == std::chrono::seconds(10));
  CHECK(catalog.server.idle_timeout == std::chrono::seconds(75));
  CHECK(catalog.server.drain_timeout == std::chrono::seconds(10));
  CHECK(catalog.server.catalog_poll == std::chrono::seconds(30));
  CHECK(catalog.server.max_connections == 10000);
  CHECK_FALSE(catalog.server.defer_accept);
  CHECK(catalog.auth.mode == agentdl::AuthMode::required);
  CHECK(catalog.storage.signing == agentdl::Signing::none);
  CHECK(catalog.canonical_platform("Darwin") == "macos");
  CHECK(catalog.canonical_arch("AMD64") == "x86_64");
  CHECK(catalog.canonical_arch("AARCH64") == "arm64");
}

TEST_CASE("catalog: base_url without trailing slash is joined with one")
{
  const auto catalog = load(k_head + R"([storage]
base_url = "https://dl.example.com/agent"
[[releases]]
version = "1.0"
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "w/a.msi"
)");
  CHECK(catalog.releases[0].artifacts[0].location == "https://dl.example.com/agent/w/a.msi");
}

TEST_CASE("catalog: path segments are percent-encoded per RFC 3986")
{
  const auto catalog = load(release(R"(  platform = "windows"
  arch = "x86_64"
  path = "w/a b%#?&+é~-_.msi"
)"));
  CHECK(catalog.releases[0].artifacts[0].location ==
        "https://dl.example.com/agent/w/a%20b%25%23%3F%26%2B%C3%A9~-_.msi");
}

TEST_CASE("catalog: mirror-relative paths use the server's public_url")
{
  const auto catalog = load(k_head + R"([server]
public_url = "http://mirror.local:8080/"
[mirror]
root = "/srv/agentdl/files"
[[releases]]
version = "1.0"
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "w/a.msi"
)");
  CHECK(catalog.releases[0].artifacts[0].location == "http://mirror.local:8080/files/w/a.msi");
}

TEST_CASE("catalog: public_url defaults to http:// and the first listen address")
{
  const auto mirror = [](const std::string& server) {
    return k_head + server + R"([mirror]
root = "/srv/agentdl/files"
[[releases]]
version = "1.0"
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "w/a.msi"
)";
  };
  const auto location = [](const Catalog& catalog) {
    return catalog.releases[0].artifacts[0].location;
  };
  CHECK(location(load(mirror(""))) == "http://127.0.0.1:8080/files/w/a.msi");
  CHECK(location(load(mirror("[server]\nlisten = [\"10.0.0.5:9000\", \"[::1]:9000\"]\n"))) ==
        "http://10.0.0.5:9000/files/w/a.msi");
  CHECK(location(load(mirror("[server]\nlisten = [\"[fd00::5]:80\"]\n"))) ==
        "http://[fd00::5]:80/files/w/a.msi");
  SUBCASE("--listen replaces listen; the address bound replaces port 0")
  {
    agentdl::LoadOptions options;
    options.listen = std::vector<std::string>{ "192.168.1.2:8081" };
    const auto replaced = parse(mirror("[server]\nlisten = [\"10.0.0.5:9000\"]\n"), options);
    REQUIRE(replaced.has_value());
    CHECK(replaced->server.listen == std::vector<std::string>{ "192.168.1.2:8081" });
    CHECK(location(*replaced) == "http://192.168.1.2:8081/files/w/a.msi");
    options.bound_address = "192.168.1.2:40123";
    CHECK(location(*parse(mirror("[server]\nlisten = [\"127.0.0.1:0\"]\n"), options)) ==
          "http://192.168.1.2:40123/files/w/a.msi");
  }
  SUBCASE("a public_url given wins")
  {
    agentdl::LoadOptions options;
    options.bound_address = "127.0.0.1:40123";
    CHECK(location(*parse(mirror("[server]\npublic_url = \"https://mirror.lan\"\n"), options)) ==
          "https://mirror.lan/files/w/a.msi");
  }
}

TEST_CASE("catalog: a relative mirror root is taken from the catalog file's folder")
{
  const auto with_root = [](std::string_view root, std::string_view source) {
    auto catalog =
      agentdl::parse_catalog(k_head + "[mirror]\nroot = \"" + std::string(root) + "\"\n", source);
    REQUIRE_MESSAGE(catalog.has_value(), catalog.error().message);
    return std::move(catalog->mirror);
  };
  SUBCASE("relative, beside an absolute catalog")
  {
    const auto mirror = with_root("files", "/srv/agentdl/agentdl.toml");
    CHECK(mirror.root == "files");
    CHECK(mirror.root_path == "/srv/agentdl/files");
    CHECK(mirror.pos == agentdl::SourcePos{ 11, 8 });
  }
  SUBCASE("\".\", as a synced mirror writes it")
  {
    CHECK(with_root(".", "/srv/agentdl/agentdl.toml").root_path == "/srv/agentdl/.");
  }
  SUBCASE("\"..\" is kept as written: after a symbolic link it is not the textual parent")
  {
    CHECK(with_root("../files", "/srv/agentdl/agentdl.toml").root_path == "/srv/agentdl/../files");
  }
  SUBCASE("absolute: as written")
  {
    CHECK(with_root("/var/lib/agentdl", "/srv/agentdl/agentdl.toml").root_path ==
          "/var/lib/agentdl");
  }
  SUBCASE("a catalog named relative to the working folder: made absolute")
  {
    CHECK(with_root("files", "etc/agentdl.toml").root_path ==
          std::filesystem::current_path() / "etc/files");
    CHECK(with_root("files", "agentdl.toml").root_path ==
          std::filesystem::current_path() / "files");
  }
  SUBCASE("no [mirror]: no root")
  {
    auto catalog = agentdl::parse_catalog(k_head, "/srv/agentdl/agentdl.toml");
    REQUIRE(catalog.has_value());
    CHECK(catalog->mirror.root.empty());
    CHECK(catalog->mirror.root_path.empty());
  }
}

TEST_CASE("catalog: aliases from the file merge over the built-in ones")
{
  const auto catalog = load(k_head + R"([aliases]
platform = { Mac = "windows", macintosh = "macos" }
arch = { intel = "x86_64" }
)");
  CHECK(catalog.canonical_platform("mac") == "windows");
  CHECK(catalog.canonical_platform("MACINTOSH") == "macos");
  CHECK(catalog.canonical_platform("darwin") == "macos");
  CHECK(catalog.canonical_arch("Intel") == "x86_64");
  CHECK(catalog.canonical_arch("amd64") == "x86_64");
  CHECK(catalog.canonical_platform("linux") == "linux");
}

TEST_CASE("catalog: releases are sorted newest first and found by precedence")
{
  const auto catalog = load(k_head + k_storage + R"([[releases]]
version = "1.8.3"
[[releases]]
version = "1.10.0"
[[releases]]
version = "v1.9.0-beta.2"
[[releases]]
version = "1.8.3.1200"
)");
  std::vector<std::string> order;
  for (const auto& r : catalog.releases) {
    order.push_back(r.version.str());
  }
  CHECK(order == std::vector<std::string>{ "1.10.0", "1.9.0-beta.2", "1.8.3.1200", "1.8.3" });
  CHECK(catalog.find_release(*agentdl::Version::parse("v1.8.3.0")) == 3);
  CHECK(catalog.find_release(*agentdl::Version::parse("1.10")) == 0);
  CHECK(catalog.find_release(*agentdl::Version::parse("1.9.0-beta.2+b")) == 1);
  CHECK_FALSE(catalog.find_release(*agentdl::Version::parse("1.9.0")).has_value());
  CHECK_FALSE(catalog.find_release(*agentdl::Version::parse("0.1")).has_value());
  CHECK_FALSE(catalog.find_release(*agentdl::Version::parse("9")).has_value());
}

TEST_CASE("catalog: current release of each channel")
{
  const auto text = k_head + k_storage + R"([[releases]]
version = "2.0.0"
channels = ["stable"]
yanked = true
[[releases]]
version = "1.9.0-rc.1"
channels = ["latest"]
[[releases]]
version = "1.8.3"
channels = ["stable"]
[[releases]]
version = "1.8.2"
channels = ["stable"]
)";
  SUBCASE("highest non-yanked, with includes")
  {
    const auto catalog = load(text);
    const auto& stable = catalog.channels[*catalog.find_channel("stable")];
    const auto& latest = catalog.channels[*catalog.find_channel("latest")];
    CHECK(catalog.releases[*stable.current].version.str() == "1.8.3");
    CHECK(catalog.releases[*latest.current].version.str() == "1.9.0-rc.1");
    CHECK_FALSE(stable.pin.has_value());
  }
  SUBCASE("a pin wins over the highest")
  {
    auto pinned = text;
    pinned.replace(
      pinned.find("[channels.stable]\n"), 18, "[channels.stable]\ncurrent = \"1.8.2\"\n");
    const auto catalog = load(pinned);
    const auto& stable = catalog.channels[*catalog.find_channel("stable")];
    CHECK(catalog.releases[*stable.current].version.str() == "1.8.2");
    CHECK(stable.pin == stable.current);
  }
  SUBCASE("a channel whose releases are all yanked has no current release")
  {
    const auto catalog = load(k_head + k_storage + R"([[releases]]
version = "2.0.0"
channels = ["stable"]
yanked = true
)");
    CHECK_FALSE(catalog.channels[*catalog.find_channel("stable")].current.has_value());
  }
}

TEST_CASE("catalog: transitive includes")
{
  const auto catalog = load(R"([channels.a]
includes = ["b"]
[channels.b]
includes = ["c"]
[channels.c]
[[releases]]
version = "1"
channels = ["c"]
)");
  const auto& release = catalog.releases[0];
  CHECK(catalog.in_channel(release, *catalog.find_channel("a")));
  CHECK(catalog.in_channel(release, *catalog.find_channel("b")));
  CHECK(catalog.in_channel(release, *catalog.find_channel("c")));
}

TEST_CASE("catalog: server and auth settings")
{
  const auto catalog = load(k_head + R"([server]
listen = ["0.0.0.0:80", "[::1]:8080"]
api_prefix = "/api/v2"
threads = 4
header_timeout = "5s"
idle_timeout = "2m"
drain_timeout = "1h"
catalog_poll = "5m"
max_connections = 100
defer_accept = true
access_log = "off"
metrics = false
[auth]
mode = "none"
[[auth.tokens]]
name = "ci"
sha256 = "94d5550935517edc9fa5d056a94ea014853309056192232222d392a678671cbb"
channels = ["stable"]
[[auth.tokens]]
name = "ops"
sha256 = "94D5550935517EDC9FA5D056A94EA014853309056192232222D392A678671CBB"
channels = ["*"]
)");
  CHECK(catalog.server.listen == std::vector<std::string>{ "0.0.0.0:80", "[::1]:8080" });
  CHECK(catalog.server.api_prefix == "/api/v2");
  CHECK(catalog.server.threads == 4);
  CHECK(catalog.server.header_timeout == std::chrono::seconds(5));
  CHECK(catalog.server.idle_timeout == std::chrono::seconds(120));
  CHECK(catalog.server.drain_timeout == std::chrono::seconds(3600));
  CHECK(catalog.server.catalog_poll == std::chrono::seconds(300));
  CHECK(catalog.server.max_connections == 100);
  CHECK(catalog.server.defer_accept);
  CHECK(catalog.server.access_log == "off");
  CHECK_FALSE(catalog.server.metrics);
  CHECK(catalog.auth.mode == agentdl::AuthMode::none);
  REQUIRE(catalog.auth.tokens.size() == 2);
  CHECK(catalog.auth.tokens[0].name == "ci");
  CHECK(catalog.auth.tokens[0].sha256[0] == 0x94);
  CHECK(catalog.auth.tokens[0].sha256[31] == 0xbb);
  CHECK(catalog.auth.tokens[0].sha256 == catalog.auth.tokens[1].sha256);
  CHECK_FALSE(catalog.auth.tokens[0].all_channels);
  CHECK(catalog.auth.tokens[1].all_channels);
}

TEST_CASE("catalog: a file that cannot be read")
{
  const auto missing = agentdl::load_catalog("/nonexistent/agentdl.toml");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == Errc::config);
  CHECK(missing.error().message ==
        "/nonexistent/agentdl.toml: cannot open: No such file or directory");
}

TEST_CASE("catalog: validation errors name file, line and column")
{
  SUBCASE("TOML syntax")
  {
    CHECK(error_of("a = [1,\n") ==
          "t.toml:1:9: Error while parsing array: encountered end-of-file");
    CHECK(error_of("[platforms.macos]\narchs = [\"arm64\"]\n[platforms.macos]\n") ==
          "t.toml:3:1: Error while parsing table header: cannot redefine existing table "
          "'platforms.macos'");
  }
  SUBCASE("unknown top-level key")
  {
    CHECK(error_of("defualt_channel = \"x\"\n" + k_head) ==
          "t.toml:1:1: unknown key \"defualt_channel\" in the catalog (expected one of: "
          "default_channel, platforms, aliases, channels, storage, releases, server, page, auth, "
          "mirror)");
  }
  SUBCASE("unknown key in a platform")
  {
    CHECK(error_of("[platforms.macos]\narchs = [\"arm64\"]\narch = \"arm64\"\n") ==
          "t.toml:3:1: unknown key \"arch\" in [platforms.macos] (expected one of: archs, "
          "default_arch)");
  }
  SUBCASE("unknown key in an artifact")
  {
    CHECK(error_of(release("  platform = \"windows\"\n  arch = \"x86_64\"\n  path = \"a.msi\"\n  "
                           "sha = \"x\"\n")) ==
          "t.toml:19:3: unknown key \"sha\" in [[releases.artifacts]] (expected one of: "
          "platform, arch, path, url, sha256, size)");
  }
  SUBCASE("unknown key in a release")
  {
    CHECK(error_of(k_head + "[[releases]]\nversion = \"1\"\nchanel = [\"stable\"]\n") ==
          "t.toml:12:1: unknown key \"chanel\" in [[releases]] (expected one of: version, "
          "channels, published_at, yanked, artifacts)");
  }
  SUBCASE("wrong type")
  {
    CHECK(error_of("[platforms.macos]\narchs = \"arm64\"\n") ==
          "t.toml:2:9: archs must be an array of strings, not a string");
    CHECK(error_of(k_head + "[[releases]]\nversion = 1.8\n") ==
          "t.toml:11:11: version must be a string, not a float");
  }
  SUBCASE("platform without archs")
  {
    CHECK(error_of("[platforms.linux]\n") ==
          "t.toml:1:1: [platforms.linux] has no \"archs\" (e.g. archs = [\"x86_64\"])");
  }
  SUBCASE("bad platform name")
  {
    CHECK(error_of("[platforms.Windows]\narchs = [\"x86_64\"]\n") ==
          "t.toml:1:12: platform name \"Windows\" must be 1 to 64 lowercase letters, digits, "
          "'.', '_' or '-'");
  }
  SUBCASE("default_arch not among archs")
  {
    CHECK(error_of("[platforms.macos]\narchs = [\"arm64\"]\ndefault_arch = \"x86_64\"\n") ==
          "t.toml:3:16: default_arch \"x86_64\" is not one of the archs of [platforms.macos] "
          "(arm64)");
  }
  SUBCASE("artifact for an undeclared platform")
  {
    CHECK(error_of(release("  platform = \"linux\"\n  arch = \"x86_64\"\n  path = \"a\"\n")) ==
          "t.toml:16:14: artifact for unknown platform \"linux\" (declared: macos, windows)");
  }
  SUBCASE("artifact for an undeclared arch")
  {
    CHECK(error_of(release("  platform = \"windows\"\n  arch = \"arm64\"\n  path = \"a\"\n")) ==
          "t.toml:17:10: artifact for arch \"arm64\", which platform windows does not declare "
          "(x86_64)");
  }
  SUBCASE("artifact without arch")
  {
    CHECK(error_of(release("  platform = \"macos\"\n  path = \"a\"\n")) ==
          "t.toml:15:3: artifact of release 1.8.3 has no \"arch\" (platform macos has: arm64, "
          "x86_64)");
  }
  SUBCASE("two artifacts for the same version, platform and arch")
  {
    CHECK(error_of(release("  platform = \"macos\"\n  arch = \"arm64\"\n  path = \"a\"\n"
                           "  [[releases.artifacts]]\n  platform = \"macos\"\n  arch = \"arm64\"\n"
                           "  path = \"b\"\n")) ==
          "t.toml:19:3: release 1.8.3 has two artifacts for macos/arm64 (the other at line 15)");
  }
  SUBCASE("two releases equal by precedence")
  {
    CHECK(error_of(k_head + k_storage +
                   "[[releases]]\nversion = \"1.8\"\n[[releases]]\n"
                   "version = \"2\"\n[[releases]]\nversion = \"v1.8.0+b7\"\n") ==
          "t.toml:16:1: release 1.8.0+b7 has the same precedence as release 1.8 at line 12");
  }
  SUBCASE("malformed version")
  {
    CHECK(error_of(k_head + "[[releases]]\nversion = \"1.8.x\"\n") ==
          "t.toml:11:11: invalid version \"1.8.x\": must be 1 to 4 dot-separated numbers, then "
          "optional -prerelease and +build (e.g. 1.8.3, 1.9.0-beta.2)");
  }
  SUBCASE("release without version")
  {
    CHECK(error_of(k_head + "[[releases]]\nyanked = true\n") ==
          "t.toml:10:1: release has no \"version\"");
  }
  SUBCASE("a release names an undeclared channel")
  {
    CHECK(error_of(k_head + "[[releases]]\nversion = \"1\"\nchannels = [\"stable\", \"beta\"]\n") ==
          "t.toml:12:23: release 1 names undeclared channel \"beta\" (declared: latest, stable)");
  }
  SUBCASE("includes names an undeclared channel")
  {
    CHECK(error_of("[channels.latest]\nincludes = [\"stabel\"]\n[channels.stable]\n") ==
          "t.toml:2:13: channel \"latest\" includes undeclared channel \"stabel\" (declared: "
          "latest, stable)");
  }
  SUBCASE("default_channel names an undeclared channel")
  {
    CHECK(error_of("default_channel = \"beta\"\n[channels.stable]\n") ==
          "t.toml:1:19: default_channel \"beta\" is not a declared channel");
  }
  SUBCASE("includes cycle")
  {
    CHECK(error_of("[channels.a]\nincludes = [\"b\"]\n[channels.b]\nincludes = [\"c\"]\n"
                   "[channels.c]\nincludes = [\"a\"]\n") ==
          "t.toml:2:12: channel includes form a cycle: a -> b -> c -> a");
    CHECK(error_of("[channels.a]\nincludes = [\"a\"]\n") ==
          "t.toml:2:12: channel includes form a cycle: a -> a");
  }
  SUBCASE("current pin naming a missing version")
  {
    CHECK(error_of("[channels.stable]\ncurrent = \"2.0\"\n") ==
          "t.toml:2:11: channel \"stable\" pins current = \"2.0\", but there is no such release");
  }
  SUBCASE("current pin naming a yanked version")
  {
    CHECK(error_of("[channels.stable]\ncurrent = \"1.0\"\n[[releases]]\nversion = \"1.0\"\n"
                   "channels = [\"stable\"]\nyanked = true\n") ==
          "t.toml:2:11: channel \"stable\" pins current = \"1.0\", which is yanked");
  }
  SUBCASE("current pin naming a release of another channel")
  {
    CHECK(error_of("[channels.stable]\ncurrent = \"1.0\"\n[channels.beta]\n[[releases]]\n"
                   "version = \"1.0\"\nchannels = [\"beta\"]\n") ==
          "t.toml:2:11: channel \"stable\" pins current = \"1.0\", which is not a release of "
          "channel \"stable\"");
  }
  SUBCASE("relative path with ..")
  {
    CHECK(error_of(release("  platform = \"windows\"\n  arch = \"x86_64\"\n  path = "
                           "\"windows/../../etc/passwd\"\n")) ==
          "t.toml:18:10: path \"windows/../../etc/passwd\" has a \"..\" segment");
  }
  SUBCASE("relative path with a leading /")
  {
    CHECK(
      error_of(release("  platform = \"windows\"\n  arch = \"x86_64\"\n  path = \"/a.msi\"\n")) ==
      "t.toml:18:10: path \"/a.msi\" must be relative (no leading '/')");
  }
  SUBCASE("relative path with a backslash")
  {
    CHECK(
      error_of(release("  platform = \"windows\"\n  arch = \"x86_64\"\n  path = 'w\\a.msi'\n")) ==
      "t.toml:18:10: path \"w\\a.msi\" contains a backslash (use '/')");
  }
  SUBCASE("relative path with a control character")
  {
    CHECK(error_of(
            release("  platform = \"windows\"\n  arch = \"x86_64\"\n  path = \"a\\r\\n.msi\"\n")) ==
          "t.toml:18:10: path \"a\r\n.msi\" contains a control character");
  }
  SUBCASE("relative path with an empty segment")
  {
    CHECK(
      error_of(release("  platform = \"windows\"\n  arch = \"x86_64\"\n  path = \"w//a.msi\"\n")) ==
      "t.toml:18:10: path \"w//a.msi\" has an empty segment");
  }
  SUBCASE("both path and url")
  {
    CHECK(error_of(release("  platform = \"windows\"\n  arch = \"x86_64\"\n  path = \"a\"\n  url = "
                           "\"https://x.example/a\"\n")) ==
          "t.toml:15:3: artifact has both \"path\" and \"url\" (give one)");
  }
  SUBCASE("neither path nor url")
  {
    CHECK(error_of(release("  platform = \"windows\"\n  arch = \"x86_64\"\n")) ==
          "t.toml:15:3: artifact has neither \"path\" (relative to [storage] base_url) nor "
          "\"url\" (absolute)");
  }
  SUBCASE("url that is not absolute http(s)")
  {
    CHECK(error_of(release("  platform = \"windows\"\n  arch = \"x86_64\"\n  url = \"a.msi\"\n")) ==
          "t.toml:18:9: url \"a.msi\" is not a valid absolute URL");
    CHECK(error_of(release("  platform = \"windows\"\n  arch = \"x86_64\"\n  url = "
                           "\"ftp://x.example/a.msi\"\n")) ==
          "t.toml:18:9: url \"ftp://x.example/a.msi\" must be an http or https URL");
    CHECK(error_of(release("  platform = \"windows\"\n  arch = \"x86_64\"\n  url = "
                           "\"https://x.example/dir/\"\n")) ==
          "t.toml:18:9: url \"https://x.example/dir/\" does not end with a file name");
  }
  SUBCASE("path without base_url or mirror")
  {
    CHECK(error_of(k_head + "[[releases]]\nversion = \"1\"\n[[releases.artifacts]]\nplatform = "
                            "\"windows\"\narch = \"x86_64\"\npath = \"a.msi\"\n") ==
          "t.toml:15:8: path \"a.msi\" needs [storage] base_url (or a [mirror]) to make a URL; "
          "or give an absolute url");
  }
  SUBCASE("malformed sha256")
  {
    CHECK(error_of(
            release("  platform = \"windows\"\n  arch = \"x86_64\"\n  path = \"a\"\n  sha256 = "
                    "\"abc\"\n")) == "t.toml:19:12: sha256 \"abc\" is not 64 hexadecimal digits");
    CHECK(
      error_of(release("  platform = \"windows\"\n  arch = \"x86_64\"\n  path = \"a\"\n  sha256 = "
                       "\"zz5550935517edc9fa5d056a94ea014853309056192232222d392a678671cbb\"\n")) ==
      "t.toml:19:12: sha256 \"zz5550935517edc9fa5d056a94ea014853309056192232222d392a678671cbb\" "
      "is not 64 hexadecimal digits");
  }
  SUBCASE("negative size")
  {
    CHECK(error_of(release(
            "  platform = \"windows\"\n  arch = \"x86_64\"\n  path = \"a\"\n  size = -1\n")) ==
          "t.toml:19:10: size must be at least 0, not -1");
  }
  SUBCASE("published_at without offset")
  {
    CHECK(
      error_of(k_head + "[[releases]]\nversion = \"1\"\npublished_at = 2026-10-01T12:00:00\n") ==
      "t.toml:12:16: published_at must be a date-time with offset, e.g. 2026-10-01T12:00:00Z, "
      "not a date-time");
  }
  SUBCASE("bad base_url")
  {
    CHECK(error_of("[storage]\nbase_url = \"downloads.example.com\"\n") ==
          "t.toml:2:12: base_url \"downloads.example.com\" is not a valid absolute URL");
  }
  SUBCASE("unknown signing")
  {
    CHECK(error_of("[storage]\nsigning = \"md5\"\n") ==
          "t.toml:2:11: unknown signing \"md5\" (expected one of: none, hmac, nginx-secure-link, "
          "s3)");
  }
  SUBCASE("alias to an undeclared platform")
  {
    CHECK(error_of(k_head + "[aliases]\nplatform = { linux = \"gnu\" }\n") ==
          "t.toml:11:22: platform alias \"linux\" names undeclared platform \"gnu\" (declared: "
          "macos, windows)");
  }
  SUBCASE("alias shadowing a declared name")
  {
    CHECK(error_of(k_head + "[aliases]\narch = { ARM64 = \"x86_64\" }\n") ==
          "t.toml:11:10: arch alias \"ARM64\" is also a declared arch");
  }
  SUBCASE("bad server settings")
  {
    CHECK(error_of("[server]\nlisten = [\"localhost\"]\n") ==
          "t.toml:2:11: listen address \"localhost\" must be HOST:PORT, e.g. 127.0.0.1:8080 or "
          "[::1]:8080");
    CHECK(error_of("[server]\nheader_timeout = \"10\"\n") ==
          "t.toml:2:18: header_timeout \"10\" is not a duration (a positive whole number and a "
          "unit: 90s, 15m, 1h, 7d)");
    CHECK(
      error_of("[server]\napi_prefix = \"v2/\"\n") ==
      "t.toml:2:14: api_prefix \"v2/\" must start with '/' and not end with one (e.g. \"/v2\")");
    CHECK(error_of("[server]\nmax_connections = 0\n") ==
          "t.toml:2:19: max_connections must be at least 1, not 0");
    CHECK(error_of("[server]\ncatalog_poll = \"2d\"\n") ==
          "t.toml:2:16: catalog_poll must be at most 1d");
    CHECK(error_of("[server]\ndefer_accept = \"yes\"\n") ==
          "t.toml:2:16: defer_accept must be true or false, not a string");
    CHECK(error_of("[server]\ncatalog_poll = \"0s\"\n")
            .starts_with("t.toml:2:16: catalog_poll \"0s\" is not a duration"));
  }
  SUBCASE("bad tokens")
  {
    CHECK(error_of("[[auth.tokens]]\nname = \"ci\"\nsha256 = \"secret\"\nchannels = [\"*\"]\n") ==
          "t.toml:3:10: sha256 \"secret\" of token \"ci\" is not 64 hexadecimal digits");
    CHECK(error_of("[channels.stable]\n[[auth.tokens]]\nname = \"ci\"\nsha256 = "
                   "\"94d5550935517edc9fa5d056a94ea014853309056192232222d392a678671cbb\"\n"
                   "channels = [\"beta\"]\n") ==
          "t.toml:5:13: token \"ci\" names undeclared channel \"beta\" (declared: stable)");
    CHECK(error_of("[auth]\nmode = \"optional\"\n") ==
          "t.toml:2:8: unknown auth mode \"optional\" (expected required or none)");
  }
}

TEST_CASE("catalog: a failed load leaves nothing behind")
{
  // The error is the only result: there is no partially filled catalog to use.
  auto result = parse(k_head + "[[releases]]\nversion = \"1\"\nbogus = 1\n");
  CHECK_FALSE(result.has_value());
}

namespace {

// Three releases (at lines 12, 19 and 26, after k_head and k_storage): enough
// for the loader to parse the file one [[releases]] block at a time.
std::string three_releases(const std::string& third_artifact_body)
{
  return k_head + k_storage + R"([[releases]]
version = "1.8.3"
channels = ["stable"]
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "w/1.8.3.msi"
[[releases]]
version = "1.9.0-beta.1"
channels = ["latest"]
  [[releases.artifacts]]
  platform = "macos"
  arch = "arm64"
  path = "m/1.9.0-beta.1.pkg"
[[ releases ]]  # spaces and a comment are fine
version = "1.7"
channels = ["stable"]
  [[releases.artifacts]]
)" + third_artifact_body;
}

} // namespace

TEST_CASE("catalog: a file read one release block at a time")
{
  const std::string good =
    "  platform = \"windows\"\n  arch = \"x86_64\"\n  path = \"w/1.7.msi\"\n";
  SUBCASE("loads like the whole file would")
  {
    const auto blocks = load(three_releases(good));
    // A table after the releases makes the loader parse the file whole.
    const auto whole = load(three_releases(good) + "[server]\nthreads = 3\n");
    CHECK(whole.server.threads == 3);
    REQUIRE(blocks.releases.size() == 3);
    REQUIRE(whole.releases.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(blocks.releases[i].version.str() == whole.releases[i].version.str());
      CHECK(blocks.releases[i].pos.line == whole.releases[i].pos.line);
      CHECK(blocks.releases[i].artifacts[0].location == whole.releases[i].artifacts[0].location);
      CHECK(blocks.releases[i].artifacts[0].pos.line == whole.releases[i].artifacts[0].pos.line);
      CHECK(blocks.releases[i].channels == whole.releases[i].channels);
    }
    CHECK(blocks.releases[2].pos.line == 26);
    CHECK(blocks.releases[2].artifacts[0].pos.line == 29);
    CHECK(blocks.channels[*blocks.find_channel("latest")].current == 0);
    CHECK(blocks.find_release(*agentdl::Version::parse("1.7.0")) == 2);
  }
  SUBCASE("errors in a later block name the line in the file")
  {
    CHECK(
      error_of(three_releases("  platform = \"linux\"\n  arch = \"x86_64\"\n  path = \"a\"\n")) ==
      "t.toml:30:14: artifact for unknown platform \"linux\" (declared: macos, windows)");
    CHECK(error_of(three_releases("  platform = \"windows\"\n  arch = x86_64\n")) ==
          "t.toml:31:10: Error while parsing value: could not determine value type");
    // The same errors when a table after the releases makes it one parse.
    CHECK(error_of(three_releases("  platform = \"linux\"\n  arch = \"x86_64\"\n  path = \"a\"\n") +
                   "[server]\n") ==
          "t.toml:30:14: artifact for unknown platform \"linux\" (declared: macos, windows)");
  }
  SUBCASE("a platform declared after the releases is found")
  {
    const auto catalog =
      load(three_releases("  platform = \"linux\"\n  arch = \"x86_64\"\n  path = \"a\"\n") +
           "[platforms.linux]\narchs = [\"x86_64\"]\n");
    CHECK(catalog.releases[2].artifacts[0].location == "https://dl.example.com/agent/a");
  }
  SUBCASE("a multi-line string that holds a header line is not split there")
  {
    const auto catalog =
      load(three_releases(good) + "[mirror]\nroot = \"\"\"\n[[releases]]\n\"\"\"\n");
    CHECK(catalog.releases.size() == 3);
    CHECK(catalog.mirror.root == "[[releases]]\n");
  }
}

TEST_CASE("catalog: the test catalogs above were read both ways")
{
  // parse() runs the block-wise path wherever split_blocks allows it: most
  // catalogs of this file. None would mean the comparison never ran.
  CAPTURE(g_parsed);
  CHECK(g_read_both_ways * 4 >= g_parsed * 3);
}

namespace {

// An environment of the test's own, for the secrets.
agentdl::LoadOptions with_env(std::map<std::string, std::string> variables)
{
  agentdl::LoadOptions options;
  options.getenv = [variables =
                      std::move(variables)](std::string_view name) -> std::optional<std::string> {
    const auto it = variables.find(std::string(name));
    return it == variables.end() ? std::nullopt : std::optional(it->second);
  };
  return options;
}

// A catalog with one artifact at https://bucket.example/agent/a.msi, its
// [storage] table given whole.
std::string signed_catalog(const std::string& storage)
{
  return "[platforms.linux]\narchs = [\"x86_64\"]\n[channels.stable]\n" + storage +
         "\n[[releases]]\nversion = \"1.0\"\nchannels = [\"stable\"]\n"
         "  [[releases.artifacts]]\n  platform = \"linux\"\n  arch = \"x86_64\"\n"
         "  path = \"a.msi\"\n";
}

std::string signing_error(const std::string& storage, const agentdl::LoadOptions& options)
{
  const auto loaded = parse(signed_catalog(storage), options);
  REQUIRE_FALSE(loaded.has_value());
  CHECK(loaded.error().code == Errc::config);
  return loaded.error().message;
}

const agentdl::SystemTime k_now{ std::chrono::seconds(1700000000) };

} // namespace

TEST_CASE("catalog: signed locations, their settings and secrets")
{
  REQUIRE(agentdl::crypto_init().has_value());
  const std::string base = "[storage]\nbase_url = \"https://bucket.example/agent/\"\n";
  const auto aws = with_env({ { "AWS_ACCESS_KEY_ID", "AKID" },
                              { "AWS_SECRET_ACCESS_KEY", "SECRET-NEVER-SHOWN" },
                              { "LINK_SECRET", "link-secret" },
                              { "OLD_SECRET", "old-secret" },
                              { "EMPTY", "" } });
  SUBCASE("s3: the Location is presigned; unsigned without signing")
  {
    const auto catalog = load(signed_catalog(base));
    CHECK(agentdl::location_of(catalog, catalog.releases[0].artifacts[0], k_now).url ==
          "https://bucket.example/agent/a.msi");
    const auto s3 =
      parse(signed_catalog(
              base + "signing = \"s3\"\nexpires = \"7d\"\n[storage.s3]\nregion = \"eu-west-1\"\n"),
            aws);
    REQUIRE_MESSAGE(s3.has_value(), s3.error().message);
    const auto location = agentdl::location_of(*s3, s3->releases[0].artifacts[0], k_now);
    CHECK(location.url.starts_with(
      "https://bucket.example/agent/a.msi?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
      "AKID%2F20231114%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Date=20231114T221320Z&"
      "X-Amz-Expires=604800&"));
    CHECK(location.expires_at == k_now + std::chrono::days(7));
  }
  SUBCASE("s3: the region from AWS_REGION, else AWS_DEFAULT_REGION")
  {
    const auto s3 = parse(signed_catalog(base + "signing = \"s3\"\n"),
                          with_env({ { "AWS_ACCESS_KEY_ID", "A" },
                                     { "AWS_SECRET_ACCESS_KEY", "S" },
                                     { "AWS_DEFAULT_REGION", "ap-south-1" } }));
    REQUIRE_MESSAGE(s3.has_value(), s3.error().message);
    CHECK(
      agentdl::location_of(*s3, s3->releases[0].artifacts[0], k_now).url.find("%2Fap-south-1%2F") !=
      std::string::npos);
  }
  SUBCASE("s3: errors")
  {
    CHECK(signing_error(base + "signing = \"s3\"\nexpires = \"8d\"\n[storage.s3]\nregion = \"r\"\n",
                        aws) == "t.toml:7:11: expires = \"691200s\" is longer than S3 allows for a "
                                "presigned URL (at most 7d)");
    CHECK(signing_error(base + "signing = \"s3\"\n[storage.s3]\nregion = \"r\"\n", with_env({})) ==
          "t.toml:7:1: signing = \"s3\": environment variable AWS_ACCESS_KEY_ID is not set");
    CHECK(signing_error(base + "signing = \"s3\"\n[storage.s3]\nregion = \"r\"\n"
                               "secret_access_key_env = \"EMPTY\"\n",
                        aws) ==
          "t.toml:7:1: signing = \"s3\": environment variable EMPTY is empty");
    CHECK(
      signing_error(base + "signing = \"s3\"\n",
                    with_env({ { "AWS_ACCESS_KEY_ID", "A" }, { "AWS_SECRET_ACCESS_KEY", "S" } })) ==
      "t.toml:4:1: signing = \"s3\" needs a region: [storage.s3] region = \"us-east-1\", or "
      "AWS_REGION");
    CHECK(signing_error(base + "signing = \"s3\"\nsecret_env = \"LINK_SECRET\"\n", aws) ==
          "t.toml:7:14: secret_env is for hmac and nginx-secure-link; signing = \"s3\" reads the "
          "AWS variables ([storage.s3])");
  }
  SUBCASE("nginx-secure-link and hmac: secrets from a variable or a file")
  {
    const auto nginx = parse(
      signed_catalog(base + "signing = \"nginx-secure-link\"\nsecret_env = \"LINK_SECRET\"\n"),
      aws);
    REQUIRE_MESSAGE(nginx.has_value(), nginx.error().message);
    CHECK(agentdl::location_of(*nginx, nginx->releases[0].artifacts[0], k_now)
            .url.starts_with("https://bucket.example/agent/a.msi?md5="));
    CHECK_FALSE(nginx->storage.link_verifier);

    const auto dir = std::filesystem::temp_directory_path() / "agentdl-test-secrets";
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "secrets") << "file-secret\r\n\nolder-secret\n";
    std::ofstream(dir / "blank") << "\n\n";
    const auto from_file = parse(signed_catalog(base + "signing = \"hmac\"\nsecret_file = \"" +
                                                (dir / "secrets").string() + "\"\n"),
                                 aws);
    REQUIRE_MESSAGE(from_file.has_value(), from_file.error().message);
    REQUIRE(from_file->storage.link_verifier);
    const auto url =
      agentdl::location_of(*from_file, from_file->releases[0].artifacts[0], k_now).url;
    CHECK(url.find(agentdl::hmac_link_signature("file-secret", "/agent/a.msi", 1700000900)) !=
          std::string::npos);
    // The older secret verifies too.
    CHECK(from_file->storage.link_verifier->check(
            "/agent/a.msi",
            "expires=1700000900&sig=" +
              agentdl::hmac_link_signature("older-secret", "/agent/a.msi", 1700000900),
            k_now) == agentdl::LinkCheck::valid);

    // A relative secret_file is found in the catalog's folder, or in the one
    // the options give (a catalog fetched by URL: the state folder).
    auto in_folder = aws;
    in_folder.folder = dir;
    const auto relative =
      parse(signed_catalog(base + "signing = \"hmac\"\nsecret_file = \"secrets\"\n"), in_folder);
    REQUIRE_MESSAGE(relative.has_value(), relative.error().message);
    CHECK(relative->folder == dir);
    CHECK(signing_error(base + "signing = \"hmac\"\nsecret_file = \"secrets\"\n", aws) ==
          "t.toml:7:15: cannot read secret_file \"secrets\": No such file or directory");

    const auto rotated = parse(signed_catalog(base + "signing = \"hmac\"\nsecret_env = "
                                                     "\"LINK_SECRET\"\nprevious_secret_env = "
                                                     "\"OLD_SECRET\"\n"),
                               aws);
    REQUIRE_MESSAGE(rotated.has_value(), rotated.error().message);
    CHECK(rotated->storage.link_verifier->check(
            "/agent/a.msi",
            "expires=1700000900&sig=" +
              agentdl::hmac_link_signature("old-secret", "/agent/a.msi", 1700000900),
            k_now) == agentdl::LinkCheck::valid);

    CHECK(signing_error(base + "signing = \"hmac\"\nsecret_file = \"" + (dir / "blank").string() +
                          "\"\n",
                        aws) ==
          "t.toml:7:15: secret_file \"" + (dir / "blank").string() + "\" holds no secret");
    std::filesystem::remove_all(dir);
  }
  SUBCASE("nginx-secure-link and hmac: errors name the variable or the file, never a secret")
  {
    CHECK(signing_error(base + "signing = \"hmac\"\n", aws) ==
          "t.toml:4:1: signing = \"hmac\" needs a secret: secret_env = \"VARIABLE\" or "
          "secret_file = \"PATH\"");
    CHECK(signing_error(base + "signing = \"hmac\"\nsecret_env = \"NOPE\"\n", aws) ==
          "t.toml:7:14: secret_env: environment variable NOPE is not set");
    CHECK(signing_error(base + "signing = \"nginx-secure-link\"\nsecret_env = \"EMPTY\"\n", aws) ==
          "t.toml:7:14: secret_env: environment variable EMPTY is empty");
    CHECK(signing_error(base + "signing = \"hmac\"\nsecret_env = \"LINK_SECRET\"\n"
                               "previous_secret_env = \"NOPE\"\n",
                        aws) ==
          "t.toml:8:23: previous_secret_env: environment variable NOPE is not set");
    CHECK(
      signing_error(base + "signing = \"hmac\"\nsecret_file = \"/nonexistent/secret\"\n", aws) ==
      "t.toml:7:15: cannot read secret_file \"/nonexistent/secret\": No such file or directory");
    CHECK(signing_error(base + "signing = \"hmac\"\nsecret_file = \"/tmp\"\n", aws) ==
          "t.toml:7:15: cannot read secret_file \"/tmp\": is a directory");
    CHECK(signing_error(base + "signing = \"hmac\"\nsecret_env = \"LINK_SECRET\"\nsecret_file = "
                               "\"x\"\n",
                        aws) ==
          "t.toml:8:15: signing = \"hmac\" takes secret_env or secret_file, not both");
    CHECK(signing_error(base + "secret_env = \"LINK_SECRET\"\n", aws) ==
          "t.toml:6:14: secret_env is for signed locations, but signing is \"none\"");
    CHECK(signing_error(base + "signing = \"hmac\"\nsecret_env = \"LINK_SECRET\"\n[storage.s3]\n",
                        aws) == "t.toml:8:1: [storage.s3] is for signing = \"s3\"");
  }
}
