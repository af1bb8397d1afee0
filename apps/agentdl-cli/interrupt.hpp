// Ctrl-C during a download: while an InterruptGuard lives, SIGINT and SIGTERM
// are noted and raise its CancelToken instead of ending the process, so that
// the transfer stops at the next chance and leaves its .part file whole and
// resumable.
#pragma once

#include <agentdl/fetch/cancel.hpp>

namespace agentdl::cli {

class InterruptGuard
{
public:
  // Raises `cancel` on SIGINT and SIGTERM until the guard goes; `cancel`
  // must outlive the guard.
  explicit InterruptGuard(fetch::CancelToken& cancel);
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
};

// Returns the signal noted while a guard lived (SIGINT or SIGTERM), or 0.
int interrupted();

} // namespace agentdl::cli
