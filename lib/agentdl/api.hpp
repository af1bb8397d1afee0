// The HTTP API of agentdl-serve as a pure function: a request in, a response
// out; no sockets, no clock, no globals (CONTRACT section 4).
#pragma once

#include <agentdl/snapshot.hpp>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <iterator>
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
  std::string_view user_agent{};                 // for the downloads page; empty if not sent
  std::optional<std::string_view> if_none_match{}; // the If-None-Match header, if sent
  std::string_view accept_encoding{};              // the Accept-Encoding header; empty if not sent
};

// A response's own headers, in order. Names are static text; values are
// copied into one buffer, so that a response used again after clear()
// allocates nothing once it has grown to size.
class Headers
{
public:
  using value_type = std::pair<std::string_view, std::string_view>;

  Headers() = default;
  Headers(std::initializer_list<value_type> headers)
  {
    for (const auto& [name, value] : headers) {
      emplace_back(name, value);
    }
  }

  // Adds `name` (static text, such as "Location") with `value`.
  void emplace_back(std::string_view name, std::string_view value)
  {
    m_entries.push_back({ name, m_values.size(), value.size() });
    m_values += value;
  }
  // Forgets every header, keeping the memory.
  void clear()
  {
    m_entries.clear();
    m_values.clear();
  }
  bool empty() const { return m_entries.empty(); }
  std::size_t size() const { return m_entries.size(); }
  value_type operator[](std::size_t i) const
  {
    const auto& e = m_entries[i];
    return { e.name, std::string_view(m_values).substr(e.offset, e.size) };
  }
  value_type back() const { return (*this)[size() - 1]; }
  // Returns the value of the first header called `name`, if any.
  std::optional<std::string_view> find(std::string_view name) const
  {
    for (std::size_t i = 0; i < size(); ++i) {
      if (m_entries[i].name == name) {
        return (*this)[i].second;
      }
    }
    return std::nullopt;
  }

  class const_iterator
  {
  public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Headers::value_type;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = value_type;

    const_iterator() = default;
    const_iterator(const Headers* headers, std::size_t index)
      : m_headers(headers)
      , m_index(index)
    {
    }
    value_type operator*() const { return (*m_headers)[m_index]; }
    const_iterator& operator++()
    {
      ++m_index;
      return *this;
    }
    const_iterator operator++(int)
    {
      auto before = *this;
      ++m_index;
      return before;
    }
    bool operator==(const const_iterator& other) const { return m_index == other.m_index; }

  private:
    const Headers* m_headers = nullptr;
    std::size_t m_index = 0;
  };
  const_iterator begin() const { return { this, 0 }; }
  const_iterator end() const { return { this, size() }; }

  friend bool operator==(const Headers& a, const Headers& b)
  {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

private:
  struct Entry
  {
    std::string_view name;
    std::size_t offset;
    std::size_t size;
  };
  std::vector<Entry> m_entries;
  std::string m_values;
};

// An HTTP response. The transport adds Content-Length (the body's size, also
// for HEAD, whose body it does not send), Date and Connection.
struct ApiResponse
{
  int status = 200;
  std::string_view content_type; // static text; empty: no Content-Type (a 302)
  Headers headers;
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

  // Makes this a new 200 response, keeping the memory of the headers and
  // the body.
  void clear()
  {
    status = 200;
    content_type = {};
    headers.clear();
    body.clear();
    shared_body.reset();
    route = "unknown";
    token_name = {};
    location_signed = false;
    file.reset();
  }
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

// As above, into `response`, which it clear()s first: a transport that
// keeps one response per connection answers the redirect and /healthz
// without allocating.
void handle(const Snapshot& snapshot,
            const ApiRequest& request,
            const ApiContext& context,
            ApiResponse& response);

// Returns the JSON error answer for `error` on `route`; a 500 reveals
// nothing of its message.
ApiResponse error_response(const Error& error, std::string_view route);

} // namespace agentdl
