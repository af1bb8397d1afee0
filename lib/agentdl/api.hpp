// The HTTP API of agentdl-serve as a pure function: a request in, a response
// out; no sockets, no clock, no globals (CONTRACT section 4).
#pragma once

#include <agentdl/snapshot.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agentdl {

// What handle() needs of an HTTP request.
struct ApiRequest
{
  std::string_view method;                       // "GET", "HEAD", ...
  std::string_view target;                       // origin-form: "/v2/agent-releases?channel=stable"
  std::optional<std::string_view> authorization; // the Authorization header, if sent
};

// An HTTP response. The transport adds Content-Length (the body's size, also
// for HEAD, whose body it does not send), Date and Connection.
struct ApiResponse
{
  int status = 200;
  std::string content_type; // empty: no Content-Type (a 302)
  std::vector<std::pair<std::string_view, std::string>> headers;
  std::string body;                               // the body, unless shared_body is set
  std::shared_ptr<const std::string> shared_body; // a body shared with other responses
  std::string_view route = "unknown";             // for metrics and the access log
  std::string_view token_name;  // the name of the caller's token, for the access log
  bool location_signed = false; // the Location carries a signature: log it without its query
  // A mirror file to answer with, relative to [mirror] root: the transport
  // opens it and asks mirror::answer_file() for the status and headers.
  std::optional<std::string> file;

  // Returns the body: shared_body's if set, else body.
  std::string_view content() const { return shared_body ? *shared_body : body; }
};

// What handle() may use besides the catalog.
struct ApiContext
{
  std::function<std::string()> metrics; // renders /metrics; empty: metrics are off
  SystemTime now{};                     // the time signed Locations are signed as of
};

// Answers `request` from `snapshot`: routing, method, authentication (401),
// parameters (400), authorization (403) and lookup (404), in that order.
// For /files/{path} (with [mirror] root) it checks the path and the access
// (a signed link with signing = "hmac", else the bearer token, else none)
// and returns the file to send in `file`, leaving the file itself to the
// transport.
ApiResponse handle(const Snapshot& snapshot, const ApiRequest& request, const ApiContext& context);

// Returns the JSON error answer for `error` on `route`; a 500 reveals
// nothing of its message.
ApiResponse error_response(const Error& error, std::string_view route);

} // namespace agentdl
