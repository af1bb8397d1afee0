#include <agentdl/rfc3339.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace agentdl {

namespace {

// Reads `digits` decimal digits at `at` into `value`, advancing `at`; false if
// they are not there. (Plain ints, not optionals: GCC 12 at -O2 warns that an
// optional's value may be read uninitialized after the checks.)
bool number(std::string_view text, std::size_t& at, std::size_t digits, int& value)
{
  if (at + digits > text.size()) {
    return false;
  }
  value = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    const char c = text[at + i];
    if (c < '0' || c > '9') {
      return false;
    }
    value = value * 10 + (c - '0');
  }
  at += digits;
  return true;
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
  int y = 0;
  int m = 0;
  int d = 0;
  int hh = 0;
  int mm = 0;
  int ss = 0;
  const bool complete = number(text, at, 4, y) && expect(text, at, "-") && number(text, at, 2, m) &&
                        expect(text, at, "-") && number(text, at, 2, d) && expect(text, at, "Tt") &&
                        number(text, at, 2, hh) && expect(text, at, ":") &&
                        number(text, at, 2, mm) && expect(text, at, ":") && number(text, at, 2, ss);
  if (!complete) {
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
    int oh = 0;
    int om = 0;
    if (!number(text, at, 2, oh) || !expect(text, at, ":") || !number(text, at, 2, om) || oh > 23 ||
        om > 59) {
      return std::nullopt;
    }
    offset = sign * (oh * 60 + om);
  }
  const year_month_day date{ year(y),
                             month(static_cast<unsigned>(m)),
                             day(static_cast<unsigned>(d)) };
  if (at != text.size() || !date.ok() || hh > 23 || mm > 59 || ss > 60) {
    return std::nullopt;
  }
  return sys_days(date) + hours(hh) + minutes(mm) + seconds(ss) - minutes(offset);
}

} // namespace agentdl
