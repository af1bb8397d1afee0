#include "interrupt.hpp"

#include <atomic>
#include <csignal>

namespace agentdl::cli {

namespace {

// Set by the handler, which may run on any thread; read by the receiving one.
std::atomic<int> g_signal = 0;
std::atomic<fetch::CancelToken*> g_cancel = nullptr;
static_assert(std::atomic<int>::is_always_lock_free);
static_assert(std::atomic<fetch::CancelToken*>::is_always_lock_free);

struct sigaction g_old_int;
struct sigaction g_old_term;

extern "C" void note_signal(int signal)
{
  g_signal = signal;
  if (auto* cancel = g_cancel.load()) {
    cancel->cancel();
  }
}

} // namespace

InterruptGuard::InterruptGuard(fetch::CancelToken& cancel)
{
  g_cancel = &cancel;
  struct sigaction action = {};
  action.sa_handler = &note_signal;
  sigemptyset(&action.sa_mask);
  // No SA_RESTART: a blocking poll or sleep returns at once. SA_RESETHAND: a
  // second Ctrl-C ends the process, should stopping take too long.
  action.sa_flags = static_cast<int>(SA_RESETHAND);
  sigaction(SIGINT, &action, &g_old_int);
  sigaction(SIGTERM, &action, &g_old_term);
}

InterruptGuard::~InterruptGuard()
{
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
  g_cancel = nullptr;
}

int interrupted()
{
  return g_signal;
}

} // namespace agentdl::cli
