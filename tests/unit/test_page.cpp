// The downloads page (lib/agentdl/page/): telling visitors apart by
// User-Agent, the renderings, escaping, and the / route of the pure handler.

#include <agentdl/api.hpp>
#include <agentdl/crypto.hpp>
#include <agentdl/page/assets.hpp>
#include <agentdl/page/page.hpp>
#include <agentdl/page/visitor.hpp>
#include <agentdl/snapshot.hpp>
#include <agentdl/token.hpp>

#include <boost/beast/zlib/inflate_stream.hpp>
#include <boost/crc.hpp>
#include <doctest/doctest.h>

#include <optional>
#include <set>
#include <string>

using agentdl::page::Arch;
using agentdl::page::Os;
using agentdl::page::Visitor;
using agentdl::page::visitor_of;

namespace {

constexpr const char* k_mac_chrome =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
  "Chrome/126.0.0.0 Safari/537.36";
constexpr const char* k_mac_safari =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
  "Version/17.5 Safari/605.1.15";
constexpr const char* k_windows_edge =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
  "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0";
constexpr const char* k_linux_firefox =
  "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0";
constexpr const char* k_linux_arm =
  "Mozilla/5.0 (X11; Linux aarch64; rv:127.0) Gecko/20100101 Firefox/127.0";
constexpr const char* k_ipad = "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
                               "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
constexpr const char* k_android =
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
  "Chrome/126.0.0.0 Mobile Safari/537.36";

// stable (public, default) has 1.8.3 for windows/x86_64 and both macOS archs,
// and older 1.8.2, 1.7.0 (yanked 1.8.0 between them); beta is private.
std::string catalog_text(std::string extra = "", std::string public_channels = R"(["stable"])")
{
  return R"(default_channel = "stable"
[platforms.windows]
archs = ["x86_64"]
default_arch = "x86_64"
[platforms.macos]
archs = ["arm64", "x86_64"]
[channels.beta]
[channels.stable]
[storage]
base_url = "https://downloads.example.com/agent/"
[server]
public_url = "https://get.example.com/"
[auth]
public_channels = )" +
         public_channels + "\n" + extra + R"(
[[releases]]
version = "1.9.0"
channels = ["beta"]
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "windows/1.9.0/Agent-1.9.0.msi"
[[releases]]
version = "1.8.3"
channels = ["stable"]
published_at = 2026-10-01T12:00:00Z
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "windows/1.8.3/Agent-1.8.3.msi"
  sha256 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
  size = 48213504
  [[releases.artifacts]]
  platform = "macos"
  arch = "arm64"
  path = "macos/1.8.3/Agent-1.8.3-arm64.pkg"
  size = 1536
  [[releases.artifacts]]
  platform = "macos"
  arch = "x86_64"
  path = "macos/1.8.3/Agent-1.8.3-x86_64.pkg"
[[releases]]
version = "1.8.2"
channels = ["stable"]
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "windows/1.8.2/Agent-1.8.2.msi"
[[releases]]
version = "1.8.0"
channels = ["stable"]
yanked = true
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "windows/1.8.0/Agent-1.8.0.msi"
[[releases]]
version = "1.7.0"
channels = ["stable"]
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "windows/1.7.0/Agent-1.7.0.msi"
)";
}

std::unique_ptr<const agentdl::Snapshot> snapshot_of(const std::string& text)
{
  auto catalog = agentdl::parse_catalog(text, "t.toml");
  REQUIRE_MESSAGE(catalog, (catalog ? "" : catalog.error().message));
  return std::make_unique<const agentdl::Snapshot>(std::move(*catalog));
}

std::string page_for(const agentdl::Snapshot& snapshot, const char* user_agent)
{
  REQUIRE(snapshot.page());
  return *snapshot.page()->for_visitor(visitor_of(user_agent)).html;
}

bool contains(std::string_view text, std::string_view part)
{
  return text.find(part) != std::string_view::npos;
}

// Returns the <li> of the download whose label is `label`, through its
// opening tag.
std::string item_tag(const std::string& html, std::string_view label)
{
  const auto at = html.find(std::string("data-label=\"") + std::string(label) + "\"");
  REQUIRE(at != std::string::npos);
  const auto start = html.rfind("<li", at);
  return html.substr(start, html.find('>', at) - start + 1);
}

agentdl::ApiResponse get(const agentdl::Snapshot& snapshot,
                         std::string_view target,
                         std::string_view user_agent = "",
                         std::optional<std::string_view> if_none_match = std::nullopt,
                         std::string_view method = "GET",
                         std::string_view accept_encoding = "")
{
  return agentdl::handle(snapshot,
                         { .method = method,
                           .target = target,
                           .authorization = std::nullopt,
                           .user_agent = user_agent,
                           .if_none_match = if_none_match,
                           .accept_encoding = accept_encoding },
                         {});
}

// Returns the data of the gzip member `compressed`, checking its header,
// CRC-32 and size.
std::string gunzip(const std::string& compressed)
{
  namespace zlib = boost::beast::zlib;
  REQUIRE(compressed.size() > 18);
  CHECK(compressed.substr(0, 4) == std::string("\x1f\x8b\x08\x00", 4));
  zlib::inflate_stream stream;
  stream.reset(15);
  std::string out(1 << 20, '\0');
  zlib::z_params params;
  params.next_in = compressed.data() + 10;
  params.avail_in = compressed.size() - 18;
  params.next_out = out.data();
  params.avail_out = out.size();
  boost::system::error_code ec;
  stream.write(params, zlib::Flush::finish, ec);
  CHECK(ec == zlib::error::end_of_stream);
  out.resize(params.total_out);
  const auto word = [&](std::size_t at) {
    std::uint32_t value = 0;
    for (std::size_t i = 4; i-- > 0;) {
      value = (value << 8) | static_cast<unsigned char>(compressed[at + i]);
    }
    return value;
  };
  boost::crc_32_type crc;
  crc.process_bytes(out.data(), out.size());
  CHECK(word(compressed.size() - 8) == crc.checksum());
  CHECK(word(compressed.size() - 4) == out.size());
  return out;
}

} // namespace

TEST_CASE("page: a User-Agent names the OS, and the arch where it can be trusted")
{
  CHECK(visitor_of(k_windows_edge) == Visitor{ Os::windows, Arch::x86_64 });
  CHECK(visitor_of("Mozilla/5.0 (Windows NT 10.0; ARM64) Firefox/127.0") ==
        Visitor{ Os::windows, Arch::arm64 });
  CHECK(visitor_of("Mozilla/5.0 (Windows NT 10.0) Gecko") == Visitor{ Os::windows, Arch::unknown });
  // A Mac says "Intel" on Apple silicon too: its arch is never guessed.
  CHECK(visitor_of(k_mac_chrome) == Visitor{ Os::macos, Arch::unknown });
  CHECK(visitor_of(k_mac_safari) == Visitor{ Os::macos, Arch::unknown });
  CHECK(visitor_of(k_linux_firefox) == Visitor{ Os::gnu_linux, Arch::x86_64 });
  CHECK(visitor_of(k_linux_arm) == Visitor{ Os::gnu_linux, Arch::arm64 });
  CHECK(visitor_of(k_ipad) == Visitor{});
  CHECK(visitor_of("Mozilla/5.0 (X11; FreeBSD amd64; rv:127.0) Gecko/20100101") == Visitor{});
  CHECK(visitor_of(k_android) == Visitor{});
  CHECK(visitor_of("curl/8.5.0") == Visitor{});
  CHECK(visitor_of("") == Visitor{});
}

TEST_CASE("page: sizes in human units, HTML escaping, shell quoting")
{
  CHECK(agentdl::page::human_size(0) == "0 bytes");
  CHECK(agentdl::page::human_size(1023) == "1023 bytes");
  CHECK(agentdl::page::human_size(1536) == "1.5 KiB");
  CHECK(agentdl::page::human_size(48213504) == "46.0 MiB");
  CHECK(agentdl::page::human_size(3ull << 30) == "3.0 GiB");

  std::string out;
  agentdl::page::append_escaped(out, R"(<a href="x" title='y'>&</a>)");
  CHECK(out == "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");

  CHECK(agentdl::page::shell_quote("a b") == "'a b'");
  CHECK(agentdl::page::shell_quote("it's") == R"('it'\''s')");
}

TEST_CASE("page: none without a public channel, or with [page] enabled = false")
{
  CHECK_FALSE(snapshot_of(catalog_text("", "[]"))->page());
  CHECK_FALSE(snapshot_of(catalog_text() + "[page]\nenabled = false\n")->page());
  CHECK(snapshot_of(catalog_text() + "[page]\nenabled = true\n")->page());
  // With auth off everything is public.
  const auto open = snapshot_of(catalog_text("mode = \"none\"", "[]"));
  REQUIRE(open->page());
  const auto html = page_for(*open, "");
  CHECK(contains(html, "Channel stable"));
  CHECK(contains(html, "Channel beta"));
  CHECK(html.find("Channel stable") < html.find("Channel beta")); // the default first

  auto bad = agentdl::parse_catalog(catalog_text() + "[page]\nenabeld = true\n", "t.toml");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "t.toml:65:1: unknown key \"enabeld\" in [page] (expected one of: "
                               "enabled)");
}

TEST_CASE("page: the public channels' current release, older ones, never a private one")
{
  const auto snapshot = snapshot_of(catalog_text());
  const auto html = page_for(*snapshot, "");
  CHECK(contains(html, "<html lang=\"en\">"));
  CHECK(contains(html, "Channel stable"));
  CHECK_FALSE(contains(html, "beta"));
  CHECK_FALSE(contains(html, "1.9.0"));
  CHECK(contains(html,
                 "Version <strong>1.8.3</strong>, published <time "
                 "datetime=\"2026-10-01T12:00:00Z\">2026-10-01</time>"));
  // A button per platform/arch, linked to the redirect endpoint.
  CHECK(contains(html,
                 "<a class=\"button\" href=\"./v2/agent-releases/latest/download?"
                 "channel=stable&amp;platform=macos&amp;arch=arm64\">Download for macOS, "
                 "Apple silicon (arm64)</a>"));
  CHECK(contains(html, "Download for macOS, Intel (x86_64)"));
  CHECK(contains(html, "Download for Windows, x86_64"));
  CHECK(contains(html, "<dd>Agent-1.8.3.msi</dd>"));
  CHECK(contains(html, "<dd>46.0 MiB</dd>"));
  CHECK(contains(html, "<dd>1.5 KiB</dd>"));
  CHECK(contains(html, "<code class=\"hash\" id=\"sha-0-2\">" + std::string(64, 'a') + "</code>"));
  // Lines for scripts, with the absolute URL from public_url.
  CHECK(contains(html,
                 "curl -fLo &#39;Agent-1.8.3.msi&#39; &#39;https://get.example.com/v2/"
                 "agent-releases/latest/download?channel=stable&amp;platform=windows&amp;"
                 "arch=x86_64&#39;"));
  CHECK(contains(html,
                 "agentdl download --server &#39;https://get.example.com/v2&#39; --channel "
                 "stable --platform windows --arch x86_64"));
  // Older releases, newest first, the yanked one left out.
  CHECK(contains(html, "Older releases (2)"));
  CHECK(contains(html,
                 "href=\"./v2/agent-releases/1.8.2/download?platform=windows&amp;"
                 "arch=x86_64\""));
  CHECK(html.find("Agent-1.8.2.msi") < html.find("Agent-1.7.0.msi"));
  CHECK_FALSE(contains(html, "1.8.0"));
  // Copy buttons wait for the script.
  CHECK(contains(html,
                 "data-copy=\"sha-0-2\" aria-label=\"Copy the SHA-256 of Agent-1.8.3.msi\" "
                 "hidden>Copy</button>"));
}

TEST_CASE("page: one rendering per visitor it can pick for, each with its own ETag")
{
  const auto snapshot = snapshot_of(catalog_text());
  const auto& page = *snapshot->page();
  // Everyone else, Windows x86_64, Windows with its arch unsaid, a Mac:
  // each distinct choice has one rendering, and each rendering its own ETag.
  CHECK(page.renderings().size() == 4); // none for a Mac's arch: no User-Agent tells it
  std::set<std::string> etags;
  for (const auto& rendering : page.renderings()) {
    etags.insert(rendering.etag);
    CHECK(rendering.etag.starts_with("\"p-"));
  }
  CHECK(etags.size() == page.renderings().size());

  const auto windows = page_for(*snapshot, k_windows_edge);
  CHECK(item_tag(windows, "Windows, x86_64") ==
        "<li class=\"download picked\" data-os=\"windows\" data-arch=\"x86_64\" "
        "data-label=\"Windows, x86_64\">");
  CHECK(item_tag(windows, "macOS, Apple silicon (arm64)").starts_with("<li class=\"download\""));
  CHECK(contains(windows, "Marked for your computer: Windows, x86_64."));
  // Windows on Arm finds no arm64 build: Windows is marked, arch unsaid.
  CHECK(page_for(*snapshot, "Mozilla/5.0 (Windows NT 10.0; ARM64)") ==
        page_for(*snapshot, "Mozilla/5.0 (Windows NT 10.0)"));

  // A Mac: both Mac downloads marked, and said why.
  for (const auto* ua : { k_mac_chrome, k_mac_safari }) {
    const auto mac = page_for(*snapshot, ua);
    CHECK(
      item_tag(mac, "macOS, Apple silicon (arm64)").starts_with("<li class=\"download picked\""));
    CHECK(item_tag(mac, "macOS, Intel (x86_64)").starts_with("<li class=\"download picked\""));
    CHECK(item_tag(mac, "Windows, x86_64").starts_with("<li class=\"download\""));
    CHECK(contains(mac, "Apple silicon or Intel"));
  }

  // Linux and the rest: nothing is offered for them, nothing marked.
  for (const auto* ua : { k_linux_firefox, k_ipad, k_android, "" }) {
    const auto other = page_for(*snapshot, ua);
    CHECK_FALSE(contains(other, "download picked"));
    CHECK(contains(other, "Pick the download for your computer."));
    CHECK(page.for_visitor(visitor_of(ua)).etag == page.for_visitor(Visitor{}).etag);
  }
  CHECK(page.for_visitor(visitor_of(k_windows_edge)).etag !=
        page.for_visitor(visitor_of(k_mac_safari)).etag);
}

TEST_CASE("page: every catalog string is escaped")
{
  const std::string hostile = R"(default_channel = "stable"
[platforms.windows]
archs = ["x86_64"]
[channels.stable]
[storage]
base_url = "https://downloads.example.com/agent/"
[server]
public_url = "https://get.example.com/'&quot;"
api_prefix = "/v2\"x<y>'"
[auth]
public_channels = ["stable"]
[[releases]]
version = "1.0.0-rc.1+build.7"
channels = ["stable"]
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  url = "https://x.example.com/%3Cscript%3Ealert(1)%3C%2Fscript%3E%22'%3E.msi"
)";
  const auto snapshot = snapshot_of(hostile);
  const auto html = page_for(*snapshot, k_windows_edge);
  CHECK_FALSE(contains(html, "<script>alert"));
  CHECK(contains(html, "<dd>&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&gt;.msi</dd>"));
  // In the shell line the file name is quoted for the shell, then for HTML.
  CHECK(contains(html,
                 "curl -fLo &#39;&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;\\&#39;&#39;"
                 "&gt;.msi&#39;"));
  CHECK(contains(html,
                 "--server &#39;https://get.example.com/&#39;\\&#39;&#39;&amp;quot;/v2&quot;"
                 "x&lt;y&gt;&#39;\\&#39;&#39;&#39;"));
  // In links too: the API's prefix is the operator's text.
  CHECK(contains(html, "href=\"./v2&quot;x&lt;y&gt;&#39;/agent-releases\">the release list</a>"));
  CHECK(contains(html, "Version <strong>1.0.0-rc.1+build.7</strong>"));
  // The only script and style elements are the page's own.
  CHECK(html.find("<script>") == html.rfind("<script>"));
  CHECK(html.find("<style>") == html.rfind("<style>"));
}

TEST_CASE("page: the Content-Security-Policy allows the page's style and script by hash only")
{
  const auto snapshot = snapshot_of(catalog_text());
  const auto& policy = snapshot->page()->content_security_policy();
  const auto hash = [](std::string_view text) {
    return "'sha256-" + agentdl::base64(agentdl::sha256(text)) + "'";
  };
  CHECK(policy == "default-src 'none'; style-src " + hash(agentdl::page::k_style) +
                    "; script-src " + hash(agentdl::page::k_script) +
                    "; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
  const auto html = page_for(*snapshot, "");
  CHECK(contains(html, "<style>" + std::string(agentdl::page::k_style) + "</style>"));
  CHECK(contains(html, "<script>" + std::string(agentdl::page::k_script) + "</script>"));
}

TEST_CASE("page: GET / answers the rendering for the User-Agent, 304 on its ETag")
{
  const auto snapshot = snapshot_of(catalog_text());
  const auto& page = *snapshot->page();
  const auto& windows = page.for_visitor(visitor_of(k_windows_edge));

  const auto r = get(*snapshot, "/", k_windows_edge);
  CHECK(r.status == 200);
  CHECK(r.route == "page");
  CHECK(r.content_type == "text/html; charset=utf-8");
  CHECK(r.content() == *windows.html);
  CHECK(r.shared_body == windows.html); // shared, not copied
  CHECK(r.headers ==
        agentdl::Headers{ { "ETag", windows.etag },
                          { "Cache-Control", "no-cache" },
                          { "Vary", "User-Agent, Accept-Encoding" },
                          { "Content-Security-Policy", page.content_security_policy() },
                          { "X-Content-Type-Options", "nosniff" },
                          { "Referrer-Policy", "same-origin" } });

  SUBCASE("the same ETag: 304, without a body")
  {
    const auto again = get(*snapshot, "/", k_windows_edge, windows.etag);
    CHECK(again.status == 304);
    CHECK(again.content().empty());
    CHECK(again.headers.find("ETag") == windows.etag);
    CHECK(again.headers.find("Vary") == "User-Agent, Accept-Encoding");
    CHECK(again.headers.find("Content-Security-Policy") == page.content_security_policy());
    CHECK(get(*snapshot, "/", k_windows_edge, "W/" + windows.etag).status == 304);
    CHECK(get(*snapshot, "/", k_windows_edge, "\"other\", " + windows.etag).status == 304);
    CHECK(get(*snapshot, "/", k_windows_edge, "*").status == 304);
  }
  SUBCASE("another rendering's ETag: 200")
  {
    const auto& mac = page.for_visitor(visitor_of(k_mac_safari));
    CHECK(get(*snapshot, "/", k_windows_edge, mac.etag).status == 200);
    CHECK(get(*snapshot, "/", k_mac_safari, mac.etag).status == 304);
  }
  SUBCASE("gzip to who takes it, with its own ETag")
  {
    const auto gz = get(*snapshot, "/", k_windows_edge, std::nullopt, "GET", "gzip, deflate, br");
    CHECK(gz.status == 200);
    CHECK(gz.headers.find("Content-Encoding") == "gzip");
    CHECK(gz.headers.find("ETag") == windows.gzip_etag);
    CHECK(windows.gzip_etag == windows.etag.substr(0, windows.etag.size() - 1) + "-gz\"");
    CHECK(gz.shared_body == windows.gzip);
    CHECK(gunzip(*windows.gzip) == *windows.html);
    CHECK(windows.gzip->size() * 3 < windows.html->size());
    CHECK(get(*snapshot, "/", k_windows_edge, windows.gzip_etag, "GET", "gzip").status == 304);
    // Each representation is validated by its own tag.
    CHECK(get(*snapshot, "/", k_windows_edge, windows.etag, "GET", "gzip").status == 200);
    CHECK(get(*snapshot, "/", k_windows_edge, windows.gzip_etag).status == 200);
    CHECK_FALSE(get(*snapshot, "/", k_windows_edge, std::nullopt, "GET", "gzip;q=0")
                  .headers.find("Content-Encoding"));
  }
  SUBCASE("HEAD alike; other methods 405; a query is ignored")
  {
    CHECK(get(*snapshot, "/", k_windows_edge, std::nullopt, "HEAD").status == 200);
    const auto post = get(*snapshot, "/", k_windows_edge, std::nullopt, "POST");
    CHECK(post.status == 405);
    CHECK(post.route == "page");
    CHECK(post.headers.find("Allow") == "GET, HEAD");
    CHECK(get(*snapshot, "/?utm_source=x", k_windows_edge).content() == *windows.html);
  }
  SUBCASE("no token is asked for, and a wrong one does not matter")
  {
    const auto wrong = agentdl::handle(
      *snapshot,
      { .method = "GET", .target = "/", .authorization = "Bearer nope", .user_agent = "" },
      {});
    CHECK(wrong.status == 200);
  }
}

TEST_CASE("page: without a page, / is an unknown route")
{
  const auto closed = snapshot_of(catalog_text("", "[]"));
  CHECK(get(*closed, "/").status == 401); // as any route without a token
  const auto off = snapshot_of(catalog_text("mode = \"none\"", "[]") + "[page]\nenabled = false\n");
  const auto r = get(*off, "/");
  CHECK(r.status == 404);
  CHECK(r.route == "unknown");
}

TEST_CASE("page: gzip round-trips, empty and large")
{
  for (const auto& data : { std::string(), std::string("a"), std::string(300000, 'x') + "end" }) {
    CHECK(gunzip(agentdl::page::gzip(data)) == data);
  }
}

TEST_CASE("page: a Mac with one build offered is not told of two")
{
  const auto snapshot = snapshot_of(R"(default_channel = "stable"
[platforms.macos]
archs = ["arm64", "x86_64"]
[channels.stable]
[storage]
base_url = "https://downloads.example.com/agent/"
[auth]
public_channels = ["stable"]
[[releases]]
version = "2.0.0"
channels = ["stable"]
  [[releases.artifacts]]
  platform = "macos"
  arch = "arm64"
  path = "macos/2.0.0/Agent.pkg"
[[releases]]
version = "1.0.0"
channels = ["stable"]
)");
  const auto html = page_for(*snapshot, k_mac_safari);
  CHECK(contains(html, "Marked for your computer: macOS.</p>"));
  CHECK_FALSE(contains(html, "Apple silicon or Intel"));
  CHECK(
    item_tag(html, "macOS, Apple silicon (arm64)").starts_with("<li class=\"download picked\""));
}

TEST_CASE("page: a current release without artifacts says so")
{
  const auto snapshot = snapshot_of(R"(default_channel = "stable"
[platforms.windows]
archs = ["x86_64"]
[channels.stable]
[storage]
base_url = "https://downloads.example.com/agent/"
[auth]
mode = "none"
[[releases]]
version = "2.0.0"
channels = ["stable"]
)");
  const auto html = page_for(*snapshot, k_windows_edge);
  CHECK(
    contains(html, "Version <strong>2.0.0</strong></p>\n<p>No downloads in this release yet.</p>"));
  CHECK_FALSE(contains(html, "<ul class=\"downloads\">"));
  CHECK(contains(html, "Pick the download for your computer."));
}
