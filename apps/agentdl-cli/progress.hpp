// The progress bar of `agentdl download`: one line on stderr, redrawn in
// place, only when stderr is a terminal.
#pragma once

#include <agentdl/fetch/progress.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace agentdl::cli {

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
  bool m_enabled;
  std::uint64_t m_offset = 0;
  std::optional<std::uint64_t> m_expected;
  std::chrono::steady_clock::time_point m_started;
  std::chrono::steady_clock::time_point m_drawn;
  std::size_t m_width = 0; // of the line drawn last
};

// Returns `bytes` for people: "812 B", "45.2 MiB".
std::string human_size(std::uint64_t bytes);

} // namespace agentdl::cli
