// The progress shown on stderr while files download, only when stderr is a
// terminal: the bar of `agentdl download`, and the total of `agentdl mirror
// sync` (one line, redrawn in place).
#pragma once

#include <agentdl/fetch/progress.hpp>
#include <agentdl/fetch/sync.hpp>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace agentdl::cli {

// One line on stderr, redrawn in place.
class StatusLine
{
public:
  // Draws nothing unless `enabled` and stderr is a terminal.
  explicit StatusLine(bool enabled);

  // Tells whether the line may be redrawn now: at most ten times a second.
  bool due();

  // Replaces the line with `text`.
  void draw(std::string text);

  // Removes the line from the terminal.
  void clear();

private:
  bool m_enabled;
  std::chrono::steady_clock::time_point m_drawn;
  std::size_t m_width = 0; // of the line drawn last
};

class ProgressBar final : public fetch::Progress
{
public:
  // Shows nothing unless `enabled` and stderr is a terminal.
  explicit ProgressBar(bool enabled);
  ~ProgressBar() override;
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Starts a transfer that continues from `offset` bytes already on disk
  // towards `expected` bytes in all (when known).
  void start(std::uint64_t offset, std::optional<std::uint64_t> expected) override;

  // Shows `received` bytes of this transfer, of `total` (0: unknown); redraws
  // at most ten times a second.
  void update(std::uint64_t received, std::uint64_t total) override;

  // Removes the bar from the terminal.
  void clear() override;

private:
  StatusLine m_line;
  std::uint64_t m_offset = 0;
  std::optional<std::uint64_t> m_expected;
  std::chrono::steady_clock::time_point m_started;
};

// The progress of a mirror sync: one line with the files done and the bytes
// on disk of all, and a line `agentdl: error: NAME: MESSAGE` above it for
// each file that fails (but for an interruption, which the end reports).
class SyncBar final : public fetch::SyncProgress
{
public:
  // Shows the progress of the files named `names` (for messages), of
  // `sizes` bytes when known, on stderr when `enabled` and it is a terminal.
  SyncBar(bool enabled,
          std::vector<std::string> names,
          std::vector<std::optional<std::uint64_t>> sizes);
  ~SyncBar() override;
  SyncBar(const SyncBar&) = delete;
  SyncBar& operator=(const SyncBar&) = delete;

  // Notes that file `index` has `done` bytes on disk, of `expected` when known.
  void transfer(std::size_t index,
                std::uint64_t done,
                std::optional<std::uint64_t> expected) override;

  // Notes that file `index` is over, printing its error if it failed.
  void finished(std::size_t index, const fetch::ItemResult& result) override;

  // Removes the line from the terminal, for good: the transfers are over.
  void close();

private:
  void redraw();

  std::mutex m_mutex;
  StatusLine m_line;
  std::vector<std::string> m_names;
  std::vector<std::uint64_t> m_expected; // per file: its size, or 0 when unknown
  std::vector<std::uint64_t> m_done;     // per file: bytes on disk
  std::vector<std::optional<std::uint64_t>>
    m_first; // per file: bytes on disk as its transfer began
  std::size_t m_finished = 0;
  std::chrono::steady_clock::time_point m_started;
  bool m_closed = false;
};

// Returns `bytes` for people: "812 B", "45.2 MiB".
std::string human_size(std::uint64_t bytes);

} // namespace agentdl::cli
