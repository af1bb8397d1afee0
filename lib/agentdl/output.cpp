#include <agentdl/output.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
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

std::string releases_table(const Catalog& catalog, std::optional<ChannelId> channel)
{
  std::vector<std::array<std::string, 5>> rows{
    { "VERSION", "CHANNELS", "STATUS", "PUBLISHED", "ARTIFACTS" }
  };
  for (std::size_t i = 0; i < catalog.releases.size(); ++i) {
    const auto& release = catalog.releases[i];
    if (!shown(catalog, release, channel)) {
      continue;
    }
    std::string status = "-";
    if (release.yanked) {
      status = "yanked";
    } else if (auto names = current_in(catalog, i); !names.empty()) {
      status = fmt::format("current: {}", fmt::join(names, ","));
    }
    std::vector<std::string> artifacts;
    for (const auto& artifact : release.artifacts) {
      artifacts.push_back(fmt::format(
        "{}/{}", catalog.platforms[artifact.platform].name, catalog.archs[artifact.arch]));
    }
    auto channels = own_channels(catalog, release);
    rows.push_back({ release.version.str(),
                     channels.empty() ? "-" : fmt::format("{}", fmt::join(channels, ",")),
                     status,
                     release.published_at.empty() ? "-" : release.published_at,
                     artifacts.empty() ? "-" : fmt::format("{}", fmt::join(artifacts, " ")) });
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
