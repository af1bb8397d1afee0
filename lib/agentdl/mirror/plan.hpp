// What a mirror sync does, as pure functions of values (STYLE.md, "Decisions
// as pure functions"): which releases and artifacts the mirror holds, where
// each lies, and which files to fetch, skip or prune given the folder's
// record and what is on disk.
#pragma once

#include <agentdl/error.hpp>
#include <agentdl/mirror/listing.hpp>
#include <agentdl/mirror/record.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace agentdl::mirror {

// The command line's filters; an empty list lets everything through.
struct Filters
{
  std::vector<std::string> channels;  // these channels and those they include
  std::vector<std::string> platforms; // names or the upstream's own aliases
  std::vector<std::string> archs;
  std::optional<std::string> since; // versions at or above this one, by precedence
};

// Returns what the mirror of `upstream` under `filters` holds, as a listing:
// its non-yanked releases of the selected channels (all channels, or those
// `filters.channels` reach) at or above `since`, and each selected channel's
// current release whatever `since` says (a mirror answers "latest" as the
// upstream does); each release with its own channels among the selected
// ones, and its artifacts of the selected platforms and archs (a release
// keeps its place when none is selected: latest stays what it is upstream),
// each with its layout path; the selected channels, `pinned` where the
// upstream's current release is not the one the mirror would pick itself;
// the upstream's default channel when selected; all platforms and aliases.
// Fails with Errc::usage for a filter that names nothing upstream, and with
// Errc::config for an artifact whose file name a mirror cannot store.
Expected<Listing> mirror_listing(const Listing& upstream, const Filters& filters);

// Returns where `artifact` of `release` lies in a mirror, relative to its
// folder: VERSION/PLATFORM/ARCH/FILENAME.
std::string layout_path(const ListedRelease& release, const ListedArtifact& artifact);

// A plain file on disk: what the record compares.
struct FileStat
{
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;

  bool operator==(const FileStat&) const = default;
};

// An artifact of a listing: its release's index and its own in the release.
struct ArtifactRef
{
  std::size_t release = 0;
  std::size_t artifact = 0;

  bool operator==(const ArtifactRef&) const = default;
};

enum class Prune
{
  no,
  yes
};

struct Plan
{
  std::vector<ArtifactRef> fetch;        // to download (and verify): not known to be in place
  std::vector<ArtifactRef> skip;         // in place: recorded, and unchanged since
  std::vector<std::string> remove;       // with Prune::yes: recorded files no longer listed
  std::vector<std::string> remove_parts; // with Prune::yes: .part files of unfinished fetches
                                         // of what is no longer listed (their layout paths)
  // The record to keep while the fetches run: the entries still true (those
  // of `remove` and `remove_parts` too, until they are removed), and the
  // fetches as partial.
  Record record;
};

// Returns what a sync of `mirror` (a listing from mirror_listing) does in a
// folder whose record is `record` and that holds `on_disk`: the plain files
// at the layout paths of `mirror` and `record`, and the .part files of the
// record's partial paths (as "PATH.part"). An artifact is skipped when its
// record entry's size and modification time match the file's and its sha256
// (and size, when known) is the one the mirror wants; else it is fetched.
Plan make_plan(const Listing& mirror,
               const Record& record,
               const std::map<std::string, FileStat>& on_disk,
               Prune prune);

} // namespace agentdl::mirror
