// What the transport files of agentdl-serve share (worker, listener,
// session, registry, server): the Asio and Beast names, the endpoint type,
// the clock, and the daemon's lines on stderr (log.hpp). Not for main.cpp or state.hpp, which stay
// free of Asio.
#pragma once

#include "log.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <fmt/format.h>

#include <chrono>
#include <string>
#include <string_view>

namespace agentdl::serve {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

// The clock of deadlines, timeouts and request durations.
using Clock = std::chrono::steady_clock;

// Returns `endpoint` as "127.0.0.1:8080" or "[::1]:8080".
inline std::string endpoint_text(const tcp::endpoint& endpoint)
{
  const auto address = endpoint.address();
  return address.is_v6() ? fmt::format("[{}]:{}", address.to_string(), endpoint.port())
                         : fmt::format("{}:{}", address.to_string(), endpoint.port());
}

} // namespace agentdl::serve
