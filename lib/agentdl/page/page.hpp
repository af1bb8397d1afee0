// The downloads page at `/` (CONTRACT section 4): rendered from a catalog
// once, for each kind of visitor the server can tell apart, and served as it
// is until the next catalog.
#pragma once

#include <agentdl/catalog.hpp>
#include <agentdl/page/visitor.hpp>

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace agentdl::page {

// One rendering of the page: its HTML, and the same compressed with gzip,
// each with its entity tag.
struct Rendering
{
  std::shared_ptr<const std::string> html;
  std::string etag; // strong, quoted: "\"p-...\""
  std::shared_ptr<const std::string> gzip;
  std::string gzip_etag; // etag with "-gz" before its closing quote
};

// The downloads page of one catalog. Immutable, so thread-safe.
class DownloadsPage
{
public:
  // Renders the page of `catalog`, once per visitor it can pick a download
  // for and once for everyone else; nullptr when [page] enabled is false or
  // no channel is public.
  static std::unique_ptr<const DownloadsPage> render(const Catalog& catalog);

  // Returns the rendering for `visitor`.
  const Rendering& for_visitor(Visitor visitor) const;

  // Returns every rendering: the one for everyone else first.
  const std::vector<Rendering>& renderings() const { return m_renderings; }

  // Returns the Content-Security-Policy of every rendering: nothing from
  // outside the page, its one style sheet and its one script by hash.
  const std::string& content_security_policy() const { return m_policy; }

  // Older releases listed per channel, at most; the rest is in the API.
  static constexpr std::size_t k_older_limit = 30;

private:
  DownloadsPage() = default;

  std::vector<Rendering> m_renderings;
  // m_choice[os][arch]: index into m_renderings.
  std::array<std::array<std::size_t, 3>, 4> m_choice{};
  static_assert(static_cast<std::size_t>(Os::gnu_linux) + 1 == 4 &&
                static_cast<std::size_t>(Arch::arm64) + 1 == 3);
  std::string m_policy;
};

// Returns `bytes` in human units: "512 bytes", "1.5 KiB", "46.0 MiB".
std::string human_size(std::uint64_t bytes);

// Appends `text` to `out` with &, <, >, " and ' escaped for HTML text and
// quoted attribute values.
void append_escaped(std::string& out, std::string_view text);

// Returns `data` compressed in the gzip format (RFC 1952), at the highest
// level: the page is compressed once per catalog, and sent many times.
std::string gzip(std::string_view data);

// Returns `text` quoted for a POSIX shell: 'text', each ' as '\''.
std::string shell_quote(std::string_view text);

} // namespace agentdl::page
