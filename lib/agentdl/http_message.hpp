// The HTTP/1.1 framing agentdl-serve writes and checks, as pure functions:
// the head of a response, the transport's own error answers, and the Host
// header's grammar. The daemon only moves the bytes.
#pragma once

#include <agentdl/api.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace agentdl {

enum class KeepAlive
{
  no,
  yes
};

// What the transport knows of a response beyond the ApiResponse.
struct HeadFields
{
  int version = 11;               // the request's: 10 answers HTTP/1.0, else HTTP/1.1
  std::string_view date;          // the Date value, "Sun, 06 Nov 1994 08:49:37 GMT"
  std::size_t content_length = 0; // the body's size (also for HEAD, which sends none)
  KeepAlive keep_alive = KeepAlive::yes;
};

// Appends the status line and headers of `response` to `out`, through the
// blank line: Server, Date, Content-Type, the response's headers, then
// Content-Length (none for a 304) and Connection. A header value with CR, LF or NUL is dropped,
// so no response can be split.
void append_response_head(std::string& out, const ApiResponse& response, const HeadFields& fields);

// Returns the reason phrase of `status` ("Found"), or "" for a status agentdl
// neither sends nor names in its messages about a server's answer.
std::string_view reason_phrase(int status);

// Returns the JSON error answer the transport sends itself, before any route
// runs: 400 (malformed request), 431 (header too large), 503 (too many
// connections) or 500 (an exception). `message` is shown to the client, but
// for a 500, whose message reveals nothing.
ApiResponse transport_error(int status, std::string_view message);

// Returns `text` without the spaces and tabs around it (RFC 9110's OWS).
std::string_view trim_ows(std::string_view text);

// Tells whether the Accept-Encoding value `value` accepts gzip (RFC 9110
// section 12.5.3): "gzip", "x-gzip" or "*" listed with a q-value above 0.
bool accepts_gzip(std::string_view value);

// Tells whether `value` is a valid Host header value, `uri-host [":" port]`
// (RFC 9110 section 7.2): no user info, no list, no spaces.
bool valid_host(std::string_view value);

} // namespace agentdl
