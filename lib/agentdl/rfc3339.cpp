#include <agentdl/rfc3339.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <charconv>

namespace agentdl {

namespace {

// Reads `digits` decimal digits at `at`, advancing it; nullopt if they are not there.
std::optional<int> number(std::string_view text, std::size_t& at, std::size_t digits)
{
  if (at + digits > text.size()) {
    return std::nullopt;
  }
  int value = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    const char c = text[at + i];
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value = value * 10 + (c - '0');
  }
  at += digits;
  return value;
}

bool expect(std::string_view text, std::size_t& at, std::string_view allowed)
{
  if (at < text.size() && allowed.find(text[at]) != std::string_view::npos) {
    ++at;
    return true;
  }
  return false;
}

} // namespace

std::string rfc3339(SystemTime time)
{
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", std::chrono::floor<std::chrono::seconds>(time));
}

std::optional<SystemTime> parse_rfc3339(std::string_view text)
{
  using namespace std::chrono;
  std::size_t at = 0;
  const auto y = number(text, at, 4);
  const auto m = expect(text, at, "-") ? number(text, at, 2) : std::nullopt;
  const auto d = expect(text, at, "-") ? number(text, at, 2) : std::nullopt;
  const auto hh = expect(text, at, "Tt") ? number(text, at, 2) : std::nullopt;
  const auto mm = expect(text, at, ":") ? number(text, at, 2) : std::nullopt;
  const auto ss = expect(text, at, ":") ? number(text, at, 2) : std::nullopt;
  if (!y || !m || !d || !hh || !mm || !ss) {
    return std::nullopt;
  }
  if (expect(text, at, ".")) {
    const auto start = at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      ++at; // fractions of a second: a signature counts whole seconds
    }
    if (at == start) {
      return std::nullopt;
    }
  }
  int offset = 0; // minutes east of UTC
  if (!expect(text, at, "Zz")) {
    if (at >= text.size() || (text[at] != '+' && text[at] != '-')) {
      return std::nullopt;
    }
    const int sign = text[at++] == '-' ? -1 : 1;
    const auto oh = number(text, at, 2);
    const auto om = expect(text, at, ":") ? number(text, at, 2) : std::nullopt;
    if (!oh || !om || *oh > 23 || *om > 59) {
      return std::nullopt;
    }
    offset = sign * (*oh * 60 + *om);
  }
  const year_month_day date{ year(*y),
                             month(static_cast<unsigned>(*m)),
                             day(static_cast<unsigned>(*d)) };
  if (at != text.size() || !date.ok() || *hh > 23 || *mm > 59 || *ss > 60) {
    return std::nullopt;
  }
  return sys_days(date) + hours(*hh) + minutes(*mm) + seconds(*ss) - minutes(offset);
}

} // namespace agentdl
