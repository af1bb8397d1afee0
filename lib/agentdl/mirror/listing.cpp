#include <agentdl/mirror/listing.hpp>
#include <agentdl/rfc3339.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace agentdl::mirror {

namespace {

// A malformed list: says where (a JSON path) and what was expected there.
struct Malformed
{
  std::string where;
  std::string expected;
};

// Reads the server's JSON, throwing Malformed at the first surprise; the
// public function turns it into one Error.
class Reader
{
public:
  static const boost::json::object& object(const boost::json::value& v, const std::string& where)
  {
    if (!v.is_object()) {
      throw Malformed{ where, "an object" };
    }
    return v.as_object();
  }

  static const boost::json::array& array(const boost::json::value& v, const std::string& where)
  {
    if (!v.is_array()) {
      throw Malformed{ where, "an array" };
    }
    return v.as_array();
  }

  static std::string string(const boost::json::value& v, const std::string& where)
  {
    if (!v.is_string()) {
      throw Malformed{ where, "a string" };
    }
    return std::string(v.as_string());
  }

  static std::optional<std::string> optional_string(const boost::json::value& v,
                                                    const std::string& where)
  {
    return v.is_null() ? std::nullopt : std::optional(string(v, where));
  }

  static std::vector<std::string> strings(const boost::json::value& v, const std::string& where)
  {
    std::vector<std::string> out;
    const auto& list = array(v, where);
    for (std::size_t i = 0; i < list.size(); ++i) {
      out.push_back(string(list[i], fmt::format("{}[{}]", where, i)));
    }
    return out;
  }

  // Returns member `key` of `o`; a missing one reads as null.
  static const boost::json::value& member(const boost::json::object& o, std::string_view key)
  {
    static const boost::json::value k_null;
    const auto* found = o.if_contains(key);
    return found ? *found : k_null;
  }
};

std::vector<std::pair<std::string, std::string>> read_aliases(const boost::json::value& v,
                                                              const std::string& where)
{
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [alias, name] : Reader::object(v, where)) {
    out.emplace_back(std::string(alias), Reader::string(name, where + "." + std::string(alias)));
  }
  std::sort(out.begin(), out.end());
  return out;
}

ListedArtifact read_artifact(const boost::json::value& v, const std::string& where)
{
  const auto& o = Reader::object(v, where);
  ListedArtifact artifact;
  artifact.platform = Reader::string(Reader::member(o, "platform"), where + ".platform");
  artifact.arch = Reader::string(Reader::member(o, "arch"), where + ".arch");
  artifact.filename = Reader::string(Reader::member(o, "filename"), where + ".filename");
  const auto sha256 = Reader::optional_string(Reader::member(o, "sha256"), where + ".sha256");
  if (sha256) {
    if (!is_hex_digest(*sha256)) {
      throw Malformed{ where + ".sha256", "64 hexadecimal digits or null" };
    }
    artifact.sha256 = lowercase(*sha256);
  }
  if (const auto& size = Reader::member(o, "size"); !size.is_null()) {
    if (!size.is_uint64() && !(size.is_int64() && size.as_int64() >= 0)) {
      throw Malformed{ where + ".size", "a number of bytes or null" };
    }
    artifact.size = size.to_number<std::uint64_t>();
  }
  return artifact;
}

ListedRelease read_release(const boost::json::value& v, const std::string& where)
{
  const auto& o = Reader::object(v, where);
  const auto text = Reader::string(Reader::member(o, "version"), where + ".version");
  auto version = Version::parse(text);
  if (!version) {
    throw Malformed{ where + ".version", "a version, not \"" + text + "\"" };
  }
  ListedRelease release{ .version = std::move(*version),
                         .channels =
                           Reader::strings(Reader::member(o, "channels"), where + ".channels"),
                         .published_at = {},
                         .yanked = false,
                         .artifacts = {} };
  const auto published =
    Reader::optional_string(Reader::member(o, "published_at"), where + ".published_at");
  if (published) {
    // Written into the mirror's catalog as a TOML date-time, not a string.
    const bool plain = std::all_of(published->begin(), published->end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '-' || c == '+' ||
             c == '.';
    });
    if (!plain || !parse_rfc3339(*published)) {
      throw Malformed{ where + ".published_at", "an RFC 3339 time or null" };
    }
    release.published_at = *published;
  }
  const auto& yanked = Reader::member(o, "yanked");
  if (!yanked.is_bool()) {
    throw Malformed{ where + ".yanked", "true or false" };
  }
  release.yanked = yanked.as_bool();
  const auto& artifacts = Reader::array(Reader::member(o, "artifacts"), where + ".artifacts");
  for (std::size_t i = 0; i < artifacts.size(); ++i) {
    release.artifacts.push_back(
      read_artifact(artifacts[i], fmt::format("{}.artifacts[{}]", where, i)));
  }
  return release;
}

// Checks what the parts of a listing say of each other: names that name
// something, and channels' current releases that exist.
void check_references(const Listing& listing)
{
  const auto has_channel = [&](const std::string& name) {
    return listing.find_channel(name) != nullptr;
  };
  for (const auto& channel : listing.channels) {
    for (const auto& included : channel.includes) {
      if (!has_channel(included)) {
        throw Malformed{ "channels." + channel.name + ".includes",
                         "channels of the list, not \"" + included + "\"" };
      }
    }
    if (channel.current) {
      const auto version = Version::parse(*channel.current);
      const bool listed =
        version && std::any_of(listing.releases.begin(),
                               listing.releases.end(),
                               [&](const auto& r) { return r.version == *version; });
      if (!listed) {
        throw Malformed{ "channels." + channel.name + ".current",
                         "a release of the list, not \"" + *channel.current + "\"" };
      }
    }
  }
  if (listing.default_channel && !has_channel(*listing.default_channel)) {
    throw Malformed{ "default_channel", "a channel of the list or null" };
  }
  for (std::size_t r = 0; r < listing.releases.size(); ++r) {
    const auto& release = listing.releases[r];
    for (std::size_t a = 0; a < release.artifacts.size(); ++a) {
      const auto& artifact = release.artifacts[a];
      const auto where = fmt::format("releases[{}].artifacts[{}]", r, a);
      const auto platform =
        std::find_if(listing.platforms.begin(), listing.platforms.end(), [&](const auto& p) {
          return p.name == artifact.platform;
        });
      if (platform == listing.platforms.end()) {
        throw Malformed{ where + ".platform", "a platform of the list" };
      }
      if (std::find(platform->archs.begin(), platform->archs.end(), artifact.arch) ==
          platform->archs.end()) {
        throw Malformed{ where + ".arch", "an arch of platform " + platform->name };
      }
    }
  }
}

} // namespace

const ListedChannel* Listing::find_channel(std::string_view name) const
{
  const auto found =
    std::find_if(channels.begin(), channels.end(), [&](const auto& c) { return c.name == name; });
  return found == channels.end() ? nullptr : &*found;
}

std::vector<std::string> Listing::reach(std::string_view name) const
{
  std::vector<std::string> out;
  std::vector<std::string> stack{ std::string(name) };
  while (!stack.empty()) {
    auto at = std::move(stack.back());
    stack.pop_back();
    if (std::find(out.begin(), out.end(), at) != out.end()) {
      continue;
    }
    if (const auto* channel = find_channel(at)) {
      stack.insert(stack.end(), channel->includes.begin(), channel->includes.end());
    }
    out.push_back(std::move(at));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Listing listing_of(const Catalog& catalog)
{
  Listing listing;
  for (const auto& platform : catalog.platforms) {
    ListedPlatform& out = listing.platforms.emplace_back();
    out.name = platform.name;
    for (const auto arch : platform.archs) {
      out.archs.push_back(catalog.archs[arch]);
    }
    if (platform.default_arch) {
      out.default_arch = catalog.archs[*platform.default_arch];
    }
  }
  listing.platform_aliases = catalog.own_platform_aliases;
  listing.arch_aliases = catalog.own_arch_aliases;
  for (const auto& channel : catalog.channels) {
    ListedChannel& out = listing.channels.emplace_back();
    out.name = channel.name;
    for (const auto included : channel.includes) {
      out.includes.push_back(catalog.channels[included].name);
    }
    if (channel.current) {
      out.current = catalog.releases[*channel.current].version.str();
    }
  }
  if (catalog.default_channel) {
    listing.default_channel = catalog.channels[*catalog.default_channel].name;
  }
  for (const auto& release : catalog.releases) {
    ListedRelease& out = listing.releases.emplace_back();
    out.version = release.version;
    for (const auto channel : release.channels) {
      out.channels.push_back(catalog.channels[channel].name);
    }
    out.published_at = release.published_at;
    out.yanked = release.yanked;
    for (const auto& artifact : release.artifacts) {
      out.artifacts.push_back(ListedArtifact{ .platform = catalog.platforms[artifact.platform].name,
                                              .arch = catalog.archs[artifact.arch],
                                              .filename = artifact.filename,
                                              .sha256 = artifact.sha256,
                                              .size = artifact.size,
                                              .path = {} });
    }
  }
  return listing;
}

Expected<Listing> parse_listing(std::string_view json)
{
  boost::system::error_code ec;
  const auto document = boost::json::parse(json, ec);
  if (ec) {
    return fail(Errc::network, "the server's release list is not JSON");
  }
  Listing listing;
  try {
    const auto& root = Reader::object(document, "its top level");
    for (const auto& [name, value] :
         Reader::object(Reader::member(root, "platforms"), "platforms")) {
      const auto where = "platforms." + std::string(name);
      const auto& o = Reader::object(value, where);
      listing.platforms.push_back(
        ListedPlatform{ .name = std::string(name),
                        .archs = Reader::strings(Reader::member(o, "archs"), where + ".archs"),
                        .default_arch = Reader::optional_string(Reader::member(o, "default_arch"),
                                                                where + ".default_arch") });
    }
    std::sort(listing.platforms.begin(), listing.platforms.end(), [](auto& a, auto& b) {
      return a.name < b.name;
    });
    const auto& aliases = Reader::object(Reader::member(root, "aliases"), "aliases");
    listing.platform_aliases =
      read_aliases(Reader::member(aliases, "platform"), "aliases.platform");
    listing.arch_aliases = read_aliases(Reader::member(aliases, "arch"), "aliases.arch");
    for (const auto& [name, value] : Reader::object(Reader::member(root, "channels"), "channels")) {
      const auto where = "channels." + std::string(name);
      const auto& o = Reader::object(value, where);
      listing.channels.push_back(ListedChannel{
        .name = std::string(name),
        .includes = Reader::strings(Reader::member(o, "includes"), where + ".includes"),
        .current = Reader::optional_string(Reader::member(o, "current"), where + ".current"),
        .pinned = false });
    }
    std::sort(listing.channels.begin(), listing.channels.end(), [](auto& a, auto& b) {
      return a.name < b.name;
    });
    listing.default_channel =
      Reader::optional_string(Reader::member(root, "default_channel"), "default_channel");
    const auto& releases = Reader::array(Reader::member(root, "releases"), "releases");
    for (std::size_t i = 0; i < releases.size(); ++i) {
      auto release = read_release(releases[i], fmt::format("releases[{}]", i));
      // A channel the caller may not see is not in the list: not the mirror's.
      std::erase_if(release.channels,
                    [&](const std::string& c) { return listing.find_channel(c) == nullptr; });
      listing.releases.push_back(std::move(release));
    }
    check_references(listing);
  } catch (const Malformed& m) {
    return fail(
      Errc::network,
      fmt::format("the server's release list is not what agentdl expects: {} should be {}",
                  m.where,
                  m.expected));
  }
  return listing;
}

} // namespace agentdl::mirror
