// Range and the conditional headers of /files/: Range, If-Range,
// If-None-Match and If-Modified-Since (one per line, an empty line: not
// sent), then the file's size; and HTTP dates, which must round-trip.
#include "fuzz.hpp"

#include <agentdl/mirror/files.hpp>

#include <charconv>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  using namespace agentdl;
  using mirror::RangeChoice;
  const auto f = fuzz::fields(fuzz::text_of(data, size), 5);
  std::uint64_t file_size = 1000;
  std::from_chars(f[4].data(), f[4].data() + f[4].size(), file_size);

  const auto choice = mirror::select_range(f[0], file_size);
  if (choice.kind == RangeChoice::Kind::partial) {
    fuzz::require(choice.first <= choice.last && choice.last < file_size,
                  "a partial range lies within the file");
  }
  if (const auto date = mirror::parse_http_date(f[3]);
      date && *date >= 0 && *date < 253'402'300'800) {
    fuzz::require(mirror::parse_http_date(mirror::format_http_date(*date)) == *date,
                  "an HTTP date round-trips");
  }
  const auto optional = [](std::string_view field) {
    return field.empty() ? std::nullopt : std::optional<std::string_view>(field);
  };
  const mirror::FileIdentity file{ file_size, 1'790'000'000'123'456'789, 42 };
  for (const bool head : { false, true }) {
    const auto answer = mirror::answer_file("a/b.msi",
                                            file,
                                            { .head = head,
                                              .range = optional(f[0]),
                                              .if_range = optional(f[1]),
                                              .if_none_match = optional(f[2]),
                                              .if_modified_since = optional(f[3]) });
    const auto status = answer.response.status;
    fuzz::require(status == 200 || status == 206 || status == 304 || status == 416,
                  "a file is answered 200, 206, 304 or 416");
    if (status == 206) {
      fuzz::require(!head && answer.length > 0 && answer.offset + answer.length <= file_size,
                    "a 206 sends bytes of the file");
    }
  }
  if (mirror::none_match_matches(f[2], mirror::entity_tag(file))) {
    mirror::FileConditions conditions;
    conditions.if_none_match = f[2];
    fuzz::require(mirror::answer_file("a", file, conditions).response.status == 304,
                  "a matching If-None-Match is 304");
  }
  return 0;
}
