// The daemon's own lines on stderr, "agentdl-serve: ...": what every file of
// agentdl-serve may say, the transport's and the catalog poller's alike.
// Free of Asio and Beast.
#pragma once

#include "state.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <functional>
#include <string>
#include <string_view>

namespace agentdl::serve {

// Prints `message` to stderr as one "agentdl-serve: ..." line.
inline void log_error(std::string_view message)
{
  fmt::print(stderr, "agentdl-serve: {}\n", message);
}

// Says what a reload did: `reloaded` ("reloaded the catalog: 4 releases"),
// then the [server] keys applied, then each key that needs a restart with
// what still holds until then (`still(key)`; nothing said when empty).
inline void log_reload(const ReloadReport& report,
                       std::string_view reloaded,
                       const std::function<std::string(const std::string& key)>& still)
{
  log_error(reloaded);
  if (!report.applied.empty()) {
    log_error(fmt::format("[server] {} changed: applied", fmt::join(report.applied, ", ")));
  }
  for (const auto& key : report.need_restart) {
    const auto holds = still(key);
    log_error(fmt::format("[server] {} changed: it applies after a restart{}{}",
                          key,
                          holds.empty() ? "" : "; still ",
                          holds));
  }
}

} // namespace agentdl::serve
