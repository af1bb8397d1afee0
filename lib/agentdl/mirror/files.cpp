#include <agentdl/http_message.hpp>
#include <agentdl/location.hpp>
#include <agentdl/mirror/files.hpp>
#include <agentdl/utf8.hpp>

#include <boost/url/grammar/hexdig_chars.hpp>
#include <fmt/format.h>

#include <array>
#include <chrono>
#include <limits>
#include <utility>

namespace agentdl::mirror {

namespace {

constexpr std::array<std::string_view, 7> k_days{ "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
constexpr std::array<std::string_view, 7> k_long_days{ "Sunday",   "Monday", "Tuesday", "Wednesday",
                                                       "Thursday", "Friday", "Saturday" };
constexpr std::array<std::string_view, 12> k_months{ "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

char ascii_lower(char c)
{
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b)
{
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) {
      return false;
    }
  }
  return true;
}

// Returns the number `digits` spells, at most UINT64_MAX (a range past any
// file is past this one too); nullopt unless it is one or more digits.
std::optional<std::uint64_t> parse_count(std::string_view digits)
{
  if (digits.empty()) {
    return std::nullopt;
  }
  constexpr auto k_max = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t n = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    const auto digit = static_cast<std::uint64_t>(c - '0');
    n = n > (k_max - digit) / 10 ? k_max : n * 10 + digit;
  }
  return n;
}

// Reads an HTTP date from the front of a text.
class DateReader
{
public:
  explicit DateReader(std::string_view text)
    : m_rest(text)
  {
  }

  bool done() const { return m_rest.empty(); }

  // Takes `text` if the rest starts with it.
  bool take(std::string_view text)
  {
    if (!m_rest.starts_with(text)) {
      return false;
    }
    m_rest.remove_prefix(text.size());
    return true;
  }

  // Takes one of `names` (case-sensitive, RFC 9110); returns its index.
  template<std::size_t N>
  std::optional<unsigned> take_name(const std::array<std::string_view, N>& names)
  {
    for (unsigned i = 0; i < N; ++i) {
      if (take(names[i])) {
        return i;
      }
    }
    return std::nullopt;
  }

  // Takes exactly `count` digits; a leading space stands for a 0 when
  // `space_padded` (asctime's day of month).
  std::optional<int> take_number(std::size_t count, bool space_padded = false)
  {
    if (m_rest.size() < count) {
      return std::nullopt;
    }
    int n = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const char c = m_rest[i];
      if (space_padded && i == 0 && c == ' ') {
        continue;
      }
      if (c < '0' || c > '9') {
        return std::nullopt;
      }
      n = n * 10 + (c - '0');
    }
    m_rest.remove_prefix(count);
    return n;
  }

private:
  std::string_view m_rest;
};

// Returns the Unix time of a UTC date and time, if it is one.
std::optional<std::int64_t> unix_time(int year,
                                      std::optional<unsigned> month,
                                      std::optional<int> day,
                                      std::optional<int> hour,
                                      std::optional<int> minute,
                                      std::optional<int> second)
{
  if (!month || !day || !hour || !minute || !second || *hour > 23 || *minute > 59 || *second > 59) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{ std::chrono::year(year),
                                          std::chrono::month(*month + 1),
                                          std::chrono::day(static_cast<unsigned>(*day)) };
  if (!date.ok()) {
    return std::nullopt;
  }
  const auto days = std::chrono::sys_days(date).time_since_epoch().count();
  return std::int64_t{ days } * 86400 + *hour * 3600 + *minute * 60 + *second;
}

// Reads "HH:MM:SS" into `hour`, `minute`, `second`.
void take_time(DateReader& in,
               std::optional<int>& hour,
               std::optional<int>& minute,
               std::optional<int>& second)
{
  hour = in.take_number(2);
  minute = hour && in.take(":") ? in.take_number(2) : std::nullopt;
  second = minute && in.take(":") ? in.take_number(2) : std::nullopt;
}

// The two forms that end with "GMT".
enum class GmtForm
{
  imf_fixdate, // "Sun, 06 Nov 1994 08:49:37 GMT"
  rfc850,      // "Sunday, 06-Nov-94 08:49:37 GMT"
};

std::optional<std::int64_t> parse_gmt_date(std::string_view text, GmtForm form)
{
  const bool rfc850 = form == GmtForm::rfc850;
  const std::string_view separator = rfc850 ? "-" : " ";
  DateReader in(text);
  if (!(rfc850 ? in.take_name(k_long_days) : in.take_name(k_days)) || !in.take(", ")) {
    return std::nullopt;
  }
  const auto day = in.take_number(2);
  const auto month = day && in.take(separator) ? in.take_name(k_months) : std::nullopt;
  const auto year = month && in.take(separator) ? in.take_number(rfc850 ? 2 : 4) : std::nullopt;
  std::optional<int> hour, minute, second;
  if (year && in.take(" ")) {
    take_time(in, hour, minute, second);
  }
  if (!second || !in.take(" GMT") || !in.done()) {
    return std::nullopt;
  }
  // Two digits: years 70 to 99 are the 1900s (no file is older than Unix time).
  const int full_year = !rfc850 ? *year : *year >= 70 ? 1900 + *year : 2000 + *year;
  return unix_time(full_year, month, day, hour, minute, second);
}

// "Sun Nov  6 08:49:37 1994"
std::optional<std::int64_t> parse_asctime_date(std::string_view text)
{
  DateReader in(text);
  if (!in.take_name(k_days) || !in.take(" ")) {
    return std::nullopt;
  }
  const auto month = in.take_name(k_months);
  const auto day = month && in.take(" ") ? in.take_number(2, true) : std::nullopt;
  std::optional<int> hour, minute, second;
  if (day && in.take(" ")) {
    take_time(in, hour, minute, second);
  }
  const auto year = second && in.take(" ") ? in.take_number(4) : std::nullopt;
  if (!year || !in.done()) {
    return std::nullopt;
  }
  return unix_time(*year, month, day, hour, minute, second);
}

// Returns the opaque tag of an entity tag, its quoted string without W/.
std::string_view opaque_tag(std::string_view tag)
{
  return tag.starts_with("W/") ? tag.substr(2) : tag;
}

// Tells whether the If-Range value `value` still names the file whose ETag
// is `etag` and Last-Modified `modified` (RFC 9110 section 13.1.5): an equal
// strong ETag, or a date equal to Last-Modified.
bool if_range_holds(std::string_view value, std::string_view etag, std::int64_t modified)
{
  value = trim_ows(value);
  if (value.starts_with('"') || value.starts_with("W/")) {
    return value == etag; // the strong comparison: a weak tag never matches
  }
  const auto date = parse_http_date(value);
  return date && *date == modified;
}

std::int64_t seconds_of(std::int64_t ns)
{
  // Rounded down, also before 1970: the second the modification fell in.
  return ns >= 0 ? ns / 1'000'000'000 : -((-ns + 999'999'999) / 1'000'000'000);
}

// RFC 8187's attr-char, which filename* carries as it is.
bool is_attr_char(unsigned char c)
{
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  return std::string_view("!#$&+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

} // namespace

Expected<std::string> decode_file_path(std::string_view encoded)
{
  const auto bad = [&](std::string_view why) {
    return fail(Errc::bad_request,
                fmt::format("file path \"{}\" {}", encoded, why),
                { { "path", std::string(encoded) } });
  };
  if (encoded.empty()) {
    return fail(Errc::not_found,
                "no file at /files/ (a folder is not listed)",
                { { "path", std::string() } });
  }
  std::string decoded;
  decoded.reserve(encoded.size());
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    char c = encoded[i];
    if (c == '%') {
      using boost::urls::grammar::hexdig_value;
      const int high = i + 2 < encoded.size() ? hexdig_value(encoded[i + 1]) : -1;
      const int low = high >= 0 ? hexdig_value(encoded[i + 2]) : -1;
      if (low < 0) {
        return bad("has a malformed percent-encoding");
      }
      c = static_cast<char>(high * 16 + low);
      // Decoded, these would make segments the path does not show.
      if (c == '/') {
        return bad("has an encoded '/' (%2F)");
      }
      if (c == '\\') {
        return bad("has an encoded backslash (%5C)");
      }
      i += 2;
    }
    decoded += c;
  }
  if (!is_valid_utf8(decoded)) {
    return bad("is not UTF-8 once decoded");
  }
  if (auto checked = check_relative_path(decoded); !checked) {
    return bad(checked.error());
  }
  return decoded;
}

std::string entity_tag(const FileIdentity& file)
{
  return fmt::format(
    "\"{:x}-{:x}-{:x}\"", file.size, static_cast<std::uint64_t>(file.mtime_ns), file.inode);
}

std::string format_http_date(std::int64_t unix_seconds)
{
  using namespace std::chrono;
  const auto time = sys_seconds(seconds(unix_seconds));
  const auto days = floor<std::chrono::days>(time);
  const year_month_day date(days);
  const hh_mm_ss clock(time - days);
  return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
                     k_days[weekday(days).c_encoding()],
                     static_cast<unsigned>(date.day()),
                     k_months[static_cast<unsigned>(date.month()) - 1],
                     static_cast<int>(date.year()),
                     clock.hours().count(),
                     clock.minutes().count(),
                     clock.seconds().count());
}

std::optional<std::int64_t> parse_http_date(std::string_view text)
{
  if (auto time = parse_gmt_date(text, GmtForm::imf_fixdate)) {
    return time;
  }
  if (auto time = parse_gmt_date(text, GmtForm::rfc850)) {
    return time;
  }
  return parse_asctime_date(text);
}

bool none_match_matches(std::string_view list, std::string_view etag)
{
  if (trim_ows(list) == "*") {
    return true;
  }
  const auto ours = opaque_tag(etag);
  std::string_view rest = list;
  while (true) {
    // Elements are entity tags between commas, with spaces around (RFC 9110
    // section 5.6.1); empty ones are allowed.
    while (!rest.empty() && (rest.front() == ',' || rest.front() == ' ' || rest.front() == '\t')) {
      rest.remove_prefix(1);
    }
    if (rest.empty()) {
      return false;
    }
    const std::size_t start = rest.starts_with("W/") ? 2 : 0;
    if (rest.size() <= start || rest[start] != '"') {
      return false; // not an entity tag: the value is malformed, nothing matches
    }
    const auto close = rest.find('"', start + 1);
    if (close == std::string_view::npos) {
      return false;
    }
    if (rest.substr(start, close + 1 - start) == ours) {
      return true;
    }
    rest.remove_prefix(close + 1);
    const auto after = trim_ows(rest);
    if (!after.empty() && after.front() != ',') {
      return false;
    }
  }
}

RangeChoice select_range(std::string_view range, std::uint64_t size)
{
  const RangeChoice whole;
  const auto equals = range.find('=');
  if (equals == std::string_view::npos || !iequals(range.substr(0, equals), "bytes")) {
    return whole;
  }
  std::optional<std::string_view> spec;
  auto rest = range.substr(equals + 1);
  while (true) {
    const auto comma = rest.find(',');
    const auto element = trim_ows(rest.substr(0, comma));
    if (!element.empty()) {
      if (spec) {
        return whole; // several ranges: the whole file, not multipart/byteranges
      }
      spec = element;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(comma + 1);
  }
  const auto dash = spec ? spec->find('-') : std::string_view::npos;
  if (dash == std::string_view::npos) {
    return whole;
  }
  const auto first_text = spec->substr(0, dash);
  const auto last_text = spec->substr(dash + 1);
  if (first_text.empty()) {
    // "-N": the last N bytes.
    const auto suffix = parse_count(last_text);
    if (!suffix) {
      return whole;
    }
    if (*suffix == 0) {
      return { RangeChoice::Kind::unsatisfiable };
    }
    if (size == 0) {
      return whole; // satisfiable, and the whole of nothing is nothing
    }
    return { RangeChoice::Kind::partial, size - std::min(*suffix, size), size - 1 };
  }
  const auto first = parse_count(first_text);
  const auto last = last_text.empty() ? std::optional(std::numeric_limits<std::uint64_t>::max())
                                      : parse_count(last_text);
  if (!first || !last || *last < *first) {
    return whole; // an invalid range-spec makes the header one to ignore
  }
  if (*first >= size) {
    return { RangeChoice::Kind::unsatisfiable };
  }
  return { RangeChoice::Kind::partial, *first, std::min(*last, size - 1) };
}

std::string_view content_type(std::string_view name)
{
  // A flat .pkg is a xar archive, not the XML that application/vnd.apple.
  // installer+xml names (a .dist or .mpkg descriptor): octet-stream, so that
  // no browser tries to show it. ".tar.gz" ends with ".gz".
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 9> k_types{ {
    { ".msi", "application/x-msi" },
    { ".pkg", "application/octet-stream" },
    { ".exe", "application/vnd.microsoft.portable-executable" },
    { ".dmg", "application/x-apple-diskimage" },
    { ".zip", "application/zip" },
    { ".gz", "application/gzip" },
    { ".tgz", "application/gzip" },
    { ".deb", "application/vnd.debian.binary-package" },
    { ".rpm", "application/x-rpm" },
  } };
  for (const auto& [extension, type] : k_types) {
    if (name.size() >= extension.size() &&
        iequals(name.substr(name.size() - extension.size()), extension)) {
      return type;
    }
  }
  return "application/octet-stream";
}

std::string content_disposition(std::string_view name)
{
  std::string out = "attachment; filename=\"";
  bool exact = true;
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if ((u & 0xc0) == 0x80) {
      exact = false; // a UTF-8 continuation byte: its character is one '_' already
    } else if (u >= 0x80 || u < 0x20 || u == 0x7f || c == '"' || c == '\\') {
      out += '_';
      exact = false;
    } else {
      out += c;
    }
  }
  out += '"';
  if (!exact) {
    out += "; filename*=UTF-8''";
    for (const char c : name) {
      const auto u = static_cast<unsigned char>(c);
      if (is_attr_char(u)) {
        out += c;
      } else {
        out += fmt::format("%{:02X}", u);
      }
    }
  }
  return out;
}

FileAnswer answer_file(std::string_view path,
                       const FileIdentity& file,
                       const FileConditions& conditions)
{
  FileAnswer answer;
  auto& response = answer.response;
  response.route = "files";
  const auto etag = entity_tag(file);
  const auto modified = seconds_of(file.mtime_ns);
  response.headers.emplace_back("ETag", etag);
  response.headers.emplace_back("Last-Modified", format_http_date(modified));

  // RFC 9110 section 13.2.2: If-None-Match, or without it If-Modified-Since,
  // then If-Range with Range.
  bool not_modified = false;
  if (conditions.if_none_match) {
    not_modified = none_match_matches(*conditions.if_none_match, etag);
  } else if (conditions.if_modified_since) {
    const auto since = parse_http_date(trim_ows(*conditions.if_modified_since));
    not_modified = since && modified <= *since;
  }
  if (not_modified) {
    response.status = 304;
    answer.content_length = file.size; // what a 200 would carry; no body follows
    return answer;
  }

  RangeChoice choice;
  if (!conditions.head && conditions.range &&
      (!conditions.if_range || if_range_holds(*conditions.if_range, etag, modified))) {
    choice = select_range(*conditions.range, file.size);
  }
  if (choice.kind == RangeChoice::Kind::unsatisfiable) {
    auto error = error_response(
      Error(Errc::range_not_satisfiable,
            fmt::format("range \"{}\" starts past the end of the file ({} bytes)",
                        *conditions.range,
                        file.size),
            { { "range", std::string(*conditions.range) }, { "size", std::to_string(file.size) } }),
      "files");
    error.headers.emplace_back("Content-Range", fmt::format("bytes */{}", file.size));
    answer.content_length = error.body.size();
    answer.response = std::move(error);
    return answer;
  }

  const auto name = path.substr(path.rfind('/') + 1);
  response.content_type = content_type(name);
  response.headers.emplace_back("Accept-Ranges", "bytes");
  response.headers.emplace_back("Content-Disposition", content_disposition(name));
  if (choice.kind == RangeChoice::Kind::partial) {
    response.status = 206;
    response.headers.emplace_back(
      "Content-Range", fmt::format("bytes {}-{}/{}", choice.first, choice.last, file.size));
    answer.offset = choice.first;
    answer.content_length = choice.last - choice.first + 1;
  } else {
    answer.content_length = file.size;
  }
  answer.length = conditions.head ? 0 : answer.content_length;
  return answer;
}

Error file_not_found(std::string_view path)
{
  return Error(Errc::not_found,
               fmt::format("no file \"{}\" in the mirror", path),
               { { "path", std::string(path) } });
}

ApiResponse open_failure_response(OpenFailure failure, std::string_view path)
{
  switch (failure) {
    case OpenFailure::missing:
    case OpenFailure::not_a_file:
      return error_response(file_not_found(path), "files");
    case OpenFailure::leaves_root:
      return error_response(
        Error(Errc::forbidden,
              fmt::format("file \"{}\" is a symbolic link that leads out of the mirror", path),
              { { "path", std::string(path) } }),
        "files");
    case OpenFailure::denied:
      return error_response(Error(Errc::forbidden,
                                  fmt::format("file \"{}\" may not be read", path),
                                  { { "path", std::string(path) } }),
                            "files");
    case OpenFailure::failed:
      break;
  }
  return error_response(Error(Errc::internal, "cannot read the file"), "files");
}

} // namespace agentdl::mirror
