// Typed errors: every expected failure in agentdl is an Error whose code maps to
// an HTTP status (for agentdl-serve) and a process exit code (for agentdl).
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace agentdl {

// What went wrong, coarse enough to choose an HTTP status and an exit code.
enum class Errc
{
  usage,              // bad command line (exit 2; no HTTP status of its own)
  bad_request,        // invalid parameter (400, exit 2)
  unauthorized,       // no or unknown credentials (401, exit 4)
  forbidden,          // credentials without access (403, exit 4)
  not_found,          // no such release or artifact (404, exit 3)
  method_not_allowed, // HTTP method other than GET/HEAD (405, exit 2)
  config,             // catalog fails to load or validate (exit 7; 500 if served)
  network,            // connection failure or HTTP 5xx from a peer (exit 5)
  unavailable,        // the server is at its limits, try again (503, exit 5)
  integrity,          // checksum or size mismatch (exit 6)
  io,                 // the local system failed: a file cannot be opened, written or
                      // renamed, a library cannot be loaded (500, exit 1)
  interrupted,        // stopped by a signal (exit 128 + the signal: 130, 143)
  internal,           // a bug, and nothing else (500, exit 1)
  // A Range past the end of a mirror file (416, exit 5).
  range_not_satisfiable,
};

// One entry of an error's `details`: a string or a list of strings.
struct Detail
{
  std::string key;
  std::variant<std::string, std::vector<std::string>> value;

  bool operator==(const Detail&) const = default;
};

// An expected failure: its kind, a message that names the thing, and the
// details an HTTP error body carries (parameter, value, allowed; or channel,
// version, platform, arch).
struct Error
{
  Errc code = Errc::internal;
  std::string message;
  std::vector<Detail> details;

  Error() = default;
  Error(Errc code_, std::string message_, std::vector<Detail> details_ = {})
    : code(code_)
    , message(std::move(message_))
    , details(std::move(details_))
  {
  }
};

template<typename T>
using Expected = std::expected<T, Error>;

// Returns the HTTP status for `code` (400 for usage, 500 for config/internal).
int http_status(Errc code);

// Returns the process exit code for `code`, as in the contract's exit code
// table. Errc::interrupted exits 128 + `signal`, the signal that stopped the
// work (130 for SIGINT, 143 for SIGTERM), or 130 when none is known.
int exit_code(Errc code, int signal = 0);

// Returns the snake_case name of `code` used in JSON error bodies ("not_found").
std::string_view code_name(Errc code);

// Returns the Errc::io Error "cannot WHAT PATH: REASON" for the errno value
// `error` that doing `what` to the file `path` set.
Error io_error(std::string_view what, std::string_view path, int error);

// Returns an Error of kind `code` with `message`, wrapped for returning from a
// function that yields Expected<T>.
inline std::unexpected<Error> fail(Errc code, std::string message, std::vector<Detail> details = {})
{
  return std::unexpected<Error>(std::in_place, code, std::move(message), std::move(details));
}

} // namespace agentdl

// Evaluates `expr` (an Expected); returns its error from the enclosing function
// if it holds one, else yields its value.
#define AGENTDL_TRY(expr)                                                                          \
  ({                                                                                               \
    auto agentdl_try_result_ = (expr);                                                             \
    if (!agentdl_try_result_) {                                                                    \
      return std::unexpected(std::move(agentdl_try_result_).error());                              \
    }                                                                                              \
    *std::move(agentdl_try_result_);                                                               \
  })
