// The request header parser of agentdl-serve: Beast's basic_parser, keeping
// only the fields the API and the transport read.
#pragma once

#include "transport.hpp"

#include <boost/beast/http/basic_parser.hpp>
#include <boost/optional/optional.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace agentdl::serve {

namespace http = beast::http;

// Reads a request header and keeps only what agentdl-serve uses, without
// allocating a node per header field as http::request_parser would.
class HeadParser : public http::basic_parser<true>
{
public:
  // The method, as Beast knows it (unknown for an extension method).
  http::verb method = http::verb::unknown;
  // The method as sent: "GET".
  std::string method_text;
  // The request target as sent: "/v2/agent-releases?channel=stable".
  std::string target;
  // The HTTP version: 11 for HTTP/1.1, 10 for HTTP/1.0.
  int version = 11;
  // The first Authorization value, if any was sent.
  std::optional<std::string> authorization;
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
  // What a mirror file's answer reads. If-None-Match is a list: repeated
  // fields are joined. The others take one value: a repeated one is kept as
  // "", a value each of them ignores (RFC 9110 section 5.3).
  std::optional<std::string> range;
  std::optional<std::string> if_range;
  std::optional<std::string> if_none_match;
  std::optional<std::string> if_modified_since;

private:
  static void keep_one(std::optional<std::string>& field, beast::string_view value)
  {
    if (field) {
      field->clear();
    } else {
      field.emplace(value.data(), value.size());
    }
  }

  void on_request_impl(http::verb verb,
                       beast::string_view method_string,
                       beast::string_view request_target,
                       int http_version,
                       beast::error_code&) override
  {
    method = verb;
    method_text.assign(method_string.data(), method_string.size());
    target.assign(request_target.data(), request_target.size());
    version = http_version;
  }
  void on_response_impl(int, beast::string_view, int, beast::error_code&) override {}
  void on_field_impl(http::field name,
                     beast::string_view,
                     beast::string_view value,
                     beast::error_code&) override
  {
    switch (name) {
      case http::field::host:
        if (++host_count == 1) {
          host.assign(value.data(), value.size());
        }
        break;
      case http::field::authorization:
        if (++authorization_count == 1) {
          authorization.emplace(value.data(), value.size());
        }
        break;
      case http::field::user_agent:
        user_agent.assign(value.data(), value.size());
        break;
      case http::field::transfer_encoding:
        transfer_encoding = true;
        break;
      case http::field::range:
        keep_one(range, value);
        break;
      case http::field::if_range:
        keep_one(if_range, value);
        break;
      case http::field::if_modified_since:
        keep_one(if_modified_since, value);
        break;
      case http::field::if_none_match:
        if (if_none_match) {
          if_none_match->append(", ").append(value.data(), value.size());
        } else {
          if_none_match.emplace(value.data(), value.size());
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
};

} // namespace agentdl::serve
