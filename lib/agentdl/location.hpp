// URLs of artifacts: checking relative paths and absolute URLs, joining a
// path to a base URL with each segment percent-encoded (RFC 3986).
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace agentdl {

// Checks a relative artifact path: no leading '/', no empty, "." or ".."
// segment, no backslash, no control character. The error names the problem.
std::expected<void, std::string> check_relative_path(std::string_view path);

// Checks that `url` is an absolute http or https URL with a host; returns it
// normalized by Boost.URL. The error names the problem.
std::expected<std::string, std::string> check_absolute_url(std::string_view url);

// Returns `base` (an absolute URL whose path ends with '/') followed by
// `path` with every segment percent-encoded; '/' separators are kept.
std::string join_url(std::string_view base, std::string_view path);

// Returns the last path segment of absolute `url`, percent-decoded; empty if
// the path ends with '/'.
std::string url_filename(std::string_view url);

} // namespace agentdl
