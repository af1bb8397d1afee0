#include <agentdl/catalog.hpp>

#include <algorithm>
#include <tuple>

namespace agentdl {

namespace {

std::string canonical(std::string_view name,
                      const std::vector<std::pair<std::string, std::string>>& aliases)
{
  auto lower = lowercase(name);
  const auto it = std::lower_bound(
    aliases.begin(), aliases.end(), lower, [](const auto& entry, const std::string& key) {
      return entry.first < key;
    });
  if (it != aliases.end() && it->first == lower) {
    return it->second;
  }
  return lower;
}

} // namespace

bool is_hex_digest(std::string_view text)
{
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

std::string lowercase(std::string_view text)
{
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

const Artifact* Release::find_artifact(PlatformId platform, ArchId arch) const
{
  for (const auto& artifact : artifacts) {
    if (artifact.platform == platform && artifact.arch == arch) {
      return &artifact;
    }
  }
  return nullptr;
}

std::optional<PlatformId> Catalog::find_platform(std::string_view name) const
{
  for (std::size_t i = 0; i < platforms.size(); ++i) {
    if (platforms[i].name == name) {
      return static_cast<PlatformId>(i);
    }
  }
  return std::nullopt;
}

std::optional<ArchId> Catalog::find_arch(std::string_view name) const
{
  const auto it = std::lower_bound(archs.begin(), archs.end(), name);
  if (it != archs.end() && *it == name) {
    return static_cast<ArchId>(it - archs.begin());
  }
  return std::nullopt;
}

std::optional<ChannelId> Catalog::find_channel(std::string_view name) const
{
  const auto it = std::lower_bound(channels.begin(),
                                   channels.end(),
                                   name,
                                   [](const Channel& c, std::string_view n) { return c.name < n; });
  if (it != channels.end() && it->name == name) {
    return static_cast<ChannelId>(it - channels.begin());
  }
  return std::nullopt;
}

std::optional<std::size_t> Catalog::find_release(const Version& version) const
{
  if (release_slots.empty()) {
    return std::nullopt;
  }
  const auto mask = release_slots.size() - 1;
  const auto hash = version.precedence_hash();
  for (auto slot = hash & mask;; slot = (slot + 1) & mask) {
    const auto [slot_hash, index] = release_slots[slot];
    if (index == k_empty_slot) {
      return std::nullopt;
    }
    if (slot_hash == hash && releases[index].version == version) {
      return index;
    }
  }
}

bool Catalog::in_channel(const Release& release, ChannelId channel) const
{
  const auto& reaches = channels[channel].reaches;
  return std::any_of(
    release.channels.begin(), release.channels.end(), [&](ChannelId c) { return reaches[c]; });
}

std::string Catalog::canonical_platform(std::string_view name) const
{
  return canonical(name, platform_aliases);
}

std::string Catalog::canonical_arch(std::string_view name) const
{
  return canonical(name, arch_aliases);
}

std::string_view signing_name(Signing signing)
{
  switch (signing) {
    case Signing::none:
      return "none";
    case Signing::hmac:
      return "hmac";
    case Signing::nginx_secure_link:
      return "nginx-secure-link";
    case Signing::s3:
      return "s3";
  }
  return "none";
}

bool StorageSettings::operator==(const StorageSettings& other) const
{
  return std::tie(base_url, signing, expires, secret_env, previous_secret_env, secret_file, s3) ==
           std::tie(other.base_url,
                    other.signing,
                    other.expires,
                    other.secret_env,
                    other.previous_secret_env,
                    other.secret_file,
                    other.s3) &&
         (signer == nullptr) == (other.signer == nullptr) &&
         (link_verifier == nullptr) == (other.link_verifier == nullptr);
}

SignedLocation location_of(const Catalog& catalog, const Artifact& artifact, SystemTime now)
{
  if (!catalog.storage.signer) {
    return { artifact.location, std::nullopt };
  }
  return catalog.storage.signer->sign(artifact.location, now);
}

} // namespace agentdl
