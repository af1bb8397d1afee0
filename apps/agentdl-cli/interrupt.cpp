#include "interrupt.hpp"

#include <csignal>

namespace agentdl::cli {

namespace {

volatile std::sig_atomic_t g_signal = 0;

struct sigaction g_old_int;
struct sigaction g_old_term;

extern "C" void note_signal(int signal)
{
  g_signal = signal;
}

} // namespace

InterruptGuard::InterruptGuard()
{
  struct sigaction action = {};
  action.sa_handler = &note_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0; // no SA_RESTART: a blocking poll or sleep returns at once
  sigaction(SIGINT, &action, &g_old_int);
  sigaction(SIGTERM, &action, &g_old_term);
}

InterruptGuard::~InterruptGuard()
{
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
}

int interrupted()
{
  return g_signal;
}

} // namespace agentdl::cli
