#include "progress.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <unistd.h>

namespace agentdl::cli {

namespace {

constexpr std::size_t k_bar_width = 24;

std::string duration(double seconds)
{
  const auto s = static_cast<std::uint64_t>(seconds + 0.5);
  return s >= 3600 ? fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
                   : fmt::format("{}:{:02}", s / 60, s % 60);
}

} // namespace

std::string human_size(std::uint64_t bytes)
{
  if (bytes < 1024) {
    return fmt::format("{} B", bytes);
  }
  static constexpr const char* k_units[] = { "KiB", "MiB", "GiB", "TiB" };
  auto value = static_cast<double>(bytes) / 1024;
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(k_units)) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, k_units[unit]);
}

ProgressBar::ProgressBar(bool enabled)
  : m_enabled(enabled && isatty(STDERR_FILENO) == 1)
{
}

ProgressBar::~ProgressBar()
{
  clear();
}

void ProgressBar::start(std::uint64_t offset, std::optional<std::uint64_t> expected)
{
  m_offset = offset;
  m_expected = expected;
  m_started = std::chrono::steady_clock::now();
  m_drawn = {};
}

void ProgressBar::update(std::uint64_t received, std::uint64_t total)
{
  if (!m_enabled || m_started == std::chrono::steady_clock::time_point{}) {
    return; // off, or no file has started yet
  }
  const auto now = std::chrono::steady_clock::now();
  if (now - m_drawn < std::chrono::milliseconds(100)) {
    return;
  }
  m_drawn = now;
  const std::uint64_t done = m_offset + received;
  const std::uint64_t all = m_expected ? *m_expected : (total > 0 ? m_offset + total : 0);
  const double elapsed = std::chrono::duration<double>(now - m_started).count();
  const double rate = elapsed > 0 ? static_cast<double>(received) / elapsed : 0;

  std::string line;
  if (all > 0 && done <= all) {
    const double fraction = static_cast<double>(done) / static_cast<double>(all);
    const auto filled = static_cast<std::size_t>(fraction * k_bar_width);
    const std::string eta =
      rate > 0 ? duration(static_cast<double>(all - done) / rate) : std::string("--:--");
    line = fmt::format("[{}{}] {:>3}%  {} / {}  {}/s  ETA {}",
                       std::string(filled, '#'),
                       std::string(k_bar_width - filled, '-'),
                       static_cast<int>(fraction * 100),
                       human_size(done),
                       human_size(all),
                       human_size(static_cast<std::uint64_t>(rate)),
                       eta);
  } else {
    line = fmt::format("{}  {}/s", human_size(done), human_size(static_cast<std::uint64_t>(rate)));
  }
  const std::size_t width = line.size();
  if (width < m_width) {
    line.append(m_width - width, ' ');
  }
  m_width = width;
  fmt::print(stderr, "\r{}", line);
  std::fflush(stderr);
}

void ProgressBar::clear()
{
  if (m_enabled && m_width > 0) {
    fmt::print(stderr, "\r{}\r", std::string(m_width, ' '));
    std::fflush(stderr);
    m_width = 0;
  }
}

} // namespace agentdl::cli
