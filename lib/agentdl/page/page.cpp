#include <agentdl/build_info.hpp>
#include <agentdl/crypto.hpp>
#include <agentdl/page/assets.hpp>
#include <agentdl/page/page.hpp>
#include <agentdl/token.hpp>

#include <boost/beast/zlib/deflate_stream.hpp>
#include <boost/crc.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <stdexcept>

namespace agentdl::page {

namespace {

constexpr std::array<Os, 3> k_oses{ Os::windows, Os::macos, Os::gnu_linux };
constexpr std::array<Arch, 2> k_archs{ Arch::x86_64, Arch::arm64 };

// Returns the visitor's OS that the catalog's platform `name` is for, by the
// catalog's own aliases ("darwin" may be its name for macOS).
Os os_of(const Catalog& catalog, std::string_view name)
{
  for (const auto os : k_oses) {
    if (catalog.canonical_platform(os_name(os)) == name) {
      return os;
    }
  }
  return Os::unknown;
}

Arch arch_of(const Catalog& catalog, std::string_view name)
{
  for (const auto arch : k_archs) {
    if (catalog.canonical_arch(arch_name(arch)) == name) {
      return arch;
    }
  }
  return Arch::unknown;
}

std::string platform_label(Os os, std::string_view name)
{
  switch (os) {
    case Os::windows:
      return "Windows";
    case Os::macos:
      return "macOS";
    case Os::gnu_linux:
      return "Linux";
    case Os::unknown:
      break;
  }
  return std::string(name);
}

std::string arch_label(Os os, Arch arch, std::string_view name)
{
  if (os == Os::macos && arch == Arch::arm64) {
    return fmt::format("Apple silicon ({})", name);
  }
  if (os == Os::macos && arch == Arch::x86_64) {
    return fmt::format("Intel ({})", name);
  }
  return std::string(name);
}

// One download the page offers: an artifact with what the page says of it.
struct Offer
{
  const Artifact* artifact = nullptr;
  Os os = Os::unknown;
  Arch arch = Arch::unknown;
  std::string label; // "macOS, Apple silicon (arm64)"
};

Offer offer_of(const Catalog& catalog, const Artifact& artifact)
{
  const auto& platform = catalog.platforms[artifact.platform].name;
  const auto& arch = catalog.archs[artifact.arch];
  Offer offer{ &artifact, os_of(catalog, platform), arch_of(catalog, arch), {} };
  offer.label = platform_label(offer.os, platform) + ", " + arch_label(offer.os, offer.arch, arch);
  return offer;
}

// Returns the offers of `release`, by platform then arch.
std::vector<Offer> offers_of(const Catalog& catalog, const Release& release)
{
  std::vector<Offer> offers;
  for (const auto& artifact : release.artifacts) {
    offers.push_back(offer_of(catalog, artifact));
  }
  std::sort(offers.begin(), offers.end(), [](const Offer& a, const Offer& b) {
    return std::pair(a.artifact->platform, a.artifact->arch) <
           std::pair(b.artifact->platform, b.artifact->arch);
  });
  return offers;
}

// Returns the channels the page shows: the public ones (every channel with
// auth off), the default channel first, then by name.
std::vector<ChannelId> shown_channels(const Catalog& catalog)
{
  std::vector<ChannelId> ids;
  if (catalog.auth.mode == AuthMode::none) {
    for (std::size_t c = 0; c < catalog.channels.size(); ++c) {
      ids.push_back(static_cast<ChannelId>(c));
    }
  } else {
    ids = catalog.auth.public_channels;
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  if (catalog.default_channel) {
    const auto it = std::find(ids.begin(), ids.end(), *catalog.default_channel);
    if (it != ids.end()) {
      std::rotate(ids.begin(), it, it + 1);
    }
  }
  return ids;
}

// Returns the date of an RFC 3339 time, "2026-10-01".
std::string_view date_of(std::string_view published_at)
{
  return published_at.substr(0, 10);
}

// The HTML of one rendering, written piece by piece.
class Writer
{
public:
  Writer(const Catalog& catalog, std::string& out)
    : m_catalog(catalog)
    , m_out(out)
  {
    auto base = std::string_view(catalog.server.public_url);
    while (base.ends_with('/')) {
      base.remove_suffix(1);
    }
    m_api_base = std::string(base) + catalog.server.api_prefix;
  }

  Writer& raw(std::string_view text)
  {
    m_out += text;
    return *this;
  }
  Writer& text(std::string_view text)
  {
    append_escaped(m_out, text);
    return *this;
  }

  // Writes the link path of the current release of `channel` for `offer`.
  void latest_href(const Channel& channel, const Offer& offer)
  {
    api_path();
    raw("/agent-releases/latest/download?channel=");
    text(channel.name).raw("&amp;");
    query(offer);
  }
  void version_href(const Release& release, const Offer& offer)
  {
    api_path();
    raw("/agent-releases/");
    text(release.version.str()).raw("/download?");
    query(offer);
  }
  const std::string& api_base() const { return m_api_base; }

  // Writes the API's path as a link relative to the page ("./v2"): the page
  // is at the server's root, which a proxy may put under a path of its own.
  void api_path() { raw(".").text(m_catalog.server.api_prefix); }

private:
  void query(const Offer& offer)
  {
    raw("platform=").text(m_catalog.platforms[offer.artifact->platform].name);
    raw("&amp;arch=").text(m_catalog.archs[offer.artifact->arch]);
  }

  const Catalog& m_catalog;
  std::string& m_out;
  std::string m_api_base; // public_url and api_prefix: "https://host/v2"
};

// Tells whether `offer` is marked for `visitor`: its OS, and its arch unless
// the visitor's is unknown (a Mac: both are marked).
bool picked(const Offer& offer, Visitor visitor)
{
  return visitor.os != Os::unknown && offer.os == visitor.os &&
         (visitor.arch == Arch::unknown || offer.arch == visitor.arch);
}

void write_size(Writer& w, const Artifact& artifact)
{
  if (artifact.size) {
    w.text(human_size(*artifact.size));
  } else {
    w.raw("unknown");
  }
}

void write_current(Writer& w,
                   const Catalog& catalog,
                   std::size_t k,
                   const Channel& channel,
                   const Release& release,
                   Visitor visitor)
{
  w.raw("<p class=\"release\">Version <strong>").text(release.version.str()).raw("</strong>");
  if (!release.published_at.empty()) {
    w.raw(", published <time datetime=\"").text(release.published_at).raw("\">");
    w.text(date_of(release.published_at)).raw("</time>");
  }
  w.raw("</p>\n");
  const auto offers = offers_of(catalog, release);
  if (offers.empty()) {
    w.raw("<p>No downloads in this release yet.</p>\n");
    return;
  }
  w.raw("<ul class=\"downloads\">\n");
  for (std::size_t i = 0; i < offers.size(); ++i) {
    const auto& offer = offers[i];
    const auto& artifact = *offer.artifact;
    const auto id = fmt::format("{}-{}", k, i);
    w.raw(picked(offer, visitor) ? "<li class=\"download picked\"" : "<li class=\"download\"");
    if (offer.os != Os::unknown && offer.arch != Arch::unknown) {
      w.raw(" data-os=\"").raw(os_name(offer.os));
      w.raw("\" data-arch=\"").raw(arch_name(offer.arch)).raw("\"");
    }
    w.raw(" data-label=\"").text(offer.label).raw("\">\n<a class=\"button\" href=\"");
    w.latest_href(channel, offer);
    w.raw("\">Download for ").text(offer.label).raw("</a>");
    w.raw("<span class=\"badge\">Your computer</span>\n<dl>\n<dt>File</dt><dd>");
    w.text(artifact.filename).raw("</dd>\n<dt>Size</dt><dd>");
    write_size(w, artifact);
    w.raw("</dd>\n");
    if (!artifact.sha256.empty()) {
      w.raw("<dt>SHA-256</dt><dd><code class=\"hash\" id=\"sha-").raw(id).raw("\">");
      w.text(artifact.sha256).raw("</code>");
      w.raw("<button type=\"button\" class=\"copy\" data-copy=\"sha-").raw(id);
      w.raw("\" aria-label=\"Copy the SHA-256 of ").text(artifact.filename);
      w.raw("\" hidden>Copy</button></dd>\n");
    }
    w.raw("</dl>\n<details>\n<summary>Command line</summary>\n");
    std::string curl = "curl -fLo " + shell_quote(artifact.filename) + " ";
    std::string url = w.api_base() + "/agent-releases/latest/download?channel=" + channel.name +
                      "&platform=" + catalog.platforms[artifact.platform].name +
                      "&arch=" + catalog.archs[artifact.arch];
    curl += shell_quote(url);
    const auto cli =
      fmt::format("agentdl download --server {} --channel {} --platform {} --arch {}",
                  shell_quote(w.api_base()),
                  channel.name,
                  catalog.platforms[artifact.platform].name,
                  catalog.archs[artifact.arch]);
    for (const auto& [kind, line, what] :
         { std::tuple<std::string_view, std::string_view, std::string_view>{
             "curl", curl, "Copy the curl command" },
           { "cli", cli, "Copy the agentdl command" } }) {
      w.raw("<pre><code id=\"").raw(kind).raw("-").raw(id).raw("\">").text(line);
      w.raw("</code></pre><button type=\"button\" class=\"copy\" data-copy=\"").raw(kind);
      w.raw("-").raw(id).raw("\" aria-label=\"").raw(what).raw("\" hidden>Copy</button>\n");
    }
    w.raw("</details>\n</li>\n");
  }
  w.raw("</ul>\n");
}

void write_older(Writer& w,
                 const Catalog& catalog,
                 ChannelId id,
                 const Channel& channel,
                 std::size_t current)
{
  std::vector<std::size_t> older; // releases are newest first
  std::size_t more = 0;
  for (std::size_t r = current + 1; r < catalog.releases.size(); ++r) {
    const auto& release = catalog.releases[r];
    if (release.yanked || !catalog.in_channel(release, id)) {
      continue;
    }
    if (older.size() < DownloadsPage::k_older_limit) {
      older.push_back(r);
    } else {
      ++more;
    }
  }
  if (older.empty()) {
    return;
  }
  w.raw("<details class=\"older\">\n<summary>Older releases (");
  w.raw(fmt::format("{}", older.size() + more)).raw(")</summary>\n<div class=\"scroll\"><table>\n");
  w.raw("<caption class=\"visually-hidden\">Older releases of the ").text(channel.name);
  w.raw(" channel</caption>\n<thead><tr><th scope=\"col\">Version</th>");
  w.raw("<th scope=\"col\">Published</th><th scope=\"col\">Download</th>");
  w.raw("<th scope=\"col\">Size</th><th scope=\"col\">SHA-256</th></tr></thead>\n<tbody>\n");
  for (const auto r : older) {
    const auto& release = catalog.releases[r];
    for (const auto& offer : offers_of(catalog, release)) {
      w.raw("<tr><td>").text(release.version.str()).raw("</td><td>");
      if (!release.published_at.empty()) {
        w.raw("<time datetime=\"").text(release.published_at).raw("\">");
        w.text(date_of(release.published_at)).raw("</time>");
      }
      w.raw("</td><td><a href=\"");
      w.version_href(release, offer);
      w.raw("\">").text(offer.label).raw("<span class=\"visually-hidden\"> ");
      w.text(release.version.str()).raw("</span></a><br>").text(offer.artifact->filename);
      w.raw("</td><td>");
      write_size(w, *offer.artifact);
      w.raw("</td><td class=\"hash\"><code>").text(offer.artifact->sha256);
      w.raw("</code></td></tr>\n");
    }
  }
  w.raw("</tbody></table></div>\n");
  if (more > 0) {
    w.raw("<p>").raw(fmt::format("{}", more)).raw(" more in <a href=\"");
    w.api_path();
    w.raw("/agent-releases?channel=").text(channel.name);
    w.raw("\">the release list</a> (JSON).</p>\n");
  }
  w.raw("</details>\n");
}

// Returns what the page says of the visitor's computer; `offered`: what the
// public channels offer now.
std::string detected_note(const Catalog& catalog,
                          Visitor visitor,
                          const std::vector<Visitor>& offered)
{
  if (visitor.os == Os::unknown) {
    return "Pick the download for your computer.";
  }
  const auto offers = [&](Arch arch) {
    return std::find(offered.begin(), offered.end(), Visitor{ visitor.os, arch }) != offered.end();
  };
  if (visitor.os == Os::macos && visitor.arch == Arch::unknown && offers(Arch::arm64) &&
      offers(Arch::x86_64)) {
    return "Your computer looks like a Mac. Macs have Apple silicon or Intel processors, so "
           "both downloads are marked: About This Mac, in the Apple menu, says which one yours "
           "has.";
  }
  const auto platform = catalog.canonical_platform(os_name(visitor.os));
  const auto os_label = platform_label(visitor.os, platform);
  if (visitor.arch == Arch::unknown) {
    // Several archs offered for this OS: several builds are marked.
    const auto first =
      std::find_if(offered.begin(), offered.end(), [&](Visitor o) { return o.os == visitor.os; });
    const bool several = std::any_of(offered.begin(), offered.end(), [&](Visitor o) {
      return o.os == visitor.os && o.arch != first->arch;
    });
    return several ? fmt::format("Marked for your computer: {}. Pick the one for its processor.",
                                 os_label)
                   : fmt::format("Marked for your computer: {}.", os_label);
  }
  const auto arch = catalog.canonical_arch(arch_name(visitor.arch));
  return fmt::format(
    "Marked for your computer: {}, {}.", os_label, arch_label(visitor.os, visitor.arch, arch));
}

std::string render_html(const Catalog& catalog,
                        const std::vector<ChannelId>& channels,
                        Visitor visitor,
                        const std::vector<Visitor>& offered)
{
  std::string out;
  Writer w(catalog, out);
  w.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
  w.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
  w.raw("<meta name=\"color-scheme\" content=\"light dark\">\n");
  w.raw("<title>Downloads</title>\n<link rel=\"icon\" href=\"data:,\">\n");
  w.raw("<style>").raw(k_style).raw("</style>\n</head>\n<body>\n<header>\n<h1>Downloads</h1>\n");
  w.raw("<p id=\"detected\" class=\"note\">").text(detected_note(catalog, visitor, offered));
  w.raw("</p>\n</header>\n<main>\n");
  for (std::size_t k = 0; k < channels.size(); ++k) {
    const auto id = channels[k];
    const auto& channel = catalog.channels[id];
    w.raw("<section class=\"channel\" aria-labelledby=\"channel-").raw(fmt::format("{}", k));
    w.raw("\">\n<h2 id=\"channel-").raw(fmt::format("{}", k)).raw("\">Channel ");
    w.text(channel.name).raw("</h2>\n");
    if (!channel.current) {
      w.raw("<p class=\"release\">No release in this channel yet.</p>\n</section>\n");
      continue;
    }
    write_current(w, catalog, k, channel, catalog.releases[*channel.current], visitor);
    write_older(w, catalog, id, channel, *channel.current);
    w.raw("</section>\n");
  }
  w.raw("</main>\n<footer>\n<p>For scripts and tools: <a href=\"");
  w.api_path();
  w.raw("/agent-releases\">the release list</a> (JSON). ");
  w.raw("Served by agentdl ").text(program_version()).raw(".</p>\n</footer>\n");
  w.raw("<p id=\"copy-status\" class=\"visually-hidden\" role=\"status\"></p>\n");
  w.raw("<script>").raw(k_script).raw("</script>\n</body>\n</html>\n");
  return out;
}

std::string hash_source(std::string_view text)
{
  const auto digest = sha256(text);
  return "'sha256-" + base64(digest) + "'";
}

} // namespace

std::unique_ptr<const DownloadsPage> DownloadsPage::render(const Catalog& catalog)
{
  const auto channels = shown_channels(catalog);
  if (!catalog.page.enabled || channels.empty()) {
    return nullptr;
  }
  // What the public channels offer now: a visitor is told apart only when
  // there is something to mark for it.
  std::vector<Visitor> offered;
  for (const auto id : channels) {
    if (const auto current = catalog.channels[id].current) {
      for (const auto& artifact : catalog.releases[*current].artifacts) {
        const auto offer = offer_of(catalog, artifact);
        offered.push_back({ offer.os, offer.arch });
      }
    }
  }
  const auto offers = [&](Visitor v) {
    return std::any_of(offered.begin(), offered.end(), [&](Visitor o) {
      return o.os == v.os && (v.arch == Arch::unknown || o.arch == v.arch);
    });
  };

  std::unique_ptr<DownloadsPage> page(new DownloadsPage);
  std::vector<Visitor> rendered;
  for (std::size_t os = 0; os < page->m_choice.size(); ++os) {
    for (std::size_t arch = 0; arch < page->m_choice[os].size(); ++arch) {
      Visitor visitor{ static_cast<Os>(os), static_cast<Arch>(arch) };
      if (visitor.os == Os::macos) {
        visitor.arch = Arch::unknown; // visitor_of() never tells a Mac's arch
      }
      if (visitor.os == Os::unknown || !offers({ visitor.os, Arch::unknown })) {
        visitor = {};
      } else if (!offers(visitor)) {
        visitor.arch = Arch::unknown;
      }
      auto it = std::find(rendered.begin(), rendered.end(), visitor);
      if (it == rendered.end()) {
        rendered.push_back(visitor);
        it = rendered.end() - 1;
      }
      page->m_choice[os][arch] = static_cast<std::size_t>(it - rendered.begin());
    }
  }
  for (const auto visitor : rendered) {
    auto html =
      std::make_shared<const std::string>(render_html(catalog, channels, visitor, offered));
    const auto digest = sha256(*html);
    const auto tag = "p-" + base64url(std::span(digest).first(15));
    auto compressed = std::make_shared<const std::string>(gzip(*html));
    page->m_renderings.push_back(
      { std::move(html), "\"" + tag + "\"", std::move(compressed), "\"" + tag + "-gz\"" });
  }
  page->m_policy = fmt::format("default-src 'none'; style-src {}; script-src {}; img-src data:; "
                               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                               hash_source(k_style),
                               hash_source(k_script));
  return page;
}

const Rendering& DownloadsPage::for_visitor(Visitor visitor) const
{
  return m_renderings[m_choice[static_cast<std::size_t>(visitor.os)]
                              [static_cast<std::size_t>(visitor.arch)]];
}

std::string human_size(std::uint64_t bytes)
{
  if (bytes < 1024) {
    return fmt::format("{} bytes", bytes);
  }
  static constexpr std::array<std::string_view, 5> k_units{ "KiB", "MiB", "GiB", "TiB", "PiB" };
  auto value = static_cast<double>(bytes) / 1024;
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < k_units.size()) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, k_units[unit]);
}

void append_escaped(std::string& out, std::string_view text)
{
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
}

std::string gzip(std::string_view data)
{
  namespace zlib = boost::beast::zlib;
  // RFC 1952: a 10-byte header (no name, no time, "best compression", Unix),
  // the raw deflate stream, then the CRC-32 and the size, little-endian.
  std::string out("\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03", 10);
  zlib::deflate_stream stream;
  stream.reset(9, 15, 9, zlib::Strategy::normal);
  const auto header = out.size();
  out.resize(header + stream.upper_bound(data.size()));
  zlib::z_params params;
  params.next_in = data.data();
  params.avail_in = data.size();
  params.next_out = out.data() + header;
  params.avail_out = out.size() - header;
  boost::system::error_code ec;
  stream.write(params, zlib::Flush::finish, ec);
  if (ec != zlib::error::end_of_stream) {
    // upper_bound() room always suffices; this would be a bug.
    throw std::logic_error("gzip: deflate did not finish: " + ec.message());
  }
  out.resize(header + params.total_out);
  boost::crc_32_type crc;
  crc.process_bytes(data.data(), data.size());
  for (const auto word :
       { static_cast<std::uint32_t>(crc.checksum()), static_cast<std::uint32_t>(data.size()) }) {
    for (int shift = 0; shift < 32; shift += 8) {
      out += static_cast<char>((word >> shift) & 0xff);
    }
  }
  return out;
}

std::string shell_quote(std::string_view text)
{
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

} // namespace agentdl::page
