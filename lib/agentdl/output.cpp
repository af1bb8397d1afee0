#include <agentdl/output.hpp>
#include <agentdl/rfc3339.hpp>
#include <agentdl/utf8.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace agentdl {

namespace {

boost::json::value sha256_value(const Artifact& artifact)
{
  return artifact.sha256.empty() ? boost::json::value(nullptr)
                                 : boost::json::value(artifact.sha256);
}

boost::json::value size_value(const Artifact& artifact)
{
  return artifact.size ? boost::json::value(*artifact.size) : boost::json::value(nullptr);
}

bool shown(const Catalog& catalog, const Release& release, std::optional<ChannelId> channel)
{
  return !channel || catalog.in_channel(release, *channel);
}

// Returns the names of the channels whose current release is `index`.
std::vector<std::string> current_in(const Catalog& catalog, std::size_t index)
{
  std::vector<std::string> names;
  for (const auto& c : catalog.channels) {
    if (c.current == index) {
      names.push_back(c.name);
    }
  }
  return names;
}

std::vector<std::string> own_channels(const Catalog& catalog, const Release& release)
{
  std::vector<std::string> names;
  for (const auto c : release.channels) {
    names.push_back(catalog.channels[c].name);
  }
  return names;
}

boost::json::object release_object(const Catalog& catalog, std::size_t index)
{
  const auto& release = catalog.releases[index];
  boost::json::object r;
  r["version"] = release.version.str();
  r["channels"] = boost::json::value_from(own_channels(catalog, release));
  r["current_in"] = boost::json::value_from(current_in(catalog, index));
  r["published_at"] = release.published_at.empty() ? boost::json::value(nullptr)
                                                   : boost::json::value(release.published_at);
  r["yanked"] = release.yanked;
  boost::json::array artifacts;
  for (const auto& artifact : release.artifacts) {
    boost::json::object a;
    a["platform"] = catalog.platforms[artifact.platform].name;
    a["arch"] = catalog.archs[artifact.arch];
    a["url"] = artifact.location;
    a["filename"] = artifact.filename;
    a["sha256"] = sha256_value(artifact);
    a["size"] = size_value(artifact);
    artifacts.push_back(std::move(a));
  }
  r["artifacts"] = std::move(artifacts);
  return r;
}

} // namespace

std::string resolution_json(const Resolution& resolution, const SignedLocation& location)
{
  boost::json::object out;
  out["version"] = resolution.release->version.str();
  out["channel"] =
    resolution.channel ? boost::json::value(resolution.channel->name) : boost::json::value(nullptr);
  out["platform"] = resolution.platform->name;
  out["arch"] = resolution.arch;
  out["url"] = location.url;
  out["filename"] = resolution.artifact->filename;
  out["sha256"] = sha256_value(*resolution.artifact);
  out["size"] = size_value(*resolution.artifact);
  if (location.expires_at) {
    out["expires_at"] = rfc3339(*location.expires_at);
  }
  return boost::json::serialize(out);
}

std::string releases_json(const Catalog& catalog,
                          std::optional<ChannelId> channel,
                          const Scope& scope)
{
  boost::json::array releases;
  for (std::size_t i = 0; i < catalog.releases.size(); ++i) {
    const auto& release = catalog.releases[i];
    if (shown(catalog, release, channel) && scope.may_read(release)) {
      releases.push_back(release_object(catalog, i));
    }
  }
  boost::json::object channels;
  for (std::size_t c = 0; c < catalog.channels.size(); ++c) {
    const auto id = static_cast<ChannelId>(c);
    if (!scope.may_read(id) || (channel && !catalog.channels[*channel].reaches[c])) {
      continue;
    }
    const auto& entry = catalog.channels[c];
    boost::json::array includes;
    for (const auto included : entry.includes) {
      includes.emplace_back(catalog.channels[included].name);
    }
    boost::json::object o;
    o["includes"] = std::move(includes);
    o["current"] = entry.current
                     ? boost::json::value(catalog.releases[*entry.current].version.str())
                     : boost::json::value(nullptr);
    channels[entry.name] = std::move(o);
  }
  boost::json::object platforms;
  for (const auto& platform : catalog.platforms) {
    boost::json::array archs;
    for (const auto arch : platform.archs) {
      archs.emplace_back(catalog.archs[arch]);
    }
    boost::json::object o;
    o["archs"] = std::move(archs);
    o["default_arch"] = platform.default_arch
                          ? boost::json::value(catalog.archs[*platform.default_arch])
                          : boost::json::value(nullptr);
    platforms[platform.name] = std::move(o);
  }
  const auto alias_object = [](const std::vector<std::pair<std::string, std::string>>& aliases) {
    boost::json::object o;
    for (const auto& [alias, name] : aliases) {
      o[alias] = name;
    }
    return o;
  };
  boost::json::object aliases;
  aliases["platform"] = alias_object(catalog.own_platform_aliases);
  aliases["arch"] = alias_object(catalog.own_arch_aliases);

  boost::json::object out;
  out["releases"] = std::move(releases);
  out["channels"] = std::move(channels);
  out["platforms"] = std::move(platforms);
  out["default_channel"] = catalog.default_channel
                             ? boost::json::value(catalog.channels[*catalog.default_channel].name)
                             : boost::json::value(nullptr);
  out["aliases"] = std::move(aliases);
  return boost::json::serialize(out);
}

std::string release_json(const Catalog& catalog, std::size_t index)
{
  return boost::json::serialize(release_object(catalog, index));
}

Expected<std::string> releases_table(std::string_view releases_json)
{
  const auto invalid = [] {
    return fail(Errc::network, "the release list is not the {\"releases\":[...]} object expected");
  };
  boost::system::error_code ec;
  const auto document = boost::json::parse(releases_json, ec);
  const auto* releases =
    document.is_object() ? document.as_object().if_contains("releases") : nullptr;
  if (ec || !releases || !releases->is_array()) {
    return invalid();
  }
  // Joins the strings of `value` (an array) with `separator`, or "-" if none.
  const auto join = [](const boost::json::value* value, std::string_view separator) {
    std::string out;
    if (value && value->is_array()) {
      for (const auto& item : value->as_array()) {
        if (item.is_string()) {
          out += (out.empty() ? "" : std::string(separator)) + std::string(item.as_string());
        }
      }
    }
    return out.empty() ? std::string("-") : out;
  };
  const auto text = [](const boost::json::object& o, std::string_view key) {
    const auto* value = o.if_contains(key);
    return value && value->is_string() ? std::string(value->as_string()) : std::string("-");
  };

  std::vector<std::array<std::string, 5>> rows{
    { "VERSION", "CHANNELS", "STATUS", "PUBLISHED", "ARTIFACTS" }
  };
  for (const auto& item : releases->as_array()) {
    if (!item.is_object()) {
      return invalid();
    }
    const auto& release = item.as_object();
    std::string status = "-";
    if (const auto* yanked = release.if_contains("yanked");
        yanked && yanked->is_bool() && yanked->as_bool()) {
      status = "yanked";
    } else if (auto current = join(release.if_contains("current_in"), ","); current != "-") {
      status = "current: " + current;
    }
    boost::json::array artifacts;
    if (const auto* list = release.if_contains("artifacts"); list && list->is_array()) {
      for (const auto& a : list->as_array()) {
        if (a.is_object()) {
          artifacts.emplace_back(text(a.as_object(), "platform") + "/" +
                                 text(a.as_object(), "arch"));
        }
      }
    }
    const boost::json::value artifact_names(std::move(artifacts));
    rows.push_back({ text(release, "version"),
                     join(release.if_contains("channels"), ","),
                     status,
                     text(release, "published_at"),
                     join(&artifact_names, " ") });
  }
  std::array<std::size_t, 5> widths{};
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      widths[c] = std::max(widths[c], row[c].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    for (std::size_t c = 0; c + 1 < row.size(); ++c) {
      out += fmt::format("{:<{}}  ", row[c], widths[c]);
    }
    out += row.back();
    out += '\n';
  }
  return out;
}

std::string error_json(const Error& error)
{
  // What an error echoes may come from a request: bytes, not text. The body
  // stays valid UTF-8 whatever they are.
  boost::json::object details;
  for (const auto& detail : error.details) {
    if (const auto* s = std::get_if<std::string>(&detail.value)) {
      details[detail.key] = escape_invalid_utf8(*s);
    } else {
      boost::json::array list;
      for (const auto& item : std::get<std::vector<std::string>>(detail.value)) {
        list.emplace_back(escape_invalid_utf8(item));
      }
      details[detail.key] = std::move(list);
    }
  }
  boost::json::object body;
  body["code"] = code_name(error.code);
  body["message"] = escape_invalid_utf8(error.message);
  // Always an object, so that a client can read error.details.X without a check.
  body["details"] = std::move(details);
  boost::json::object out;
  out["error"] = std::move(body);
  return boost::json::serialize(out);
}

} // namespace agentdl
