// Cancellation, from a host to the download engine: the host raises the
// token (from a signal handler, another thread or a test) and the engine
// stops at its next chance, keeping what it wrote.
#pragma once

#include <atomic>

namespace agentdl::fetch {

// A request to stop, shared by the host that raises it and the transfers
// that check it (between bytes, and while waiting to retry).
class CancelToken
{
public:
  CancelToken() = default;
  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  // Asks the work that checks this token to stop; safe in a signal handler.
  void cancel() noexcept { m_cancelled.store(true, std::memory_order_relaxed); }

  // Tells whether cancel() was called.
  bool cancelled() const noexcept { return m_cancelled.load(std::memory_order_relaxed); }

private:
  static_assert(std::atomic<bool>::is_always_lock_free);
  std::atomic<bool> m_cancelled = false;
};

} // namespace agentdl::fetch
