// Ctrl-C during a download: while an InterruptGuard lives, SIGINT and SIGTERM
// are noted instead of ending the process, so that the transfer stops at the
// next chance and leaves its .part file whole and resumable.
#pragma once

namespace agentdl::cli {

class InterruptGuard
{
public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
};

// Returns the signal noted while a guard lived (SIGINT or SIGTERM), or 0.
int interrupted();

} // namespace agentdl::cli
