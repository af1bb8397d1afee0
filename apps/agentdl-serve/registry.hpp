// The live sessions of one worker thread of agentdl-serve, for the drain
// and the deadline sweeper, and the coarse clock that deadlines are set
// against. Used by its own thread only: no lock, no atomic.
#pragma once

#include "transport.hpp"

#include <boost/intrusive/list.hpp>

#include <chrono>

namespace agentdl::serve {

class Session;

// A session's place in its worker's registry: it leaves the list by itself
// when destroyed (auto_unlink), so joining and leaving allocate nothing.
using RegistryHook =
  boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

// The sessions of one worker, so that a drain can close the idle ones and
// the sweeper the late ones.
class Registry
{
public:
  // How often connection deadlines are checked: the precision of every timeout.
  static constexpr auto k_sweep_interval = std::chrono::milliseconds(100);

  // Out of line: the list needs Session whole (registry.cpp).
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Adds `session`; it leaves when destroyed.
  void add(Session& session);

  // Returns the time as of the last sweep (k_sweep_interval), for setting deadlines.
  Clock::time_point coarse_now() const { return m_coarse_now; }

  // Records `now` as the coarse time, then closes the sessions whose
  // deadline has passed.
  void sweep(Clock::time_point now);

  // Closes the sessions waiting for a request (a drain).
  void close_idle();

  // Closes every session (the loop has stopped: a drain's timeout, or a
  // second signal).
  void close_all();

private:
  using List = boost::intrusive::list<Session,
                                      boost::intrusive::base_hook<RegistryHook>,
                                      boost::intrusive::constant_time_size<false>>;

  // Calls `end(session)` for each session `pick(session)` selects; a
  // session that closes stays alive until the call returns.
  template<typename Pick, typename End>
  void close_each(Pick pick, End end);

  List m_sessions;
  Clock::time_point m_coarse_now = Clock::now();
};

} // namespace agentdl::serve
