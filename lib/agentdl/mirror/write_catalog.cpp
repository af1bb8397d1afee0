#include <agentdl/mirror/write_catalog.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace agentdl::mirror {

namespace {

// Returns `text` as a TOML basic string: quoted, with '"', '\' and control
// characters escaped, so that no name from upstream can end the string.
std::string toml_string(std::string_view text)
{
  std::string out = "\"";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\u{:04X}", u);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// Returns `name` as a TOML key: bare when it may be, else quoted.
std::string key(std::string_view name)
{
  const bool bare = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
  return bare ? std::string(name) : toml_string(name);
}

std::string string_array(const std::vector<std::string>& items)
{
  std::string out = "[";
  for (const auto& item : items) {
    out += (out.size() > 1 ? ", " : "") + toml_string(item);
  }
  return out + "]";
}

void write_aliases(std::string& out,
                   std::string_view kind,
                   const std::vector<std::pair<std::string, std::string>>& aliases)
{
  if (aliases.empty()) {
    return;
  }
  out += fmt::format("\n[aliases.{}]\n", kind);
  for (const auto& [alias, name] : aliases) {
    out += fmt::format("{} = {}\n", key(alias), toml_string(name));
  }
}

// Returns `source` for a comment: one line, whatever it holds.
std::string one_line(std::string_view source)
{
  std::string out(source);
  std::replace_if(
    out.begin(),
    out.end(),
    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; },
    '?');
  return out;
}

} // namespace

std::string write_catalog(const Listing& mirror,
                          const std::optional<std::string>& kept,
                          std::string_view source)
{
  std::string out =
    fmt::format("# The catalog of an agentdl mirror of {}, written by `agentdl mirror sync`.\n"
                "# Each sync writes it anew, but keeps the [storage], [server] and [auth]\n"
                "# tables as they are: edit those.\n",
                one_line(source));
  if (mirror.default_channel) {
    out += fmt::format("\ndefault_channel = {}\n", toml_string(*mirror.default_channel));
  }
  for (const auto& platform : mirror.platforms) {
    out += fmt::format(
      "\n[platforms.{}]\narchs = {}\n", key(platform.name), string_array(platform.archs));
    if (platform.default_arch) {
      out += fmt::format("default_arch = {}\n", toml_string(*platform.default_arch));
    }
  }
  write_aliases(out, "platform", mirror.platform_aliases);
  write_aliases(out, "arch", mirror.arch_aliases);
  for (const auto& channel : mirror.channels) {
    out += fmt::format("\n[channels.{}]\n", key(channel.name));
    if (!channel.includes.empty()) {
      out += fmt::format("includes = {}\n", string_array(channel.includes));
    }
    if (channel.pinned && channel.current) {
      out += fmt::format("current = {}\n", toml_string(*channel.current));
    }
  }
  out += "\n[mirror]\nroot = \".\"\n\n";
  out += kept ? *kept : "[storage]\nsigning = \"none\"\n\n[auth]\nmode = \"none\"\n";
  for (const auto& release : mirror.releases) {
    out += fmt::format("\n[[releases]]\nversion = {}\nchannels = {}\n",
                       toml_string(release.version.str()),
                       string_array(release.channels));
    if (!release.published_at.empty()) {
      // A date-time, not a string; mirror_listing's sources checked it.
      out += fmt::format("published_at = {}\n", release.published_at);
    }
    out += "yanked = false\n";
    for (const auto& artifact : release.artifacts) {
      out += fmt::format("  [[releases.artifacts]]\n  platform = {}\n  arch = {}\n  path = {}\n",
                         toml_string(artifact.platform),
                         toml_string(artifact.arch),
                         toml_string(artifact.path));
      if (!artifact.sha256.empty()) {
        out += fmt::format("  sha256 = {}\n", toml_string(artifact.sha256));
      }
      if (artifact.size) {
        out += fmt::format("  size = {}\n", *artifact.size);
      }
    }
  }
  return out;
}

} // namespace agentdl::mirror
