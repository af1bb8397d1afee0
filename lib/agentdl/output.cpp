#include <agentdl/output.hpp>

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

std::string resolution_json(const Resolution& resolution)
{
  boost::json::object out;
  out["version"] = resolution.release->version.str();
  out["channel"] =
    resolution.channel ? boost::json::value(resolution.channel->name) : boost::json::value(nullptr);
  out["platform"] = resolution.platform->name;
  out["arch"] = resolution.arch;
  out["url"] = resolution.artifact->location;
  out["filename"] = resolution.artifact->filename;
  out["sha256"] = sha256_value(*resolution.artifact);
  out["size"] = size_value(*resolution.artifact);
  return boost::json::serialize(out);
}

std::string releases_json(const Catalog& catalog,
                          std::optional<ChannelId> channel,
                          const ReleaseFilter& visible)
{
  boost::json::array releases;
  for (std::size_t i = 0; i < catalog.releases.size(); ++i) {
    const auto& release = catalog.releases[i];
    if (shown(catalog, release, channel) && (!visible || visible(release))) {
      releases.push_back(release_object(catalog, i));
    }
  }
  boost::json::object out;
  out["releases"] = std::move(releases);
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
  boost::json::object details;
  for (const auto& detail : error.details) {
    if (const auto* s = std::get_if<std::string>(&detail.value)) {
      details[detail.key] = *s;
    } else {
      details[detail.key] =
        boost::json::value_from(std::get<std::vector<std::string>>(detail.value));
    }
  }
  boost::json::object body;
  body["code"] = code_name(error.code);
  body["message"] = error.message;
  if (!details.empty()) {
    body["details"] = std::move(details);
  }
  boost::json::object out;
  out["error"] = std::move(body);
  return boost::json::serialize(out);
}

} // namespace agentdl
