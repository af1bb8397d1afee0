#include <agentdl/resolver.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace agentdl {

namespace {

std::vector<std::string> platform_names(const Catalog& catalog)
{
  std::vector<std::string> names;
  for (const auto& p : catalog.platforms) {
    names.push_back(p.name);
  }
  return names;
}

std::vector<std::string> arch_names(const Catalog& catalog, const Platform& platform)
{
  std::vector<std::string> names;
  for (const auto a : platform.archs) {
    names.push_back(catalog.archs[a]);
  }
  return names;
}

std::vector<std::string> channel_names(const Catalog& catalog)
{
  std::vector<std::string> names;
  for (const auto& c : catalog.channels) {
    names.push_back(c.name);
  }
  return names;
}

std::unexpected<Error> bad_parameter(std::string message,
                                     std::string_view parameter,
                                     std::optional<std::string_view> value,
                                     std::vector<std::string> allowed)
{
  if (!allowed.empty()) {
    message += fmt::format(" (allowed: {})", fmt::join(allowed, ", "));
  }
  std::vector<Detail> details{ { "parameter", std::string(parameter) } };
  if (value) {
    details.push_back({ "value", std::string(*value) });
  }
  if (!allowed.empty()) {
    details.push_back({ "allowed", std::move(allowed) });
  }
  return fail(Errc::bad_request, std::move(message), std::move(details));
}

} // namespace

Expected<const Channel*> find_channel(const Catalog& catalog, std::optional<std::string_view> name);

namespace {

// The parameters after validation: which platform, arch and channel.
struct Target
{
  const Platform* platform = nullptr;
  ArchId arch = 0;
  const Channel* channel = nullptr; // nullptr for a versioned query
  std::optional<Version> version;
};

Expected<Target> check_parameters(const Catalog& catalog, const Query& query)
{
  Target target;
  if (!query.platform || query.platform->empty()) {
    return bad_parameter(query.platform ? "empty parameter \"platform\""
                                        : "missing parameter \"platform\"",
                         "platform",
                         query.platform,
                         platform_names(catalog));
  }
  const auto platform_id = catalog.find_platform(catalog.canonical_platform(*query.platform));
  if (!platform_id) {
    return bad_parameter(fmt::format("unknown platform \"{}\"", *query.platform),
                         "platform",
                         query.platform,
                         platform_names(catalog));
  }
  target.platform = &catalog.platforms[*platform_id];

  if (!query.arch) {
    if (!target.platform->default_arch) {
      return bad_parameter(
        fmt::format("missing parameter \"arch\", required for platform {}", target.platform->name),
        "arch",
        std::nullopt,
        arch_names(catalog, *target.platform));
    }
    target.arch = *target.platform->default_arch;
  } else {
    const auto arch_id = catalog.find_arch(catalog.canonical_arch(*query.arch));
    const auto& archs = target.platform->archs;
    if (!arch_id || std::find(archs.begin(), archs.end(), *arch_id) == archs.end()) {
      return bad_parameter(query.arch->empty()
                             ? std::string("empty parameter \"arch\"")
                             : fmt::format("arch \"{}\" is not available for platform {}",
                                           *query.arch,
                                           target.platform->name),
                           "arch",
                           query.arch,
                           arch_names(catalog, *target.platform));
    }
    target.arch = *arch_id;
  }

  if (query.version) {
    auto version = Version::parse(*query.version);
    if (!version) {
      return bad_parameter(
        fmt::format("invalid version \"{}\": {}", *query.version, version.error()),
        "version",
        query.version,
        {});
    }
    target.version = std::move(*version);
    return target;
  }

  target.channel = AGENTDL_TRY(find_channel(catalog, query.channel));
  return target;
}

std::vector<Detail> not_found_details(const Catalog& catalog,
                                      const Target& target,
                                      std::string_view version)
{
  std::vector<Detail> details;
  if (target.channel) {
    details.push_back({ "channel", target.channel->name });
  }
  if (!version.empty()) {
    details.push_back({ "version", std::string(version) });
  }
  details.push_back({ "platform", target.platform->name });
  details.push_back({ "arch", catalog.archs[target.arch] });
  return details;
}

} // namespace

Expected<const Channel*> find_channel(const Catalog& catalog, std::optional<std::string_view> name)
{
  if (!name) {
    if (!catalog.default_channel) {
      return bad_parameter("missing parameter \"channel\" (the catalog has no default channel)",
                           "channel",
                           std::nullopt,
                           channel_names(catalog));
    }
    return &catalog.channels[*catalog.default_channel];
  }
  const auto id = catalog.find_channel(lowercase(*name));
  if (!id) {
    return bad_parameter(name->empty() ? std::string("empty parameter \"channel\"")
                                       : fmt::format("unknown channel \"{}\"", *name),
                         "channel",
                         name,
                         channel_names(catalog));
  }
  return &catalog.channels[*id];
}

Expected<Resolution> resolve(const Catalog& catalog, const Query& query)
{
  const auto target = AGENTDL_TRY(check_parameters(catalog, query));
  const auto& arch = catalog.archs[target.arch];

  const Release* release = nullptr;
  if (target.channel) {
    if (!target.channel->current) {
      // Tell "all yanked" from "empty": the first is an operator's doing to undo.
      const bool any =
        std::any_of(catalog.releases.begin(), catalog.releases.end(), [&](const Release& r) {
          return catalog.in_channel(
            r, static_cast<ChannelId>(target.channel - catalog.channels.data()));
        });
      return fail(Errc::not_found,
                  any
                    ? fmt::format("every release of channel \"{}\" is yanked", target.channel->name)
                    : fmt::format("channel \"{}\" has no release", target.channel->name),
                  not_found_details(catalog, target, {}));
    }
    release = &catalog.releases[*target.channel->current];
  } else {
    const auto index = catalog.find_release(*target.version);
    if (!index) {
      return fail(Errc::not_found,
                  fmt::format("no release {}", target.version->str()),
                  not_found_details(catalog, target, target.version->str()));
    }
    release = &catalog.releases[*index];
    if (release->yanked) {
      return fail(Errc::not_found,
                  fmt::format("release {} is yanked", release->version.str()),
                  not_found_details(catalog, target, release->version.str()));
    }
  }

  const auto* artifact = release->find_artifact(
    static_cast<PlatformId>(target.platform - catalog.platforms.data()), target.arch);
  if (!artifact) {
    return fail(
      Errc::not_found,
      target.channel
        ? fmt::format("no artifact for {}/{} in release {} (current release of channel \"{}\")",
                      target.platform->name,
                      arch,
                      release->version.str(),
                      target.channel->name)
        : fmt::format("no artifact for {}/{} in release {}",
                      target.platform->name,
                      arch,
                      release->version.str()),
      not_found_details(catalog, target, release->version.str()));
  }
  return Resolution{ release, artifact, target.channel, target.platform, arch };
}

std::vector<std::string> explain(const Catalog& catalog, const Query& query)
{
  std::vector<std::string> lines;
  auto target = check_parameters(catalog, query);
  if (!target) {
    lines.push_back(fmt::format("parameters rejected: {}", target.error().message));
    return lines;
  }
  const auto platform_id = static_cast<PlatformId>(target->platform - catalog.platforms.data());
  const auto artifact_text = [&](const Release& release) {
    const auto* artifact = release.find_artifact(platform_id, target->arch);
    return artifact ? fmt::format("has {}", artifact->filename)
                    : fmt::format("has no artifact for {}/{}",
                                  target->platform->name,
                                  catalog.archs[target->arch]);
  };
  lines.push_back(fmt::format("platform {}, arch {}{}",
                              target->platform->name,
                              catalog.archs[target->arch],
                              query.arch ? "" : " (default_arch)"));

  if (!target->channel) {
    const auto index = catalog.find_release(*target->version);
    if (!index) {
      lines.push_back(fmt::format("no release has version {}", target->version->str()));
      return lines;
    }
    const auto& release = catalog.releases[*index];
    lines.push_back(fmt::format("release {}: {}; {}",
                                release.version.str(),
                                release.yanked ? "yanked, never resolved" : "matches the version",
                                artifact_text(release)));
    return lines;
  }

  const auto& channel = *target->channel;
  std::vector<std::string> reached;
  for (std::size_t c = 0; c < catalog.channels.size(); ++c) {
    if (channel.reaches[c]) {
      reached.push_back(catalog.channels[c].name);
    }
  }
  lines.push_back(fmt::format("channel \"{}\"{}: releases of {}",
                              channel.name,
                              query.channel ? "" : " (default channel)",
                              fmt::join(reached, ", ")));
  if (channel.pin) {
    lines.push_back(fmt::format("channel \"{}\" pins current = {}",
                                channel.name,
                                catalog.releases[*channel.pin].version.str()));
  }
  std::size_t considered = 0;
  for (std::size_t i = 0; i < catalog.releases.size(); ++i) {
    const auto& release = catalog.releases[i];
    if (!catalog.in_channel(release, static_cast<ChannelId>(&channel - catalog.channels.data()))) {
      continue;
    }
    ++considered;
    if (channel.current && i == *channel.current) {
      lines.push_back(fmt::format("release {}: chosen ({}); {}",
                                  release.version.str(),
                                  channel.pin ? "pinned" : "highest non-yanked release",
                                  artifact_text(release)));
      if (!release.find_artifact(platform_id, target->arch)) {
        lines.push_back("older releases are not considered: no fallback past the current release");
      }
      std::size_t older = 0;
      for (std::size_t j = i + 1; j < catalog.releases.size(); ++j) {
        if (catalog.in_channel(catalog.releases[j],
                               static_cast<ChannelId>(&channel - catalog.channels.data()))) {
          ++older;
        }
      }
      if (older > 0) {
        lines.push_back(
          fmt::format("{} older release{} not considered", older, older == 1 ? "" : "s"));
      }
      return lines;
    }
    if (release.yanked) {
      lines.push_back(fmt::format("release {}: passed over (yanked)", release.version.str()));
    } else if (channel.pin) {
      lines.push_back(
        fmt::format("release {}: passed over (newer than the pin)", release.version.str()));
    }
  }
  if (considered == 0) {
    lines.push_back(fmt::format("channel \"{}\" has no release", channel.name));
  }
  return lines;
}

} // namespace agentdl
