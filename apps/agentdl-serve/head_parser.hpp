// The request header parser of agentdl-serve: Beast's basic_parser, keeping
// only the fields the API and the transport read.
#pragma once

#include "transport.hpp"

#include <boost/beast/http/basic_parser.hpp>
#include <boost/optional/optional.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace agentdl::serve {

namespace http = beast::http;

// A header field that may be absent: as std::optional<std::string>, but
// reset() keeps the string's memory for the next request.
class OptionalField
{
public:
  explicit operator bool() const { return m_present; }
  const std::string& operator*() const { return m_value; }
  const std::string* operator->() const { return &m_value; }
  std::string& value() { return m_value; }

  // Makes the field present with `value`.
  void assign(std::string_view value)
  {
    m_value.assign(value);
    m_present = true;
  }
  // Makes the field absent.
  void reset()
  {
    m_value.clear();
    m_present = false;
  }
  // Returns the value as a view, or nothing.
  std::optional<std::string_view> view() const
  {
    return m_present ? std::optional<std::string_view>(m_value) : std::nullopt;
  }

private:
  std::string m_value;
  bool m_present = false;
};

// What agentdl-serve reads of a request's head. A session keeps one for its
// whole life and clear()s it between requests: its strings keep their
// memory, so that reading a request allocates nothing once they have grown.
struct RequestHead
{
  // The method, as Beast knows it (unknown for an extension method).
  http::verb method = http::verb::unknown;
  // The method as sent: "GET".
  std::string method_text;
  // The request target as sent: "/v2/agent-releases?channel=stable".
  std::string target;
  // The HTTP version: 11 for HTTP/1.1, 10 for HTTP/1.0.
  int version = 11;
  // The first Authorization value, if any was sent.
  OptionalField authorization;
  // How many Authorization fields were sent (a repeated one is refused).
  int authorization_count = 0;
  // The last User-Agent value, for the access log.
  std::string user_agent;
  // The first Host value.
  std::string host;
  // How many Host fields were sent (a missing or repeated one is refused).
  int host_count = 0;
  // Tells whether a Transfer-Encoding field was sent (refused).
  bool transfer_encoding = false;
  // How many Content-Length values were sent, in fields or a list (more
  // than one is refused, as nginx does: "0, 0" smuggles nothing, but two
  // parsers of one request must never disagree on where it ends).
  int content_length_count = 0;
  // Tells whether a field was folded over lines (obs-fold, refused); the
  // session sets it from the bytes, which Beast unfolds.
  bool obs_fold = false;
  // What a mirror file's answer reads. If-None-Match is a list: repeated
  // fields are joined. The others take one value: a repeated one is kept as
  // "", a value each of them ignores (RFC 9110 section 5.3).
  OptionalField range;
  OptionalField if_range;
  OptionalField if_none_match;
  OptionalField if_modified_since;
  // Accept-Encoding, for the downloads page; repeated fields are joined.
  std::string accept_encoding;

  // Forgets the last request, keeping the memory.
  void clear()
  {
    method = http::verb::unknown;
    method_text.clear();
    target.clear();
    version = 11;
    authorization.reset();
    authorization_count = 0;
    user_agent.clear();
    host.clear();
    host_count = 0;
    transfer_encoding = false;
    content_length_count = 0;
    obs_fold = false;
    range.reset();
    if_range.reset();
    if_none_match.reset();
    if_modified_since.reset();
    accept_encoding.clear();
  }
};

// Reads a request header into a RequestHead, keeping only what
// agentdl-serve uses, without allocating a node per header field as
// http::request_parser would. Made anew for each request (Beast's parser
// cannot be reset); the RequestHead it fills outlives it.
class HeadParser : public http::basic_parser<true>
{
public:
  // Fills `head`, which it clear()s first.
  explicit HeadParser(RequestHead& head)
    : m_head(head)
  {
    m_head.clear();
  }

private:
  static void keep_one(OptionalField& field, beast::string_view value)
  {
    if (field) {
      field.value().clear();
    } else {
      field.assign(value);
    }
  }

  void on_request_impl(http::verb verb,
                       beast::string_view method_string,
                       beast::string_view request_target,
                       int http_version,
                       beast::error_code&) override
  {
    m_head.method = verb;
    m_head.method_text.assign(method_string.data(), method_string.size());
    m_head.target.assign(request_target.data(), request_target.size());
    m_head.version = http_version;
  }
  void on_response_impl(int, beast::string_view, int, beast::error_code&) override {}
  void on_field_impl(http::field name,
                     beast::string_view,
                     beast::string_view value,
                     beast::error_code&) override
  {
    auto& head = m_head;
    switch (name) {
      case http::field::host:
        if (++head.host_count == 1) {
          head.host.assign(value.data(), value.size());
        }
        break;
      case http::field::authorization:
        if (++head.authorization_count == 1) {
          head.authorization.assign(value);
        }
        break;
      case http::field::user_agent:
        head.user_agent.assign(value.data(), value.size());
        break;
      case http::field::transfer_encoding:
        head.transfer_encoding = true;
        break;
      case http::field::content_length:
        head.content_length_count +=
          1 + static_cast<int>(std::count(value.begin(), value.end(), ','));
        break;
      case http::field::range:
        keep_one(head.range, value);
        break;
      case http::field::if_range:
        keep_one(head.if_range, value);
        break;
      case http::field::if_modified_since:
        keep_one(head.if_modified_since, value);
        break;
      case http::field::accept_encoding:
        if (!head.accept_encoding.empty()) {
          head.accept_encoding += ", ";
        }
        head.accept_encoding.append(value.data(), value.size());
        break;
      case http::field::if_none_match:
        if (head.if_none_match) {
          head.if_none_match.value().append(", ").append(value.data(), value.size());
        } else {
          head.if_none_match.assign(value);
        }
        break;
      default:
        break;
    }
  }
  void on_header_impl(beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, beast::error_code&) override {}
  std::size_t on_body_impl(beast::string_view body, beast::error_code&) override
  {
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t,
                                 beast::string_view body,
                                 beast::error_code&) override
  {
    return body.size();
  }
  void on_finish_impl(beast::error_code&) override {}

  RequestHead& m_head;
};

} // namespace agentdl::serve
