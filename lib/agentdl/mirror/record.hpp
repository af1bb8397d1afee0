// The record a mirror keeps of the files it fetched and verified
// (DIR/.agentdl-sync): for each, its size, its modification time and the
// sha256 it was verified against. A file whose size and time still match
// its entry is the file that was verified, so a sync need not read it again;
// and what the record names is what --prune may remove.
#pragma once

#include <agentdl/error.hpp>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

namespace agentdl::mirror {

// The name of the record in a mirror's folder.
inline constexpr std::string_view k_record_name = ".agentdl-sync";

struct RecordEntry
{
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0; // nanoseconds since the epoch
  std::string sha256;        // what the file was verified against; empty when none was known

  bool operator==(const RecordEntry&) const = default;
};

struct Record
{
  std::map<std::string, RecordEntry> files; // by layout path (VERSION/PLATFORM/ARCH/FILE)
  // Layout paths whose fetch was started and not finished: their .part may
  // lie beside, and is the mirror's to resume or prune.
  std::set<std::string> partial;

  bool operator==(const Record&) const = default;
};

// Tells whether `path` has the shape of a mirror's layout: four segments,
// VERSION/PLATFORM/ARCH/FILE, none empty, "." or "..", no backslash or
// control character, and a version first.
bool is_layout_path(std::string_view path);

// Returns the record in `json`. Fails with Errc::io when it is not a record,
// or names a path outside the layout (which --prune would then remove).
Expected<Record> parse_record(std::string_view json);

// Returns `record` as JSON, one file per line (parse_record reads it back).
std::string record_json(const Record& record);

} // namespace agentdl::mirror
