// The catalog: platforms, channels, releases and their artifacts, storage, and
// the daemon's settings, loaded whole from one TOML file and immutable after.
#pragma once

#include <agentdl/config.hpp>
#include <agentdl/error.hpp>
#include <agentdl/settings.hpp>
#include <agentdl/signing/signer.hpp>
#include <agentdl/version.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentdl {

class HmacVerifier;

// Index into Catalog::platforms, Catalog::archs or Catalog::channels.
using PlatformId = std::uint16_t;
using ArchId = std::uint16_t;
using ChannelId = std::uint16_t;

// A line and column (1-based) in the catalog file.
struct SourcePos
{
  std::uint32_t line = 0;
  std::uint32_t column = 0;

  bool operator==(const SourcePos&) const = default;
};

struct Platform
{
  std::string name;
  std::vector<ArchId> archs; // in the order the file lists them
  std::optional<ArchId> default_arch;

  bool operator==(const Platform&) const = default;
};

struct Channel
{
  std::string name;
  std::vector<ChannelId> includes;    // as written
  std::vector<bool> reaches;          // reaches[c]: c is this channel or included, transitively
  std::optional<std::size_t> pin;     // `current` pin, index into Catalog::releases
  std::optional<std::size_t> current; // current release (pin or highest non-yanked), if any

  bool operator==(const Channel&) const = default;
};

struct Artifact
{
  PlatformId platform = 0;
  ArchId arch = 0;
  std::string path;     // relative path as written; empty when the file gave `url`
  std::string location; // absolute URL, unsigned
  std::string filename; // last segment of the location, decoded
  std::string sha256;   // lowercase hex; empty when unknown
  std::optional<std::uint64_t> size;
  SourcePos pos;

  bool operator==(const Artifact&) const = default;
};

struct Release
{
  // What a lookup reads comes first, to share its cache lines.
  Version version;
  bool yanked = false;
  std::vector<Artifact> artifacts;
  std::vector<ChannelId> channels; // its own channels, as written
  std::string published_at;        // RFC 3339; empty when absent
  SourcePos pos;

  // Returns the artifact for `platform`/`arch`, or nullptr.
  const Artifact* find_artifact(PlatformId platform, ArchId arch) const;

  bool operator==(const Release&) const = default;
};

enum class Signing
{
  none,
  hmac,
  nginx_secure_link,
  s3
};

struct S3Settings
{
  std::string region;
  std::string access_key_id_env = "AWS_ACCESS_KEY_ID";
  std::string secret_access_key_env = "AWS_SECRET_ACCESS_KEY";
  std::string session_token_env = "AWS_SESSION_TOKEN";
  bool content_disposition = false;

  bool operator==(const S3Settings&) const = default;
};

struct StorageSettings
{
  std::string base_url; // empty when absent; ends with '/' otherwise
  Signing signing = Signing::none;
  std::chrono::seconds expires{ 900 };
  std::string secret_env;
  std::string previous_secret_env;
  std::string secret_file;
  S3Settings s3;
  // Made at load from the settings and the secrets, which only they hold:
  // nullptr when signing is "none".
  std::shared_ptr<const Signer> signer;
  std::shared_ptr<const HmacVerifier> link_verifier; // signing = "hmac": checks links

  // Tells whether two are equal in their settings (the signers hold only what
  // the settings and the environment gave them).
  bool operator==(const StorageSettings& other) const;
};

enum class AuthMode
{
  required,
  none
};

struct TokenEntry
{
  std::string name;
  std::array<unsigned char, 32> sha256{};
  bool all_channels = false; // channels = ["*"]
  std::vector<ChannelId> channels;

  bool operator==(const TokenEntry&) const = default;
};

struct AuthSettings
{
  AuthMode mode = AuthMode::required;
  std::vector<TokenEntry> tokens;
  // Channels anyone may read without a token (public_channels), as if
  // every caller held a token scoped to them.
  std::vector<ChannelId> public_channels;

  bool operator==(const AuthSettings&) const = default;
};

struct MirrorSettings
{
  std::string root; // as written, for messages; empty: no mirror
  // root, taken from the folder of the catalog file when relative (and made
  // absolute): the directory agentdl-serve serves at /files/.
  std::filesystem::path root_path;
  SourcePos pos; // where root is written

  bool operator==(const MirrorSettings&) const = default;
};

struct Catalog
{
  std::string source;                       // the file name, as given
  std::filesystem::path folder;             // where its relative paths start (LoadOptions::folder)
  std::optional<ChannelId> default_channel; // absent: channel is required
  std::vector<Platform> platforms;          // sorted by name
  std::vector<std::string> archs;           // every declared arch, sorted
  std::vector<std::pair<std::string, std::string>> platform_aliases; // sorted by alias
  std::vector<std::pair<std::string, std::string>> arch_aliases;     // sorted by alias
  // The aliases the file declares itself, without the built-in ones (sorted).
  std::vector<std::pair<std::string, std::string>> own_platform_aliases;
  std::vector<std::pair<std::string, std::string>> own_arch_aliases;
  std::vector<Channel> channels; // sorted by name
  std::vector<Release> releases; // newest first (descending precedence)
  // The version index: open addressing on Version::precedence_hash(), slots
  // of (hash, index into releases), a power of two of them, at most half
  // full. A lookup reads one slot and the release it names.
  std::vector<std::pair<std::uint64_t, std::uint32_t>> release_slots;
  static constexpr std::uint32_t k_empty_slot = 0xffffffff; // a release_slots index
  StorageSettings storage;
  ServerSettings server;
  PageSettings page;
  AuthSettings auth;
  MirrorSettings mirror;

  // Returns the platform named `name` (canonical, lowercase), if declared.
  std::optional<PlatformId> find_platform(std::string_view name) const;

  // Returns the arch named `name` (canonical, lowercase), if declared.
  std::optional<ArchId> find_arch(std::string_view name) const;

  // Returns the channel named `name` (lowercase), if declared.
  std::optional<ChannelId> find_channel(std::string_view name) const;

  // Returns the index of the release equal to `version` by precedence, if any;
  // O(1): one hash lookup, however many releases there are.
  std::optional<std::size_t> find_release(const Version& version) const;

  // Tells whether `release` belongs to `channel`, directly or through `includes`.
  bool in_channel(const Release& release, ChannelId channel) const;

  // Returns the canonical platform name for `name` after lowercasing and alias
  // mapping (the input itself if no alias applies).
  std::string canonical_platform(std::string_view name) const;

  // Returns the canonical arch name for `name` after lowercasing and alias mapping.
  std::string canonical_arch(std::string_view name) const;

  bool operator==(const Catalog&) const = default;
};

// What loading a catalog may read besides its text.
struct LoadOptions
{
  GetEnv getenv{}; // the environment, for secrets; empty: the process's own
  std::optional<std::vector<std::string>> listen{}; // replaces [server] listen (--listen)
  // The first address the daemon bound, "127.0.0.1:38211" (port 0 made real):
  // public_url's default, when the file sets none, instead of the first listen.
  std::string bound_address{};
  // The folder a relative secret_file or [mirror] root is found in; empty:
  // the folder of the source file. A catalog fetched by URL has none.
  std::filesystem::path folder{};
};

// Parses catalog `text`; `source_name` is used in error messages
// ("agentdl.toml:41:3: ..."), and its folder is where a relative
// secret_file is found. Fails with Errc::config; never half-loads.
Expected<Catalog> parse_catalog(std::string_view text,
                                std::string_view source_name,
                                const LoadOptions& options = {});

// Reads and parses the catalog file at `path`.
Expected<Catalog> load_catalog(const std::filesystem::path& path, const LoadOptions& options = {});

// Returns the Location of `artifact` as of `now`: its URL, signed when the
// catalog signs (CONTRACT section 5).
SignedLocation location_of(const Catalog& catalog, const Artifact& artifact, SystemTime now);

// Returns `text` with ASCII letters lowercased: names match case-insensitively.
std::string lowercase(std::string_view text);

// Tells whether `text` is 64 hexadecimal digits (either case): a sha256.
bool is_hex_digest(std::string_view text);

// Returns the name of `signing` as written in the catalog ("nginx-secure-link").
std::string_view signing_name(Signing signing);

} // namespace agentdl
