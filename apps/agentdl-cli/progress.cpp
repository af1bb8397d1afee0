#include "progress.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <numeric>
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

// Returns "[####----]  45%" for `done` of `all` (> 0).
std::string bar(std::uint64_t done, std::uint64_t all)
{
  const double fraction = static_cast<double>(done) / static_cast<double>(all);
  const auto filled = static_cast<std::size_t>(fraction * k_bar_width);
  return fmt::format("[{}{}] {:>3}%",
                     std::string(filled, '#'),
                     std::string(k_bar_width - filled, '-'),
                     static_cast<int>(fraction * 100));
}

// Returns the bytes per second of `bytes` since `started`.
double rate(std::uint64_t bytes, std::chrono::steady_clock::time_point started)
{
  const double elapsed =
    std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return elapsed > 0 ? static_cast<double>(bytes) / elapsed : 0;
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

StatusLine::StatusLine(bool enabled)
  : m_enabled(enabled && isatty(STDERR_FILENO) == 1)
{
}

bool StatusLine::due()
{
  const auto now = std::chrono::steady_clock::now();
  if (!m_enabled || now - m_drawn < std::chrono::milliseconds(100)) {
    return false;
  }
  m_drawn = now;
  return true;
}

void StatusLine::draw(std::string text)
{
  if (!m_enabled) {
    return;
  }
  const std::size_t width = text.size();
  if (width < m_width) {
    text.append(m_width - width, ' ');
  }
  m_width = width;
  fmt::print(stderr, "\r{}", text);
  std::fflush(stderr);
}

void StatusLine::clear()
{
  if (m_enabled && m_width > 0) {
    fmt::print(stderr, "\r{}\r", std::string(m_width, ' '));
    std::fflush(stderr);
    m_width = 0;
  }
}

ProgressBar::ProgressBar(bool enabled)
  : m_line(enabled)
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
}

void ProgressBar::update(std::uint64_t received, std::uint64_t total)
{
  // Nothing before a file has started (the answers of redirects).
  if (m_started == std::chrono::steady_clock::time_point{} || !m_line.due()) {
    return;
  }
  const std::uint64_t done = m_offset + received;
  const std::uint64_t all = m_expected ? *m_expected : (total > 0 ? m_offset + total : 0);
  const double bytes_per_second = rate(received, m_started);
  if (all > 0 && done <= all) {
    const std::string eta = bytes_per_second > 0
                              ? duration(static_cast<double>(all - done) / bytes_per_second)
                              : std::string("--:--");
    m_line.draw(fmt::format("{}  {} / {}  {}/s  ETA {}",
                            bar(done, all),
                            human_size(done),
                            human_size(all),
                            human_size(static_cast<std::uint64_t>(bytes_per_second)),
                            eta));
  } else {
    m_line.draw(fmt::format(
      "{}  {}/s", human_size(done), human_size(static_cast<std::uint64_t>(bytes_per_second))));
  }
}

void ProgressBar::clear()
{
  m_line.clear();
}

SyncBar::SyncBar(bool enabled,
                 std::vector<std::string> names,
                 std::vector<std::optional<std::uint64_t>> sizes)
  : m_line(enabled)
  , m_names(std::move(names))
  , m_done(m_names.size())
  , m_first(m_names.size())
  , m_started(std::chrono::steady_clock::now())
{
  for (const auto& size : sizes) {
    m_expected.push_back(size.value_or(0));
  }
}

SyncBar::~SyncBar()
{
  close();
}

void SyncBar::close()
{
  const std::scoped_lock lock(m_mutex);
  m_line.clear();
  m_closed = true;
}

void SyncBar::transfer(std::size_t index, std::uint64_t done, std::optional<std::uint64_t> expected)
{
  const std::scoped_lock lock(m_mutex);
  if (!m_first[index] || done < *m_first[index]) {
    m_first[index] = done; // a transfer begins (or begins again from 0)
  }
  m_done[index] = done;
  if (m_expected[index] == 0 && expected) {
    m_expected[index] = *expected;
  }
  if (!m_closed && m_line.due()) {
    redraw();
  }
}

void SyncBar::finished(std::size_t index, const fetch::ItemResult& result)
{
  const std::scoped_lock lock(m_mutex);
  ++m_finished;
  if (result.error && result.error->code != Errc::interrupted) {
    m_line.clear();
    fmt::print(stderr, "agentdl: error: {}: {}\n", m_names[index], result.error->message);
  }
  if (!result.error) {
    m_done[index] = m_expected[index];
  }
  if (!m_closed) {
    redraw();
  }
}

void SyncBar::redraw()
{
  const auto done = std::accumulate(m_done.begin(), m_done.end(), std::uint64_t{ 0 });
  const auto all = std::accumulate(m_expected.begin(), m_expected.end(), std::uint64_t{ 0 });
  std::uint64_t received = 0;
  for (std::size_t i = 0; i < m_done.size(); ++i) {
    received += m_done[i] - std::min(m_first[i].value_or(m_done[i]), m_done[i]);
  }
  const auto files = fmt::format("{}/{} files", m_finished, m_names.size());
  const auto speed = human_size(static_cast<std::uint64_t>(rate(received, m_started)));
  m_line.draw(
    all > 0 && done <= all
      ? fmt::format(
          "{}  {}  {} / {}  {}/s", bar(done, all), files, human_size(done), human_size(all), speed)
      : fmt::format("{}  {}  {}/s", files, human_size(done), speed));
}

} // namespace agentdl::cli
