// `agentdl download`: fetch an artifact into FILE.part, hashing while
// writing, and rename it onto FILE only when its size and sha256 match.
#pragma once

#include "http.hpp"

#include <agentdl/error.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace agentdl::cli {

// The file to fetch and what it must be.
struct Wanted
{
  std::string url;
  std::string filename; // the name to save under, unless -o gives one
  std::string sha256;   // lowercase hex; empty when unknown
  std::optional<std::uint64_t> size;
  // Sent with the request for `url` and its redirects on the same origin
  // (HttpRequest::bearer_token): only when `url` is on the API server's origin.
  std::optional<std::string> bearer_token;
};

struct SaveOptions
{
  std::optional<std::string> output;    // -o FILE
  std::optional<std::string> directory; // -d DIR
  bool force = false;                   // download even if the target is already the artifact
  bool progress = true;                 // a progress bar when stderr is a terminal
};

// Returns where `wanted` is saved under `options`; fails with Errc::network if
// the file name (which comes from the server) is not a plain file name.
Expected<std::filesystem::path> target_path(const Wanted& wanted, const SaveOptions& options);

// Downloads `wanted` to `target`, unless `target` already is it (and not
// `options.force`). Resumes a `target`.part left by an earlier
// run; retries as `client`'s settings allow; on a mismatch fails with
// Errc::integrity and deletes the .part. When interrupted (interrupt.hpp), the
// .part is kept.
Expected<void> download(HttpClient& client,
                        const Wanted& wanted,
                        const std::filesystem::path& target,
                        const SaveOptions& options);

} // namespace agentdl::cli
