// Progress, from the download engine to its host (ninja's Status): the
// engine says what it transfers, the host decides whether and how to show it.
#pragma once

#include <cstdint>
#include <optional>

namespace agentdl::fetch {

// Receives the progress of a download's transfers; called on the thread that
// runs the download.
class Progress
{
public:
  virtual ~Progress() = default;

  // Starts a transfer that continues from `offset` bytes already on disk
  // towards `expected` bytes in all (when known).
  virtual void start(std::uint64_t offset, std::optional<std::uint64_t> expected) = 0;

  // Tells that `received` bytes of this transfer came, of `total` (0: unknown).
  virtual void update(std::uint64_t received, std::uint64_t total) = 0;

  // Ends the transfer's display: it stopped, for good or to be tried again.
  virtual void clear() = 0;

protected:
  Progress() = default;
  Progress(const Progress&) = default;
  Progress& operator=(const Progress&) = default;
};

// A Progress that shows nothing (a mirror, a daemon, a test).
class NoProgress final : public Progress
{
public:
  void start(std::uint64_t, std::optional<std::uint64_t>) override {}
  void update(std::uint64_t, std::uint64_t) override {}
  void clear() override {}
};

} // namespace agentdl::fetch
