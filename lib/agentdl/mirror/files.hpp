// The rules of agentdl-serve's /files/{path} (CONTRACT section 6) as pure
// functions: which file a request path names, what the Range and
// conditional headers select of it, and the head of the answer. The daemon
// opens the file, asks these, and sends the bytes.
#pragma once

#include <agentdl/api.hpp>
#include <agentdl/error.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace agentdl::mirror {

// Returns the path relative to the mirror's root that `encoded` names: the
// request path after "/files/", percent-decoded once (so "%252e" is the
// name "%2e"). Fails with bad_request when it could name anything but a file
// under root: malformed percent-encoding, an encoded '/' or '\' ("%2F",
// "%5C"), a backslash, a NUL or another control character, bytes that are not
// UTF-8, a leading '/', an empty, "." or ".." segment (encoded or not); and
// with not_found when it is empty (the root folder itself).
Expected<std::string> decode_file_path(std::string_view encoded);

// What agentdl-serve learns of an opened file from fstat(2).
struct FileIdentity
{
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0; // modification time, nanoseconds since the Unix epoch
  std::uint64_t inode = 0;
};

// The request headers that choose what of a file is sent; absent when not sent.
struct FileConditions
{
  bool head = false; // a HEAD request: Range does not apply (RFC 9110 section 14.2)
  std::optional<std::string_view> range;
  std::optional<std::string_view> if_range;
  std::optional<std::string_view> if_none_match;
  std::optional<std::string_view> if_modified_since;
};

// Returns the strong ETag of `file`: "\"<size hex>-<mtime ns hex>-<inode hex>\"",
// so that a file replaced or touched gets a new one.
std::string entity_tag(const FileIdentity& file);

// Returns `unix_seconds` as an HTTP date (IMF-fixdate): "Sun, 06 Nov 1994 08:49:37 GMT".
std::string format_http_date(std::int64_t unix_seconds);

// Returns the Unix time an HTTP date names, in any of the three forms a
// recipient must accept (RFC 9110 section 5.6.7): IMF-fixdate, RFC 850
// ("Sunday, 06-Nov-94 08:49:37 GMT", years 70-99 in the 1900s) and asctime
// ("Sun Nov  6 08:49:37 1994"); nullopt if `text` is none of them.
std::optional<std::int64_t> parse_http_date(std::string_view text);

// Tells whether the If-None-Match value `list` matches `etag` by the weak
// comparison (RFC 9110 section 13.1.2): "*", or one of its entity tags with
// the same opaque tag, W/ or not.
bool none_match_matches(std::string_view list, std::string_view etag);

// The bytes of a file a Range header selects.
struct RangeChoice
{
  enum class Kind
  {
    whole,        // no Range, or one to ignore: 200 with the whole file
    partial,      // one satisfiable range: 206
    unsatisfiable // one range that starts past the end: 416
  };
  Kind kind = Kind::whole;
  std::uint64_t first = 0; // partial: the first and last byte, inclusive
  std::uint64_t last = 0;

  bool operator==(const RangeChoice&) const = default;
};

// Returns what the Range value `range` selects of a file of `size` bytes
// (RFC 9110 section 14.1.2): "bytes=N-M", "bytes=N-" or "bytes=-N", clamped
// to the file; a first byte past the end, or a suffix of 0 bytes, is
// unsatisfiable. Several ranges, another unit or a malformed value select
// the whole file, as a server may always ignore Range.
RangeChoice select_range(std::string_view range, std::uint64_t size);

// Returns the Content-Type of the file named `name`, by its extension,
// case-insensitively: ".msi", ".pkg", ".exe", ".dmg", ".zip", ".tar.gz" (and
// ".tgz", ".gz"), ".deb", ".rpm"; "application/octet-stream" for any other.
std::string_view content_type(std::string_view name);

// Returns the Content-Disposition of the file named `name` (RFC 6266):
// `attachment; filename="..."`, the name in ASCII with '_' for what a quoted
// string cannot carry (non-ASCII bytes, '"', '\'), and then, when that is
// not the name itself, `filename*=UTF-8''...` with the name percent-encoded
// (RFC 8187).
std::string content_disposition(std::string_view name);

// A file's answer: the response, and which of its bytes follow the head.
struct FileAnswer
{
  ApiResponse response;             // status and headers; the body of a 416
  std::uint64_t content_length = 0; // for the head: what a GET sends (the body's size for a 416)
  std::uint64_t offset = 0;         // the first byte of the file to send
  std::uint64_t length = 0;         // bytes of the file to send after the head (0 for HEAD)
};

// Returns the answer to a GET or HEAD of the mirror file `path` (relative to
// root) whose fstat(2) gave `file`: 304 when If-None-Match matches (or,
// without it, If-Modified-Since is not before Last-Modified), then 206 or
// 416 for a Range (when If-Range, if sent, still names this file), else 200.
// Each carries ETag, Last-Modified and Accept-Ranges; 200 and 206 also
// Content-Type and Content-Disposition, 206 Content-Range, 416
// `Content-Range: bytes */SIZE`.
FileAnswer answer_file(std::string_view path,
                       const FileIdentity& file,
                       const FileConditions& conditions);

// Why the file a request names cannot be sent.
enum class OpenFailure
{
  missing,     // no such file (or a path through something that is not a folder)
  not_a_file,  // a folder, a FIFO, a device, a socket: only regular files are served
  leaves_root, // a symbolic link that leads out of root
  denied,      // the daemon may not read it
  failed,      // another error (EIO, EMFILE, ...): a 500
};

// Returns the error answer for `failure` to open the mirror file `path`:
// 404 for missing and not_a_file alike, 403 for leaves_root and denied, 500
// for failed.
ApiResponse open_failure_response(OpenFailure failure, std::string_view path);

// Returns the 404 answer for a mirror file `path` that is not there (not
// listed in the catalog, or not on disk: the two look alike).
Error file_not_found(std::string_view path);

} // namespace agentdl::mirror
