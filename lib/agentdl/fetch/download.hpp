// Downloading an artifact: fetch it into FILE.part, hashing while writing,
// and rename it onto FILE only when its size and sha256 match.
#pragma once

#include <agentdl/error.hpp>
#include <agentdl/fetch/http.hpp>
#include <agentdl/fetch/progress.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace agentdl::fetch {

// The file to fetch and what it must be.
struct Wanted
{
  std::string url;
  std::string filename; // the artifact's file name, for messages (and to save under)
  std::string sha256;   // lowercase hex; empty when unknown
  std::optional<std::uint64_t> size;
  // Sent with the request for `url` and its redirects on the same origin
  // (HttpRequest::bearer_token): only when `url` is on the API server's origin.
  std::optional<std::string> bearer_token;
};

// Whether to download a target that already is the artifact.
enum class Force
{
  no,
  yes
};

// Returns the path of the .part file that a download to `target` writes.
std::filesystem::path part_path(const std::filesystem::path& target);

// Downloads `wanted` to `target`, unless `target` already is it (and not
// `force`), telling `progress` about each transfer. Resumes a .part left by
// an earlier run; retries as `client`'s settings allow; on a mismatch fails
// with Errc::integrity and deletes the .part. When `client`'s CancelToken is
// raised, stops and keeps the .part.
Expected<void> download(HttpClient& client,
                        const Wanted& wanted,
                        const std::filesystem::path& target,
                        Force force,
                        Progress& progress);

} // namespace agentdl::fetch
