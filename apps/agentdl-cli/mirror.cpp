// `agentdl mirror sync`: the loop around lib/agentdl/mirror/'s decisions. It
// reads the upstream and the folder, asks make_plan() what to do, fetches
// with fetch_all(), and writes the record and the catalog (CONTRACT section 6).

#include "commands.hpp"
#include "interrupt.hpp"
#include "progress.hpp"

#include <agentdl/atomic_file.hpp>
#include <agentdl/catalog.hpp>
#include <agentdl/catalog/kept_tables.hpp>
#include <agentdl/config.hpp>
#include <agentdl/crypto.hpp>
#include <agentdl/fetch/remote.hpp>
#include <agentdl/fetch/sync.hpp>
#include <agentdl/mirror/listing.hpp>
#include <agentdl/mirror/plan.hpp>
#include <agentdl/mirror/record.hpp>
#include <agentdl/mirror/write_catalog.hpp>
#include <agentdl/unique_fd.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <set>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace agentdl::cli {

namespace fs = std::filesystem;

namespace {

// Returns the size and modification time of the plain file at `path`, if
// there is one (a link is not followed: it is not a file the mirror wrote).
std::optional<mirror::FileStat> stat_file(const fs::path& path)
{
  struct stat st = {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return std::nullopt;
  }
  return mirror::FileStat{
    .size = static_cast<std::uint64_t>(st.st_size),
    .mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec
  };
}

// The mirror's folder, made if need be, and locked while a sync runs in it:
// two syncs at once would each rewrite the record and the catalog.
class Folder
{
public:
  static Expected<Folder> open(const fs::path& path)
  {
    std::error_code ec;
    fs::create_directories(path, ec);
    if (ec) {
      return fail(Errc::io,
                  fmt::format("cannot make the folder {}: {}", path.string(), ec.message()));
    }
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
      return std::unexpected(io_error("open the folder", path.string(), errno));
    }
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      return fail(
        Errc::io,
        fmt::format("{} is being synced by another agentdl; wait for it to finish", path.string()));
    }
    return Folder(path, std::move(fd));
  }

  // Returns the path of `relative` in the folder.
  fs::path at(std::string_view relative) const { return m_path / relative; }

  // Writes back every file of the folder's filesystem: the downloads are
  // renamed into place without an fsync each, and the catalog that lists them
  // must not reach the disk before their bytes do.
  Expected<void> flush() const
  {
    if (::syncfs(m_fd.get()) != 0) {
      return std::unexpected(io_error("flush the files of", m_path.string(), errno));
    }
    return {};
  }

private:
  Folder(fs::path path, UniqueFd fd)
    : m_path(std::move(path))
    , m_fd(std::move(fd))
  {
  }

  fs::path m_path;
  UniqueFd m_fd; // holds the lock
};

// Where the artifacts come from.
struct Upstream
{
  std::string name; // the server's URL or the catalog's path, for the written catalog
  mirror::Listing listing;
  std::optional<fetch::Server> server;
  std::optional<Catalog> catalog;
};

Expected<Upstream> read_upstream(const MirrorSyncOptions& options,
                                 const Folder& folder,
                                 const fetch::CancelToken& cancel)
{
  Upstream upstream;
  upstream.server = AGENTDL_TRY(remote_source(options.source));
  if (upstream.server) {
    auto client = AGENTDL_TRY(fetch::HttpClient::create(options.source.http, cancel));
    const auto list = AGENTDL_TRY(fetch::list_releases(client, *upstream.server, std::nullopt));
    upstream.name = upstream.server->base;
    upstream.listing = AGENTDL_TRY(mirror::parse_listing(list));
    return upstream;
  }
  const auto path = AGENTDL_TRY(find_catalog(options.source.config));
  std::error_code ec;
  if (fs::equivalent(path, folder.at(mirror::k_catalog_name), ec)) {
    return fail(Errc::usage,
                fmt::format("{} is the mirror's own catalog; give the upstream's", path.string()));
  }
  upstream.catalog = AGENTDL_TRY(load_catalog(path));
  upstream.name = path.string();
  upstream.listing = mirror::listing_of(*upstream.catalog);
  return upstream;
}

// Checks that `text` loads as the catalog at `path` would: what agentdl-serve
// will read. The secrets of signed locations need not be at hand for it.
Expected<void> check_catalog(const std::string& text, const fs::path& path)
{
  const GetEnv getenv = [](std::string_view name) -> std::optional<std::string> {
    const auto value = process_getenv(name);
    return value && !value->empty() ? value : std::string("placeholder");
  };
  const auto loaded = parse_catalog(text, path.string(), LoadOptions{ .getenv = getenv });
  if (!loaded) {
    return fail(
      Errc::config,
      fmt::format("the catalog a sync would write does not load: {}", loaded.error().message));
  }
  return {};
}

// Returns where `artifact` is fetched from: the server's /download route
// (the token sent to its origin only), or the catalog's Location, signed as
// of now when it signs.
Expected<fetch::Wanted> locate(fetch::HttpClient& client,
                               const Upstream& upstream,
                               const mirror::ListedRelease& release,
                               const mirror::ListedArtifact& artifact)
{
  fetch::Wanted wanted{ .url = {},
                        .filename = artifact.filename,
                        .sha256 = artifact.sha256,
                        .size = artifact.size,
                        .bearer_token = std::nullopt };
  if (upstream.server) {
    const auto& server = *upstream.server;
    const auto located = AGENTDL_TRY(fetch::locate(client,
                                                   server,
                                                   Query{ .channel = std::nullopt,
                                                          .version = release.version.str(),
                                                          .platform = artifact.platform,
                                                          .arch = artifact.arch }));
    const bool other_sha256 = !located.sha256.empty() && located.sha256 != artifact.sha256;
    const bool other_size = located.size && artifact.size && *located.size != *artifact.size;
    if (other_sha256 || other_size) {
      return fail(Errc::network,
                  "the server's /download answer and its release list disagree on the file: "
                  "did its catalog change during the sync? Run it again");
    }
    wanted.url = located.url;
    wanted.sha256 = located.sha256.empty() ? artifact.sha256 : located.sha256;
    wanted.size = artifact.size ? artifact.size : located.size;
    if (fetch::same_origin(located.url, server.base)) {
      wanted.bearer_token = server.token;
    }
    return wanted;
  }
  const auto& catalog = *upstream.catalog;
  const auto index = catalog.find_release(release.version);
  const auto platform = catalog.find_platform(artifact.platform);
  const auto arch = catalog.find_arch(artifact.arch);
  const auto* found =
    index && platform && arch ? catalog.releases[*index].find_artifact(*platform, *arch) : nullptr;
  if (!found) {
    return fail(Errc::internal, "the artifact is not in the catalog it was listed from");
  }
  wanted.url = location_of(catalog, *found, std::chrono::system_clock::now()).url;
  return wanted;
}

// Removes the files of a mirror that `plan` prunes, their record entries and
// the folders they leave empty; returns how many files went.
Expected<std::size_t> prune(const Folder& folder, const mirror::Plan& plan, mirror::Record& record)
{
  std::size_t removed = 0;
  const auto remove = [&](const std::string& relative) -> Expected<void> {
    const auto path = folder.at(relative);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return std::unexpected(io_error("remove", path.string(), errno));
    }
    ++removed;
    // The layout's folders it leaves empty go too; rmdir stops at one that is not.
    auto dir = fs::path(relative).parent_path();
    while (!dir.empty() && ::rmdir(folder.at(dir.string()).c_str()) == 0) {
      dir = dir.parent_path();
    }
    return {};
  };
  for (const auto& path : plan.remove) {
    AGENTDL_TRY(remove(path));
    record.files.erase(path);
  }
  for (const auto& path : plan.remove_parts) {
    AGENTDL_TRY(remove(path + ".part"));
    record.partial.erase(path);
  }
  return removed;
}

// Returns the plain files on disk that make_plan() looks at: at the layout
// paths of `mirror` and `record`, and the .part files of `record`'s partial ones.
std::map<std::string, mirror::FileStat> files_on_disk(const Folder& folder,
                                                      const mirror::Listing& mirror,
                                                      const mirror::Record& record)
{
  std::map<std::string, mirror::FileStat> on_disk;
  std::set<std::string> looked;
  const auto look = [&](const std::string& relative) {
    if (!looked.insert(relative).second) {
      return; // a listed file is in the record too, once the mirror holds it
    }
    if (const auto stat = stat_file(folder.at(relative))) {
      on_disk.emplace(relative, *stat);
    }
  };
  for (const auto& release : mirror.releases) {
    for (const auto& artifact : release.artifacts) {
      look(artifact.path);
    }
  }
  for (const auto& [path, entry] : record.files) {
    look(path);
  }
  for (const auto& path : record.partial) {
    look(path + ".part");
  }
  return on_disk;
}

// What the fetches came to.
struct Tally
{
  std::size_t fetched = 0;
  std::uint64_t fetched_bytes = 0;
  std::size_t skipped = 0; // found in place (hashed, not transferred)
  std::size_t failed = 0;
  std::optional<Error> first_failure; // of the first file in the listing's order
};

// Records each file of `plan.fetch` that `results` say is in place, and
// counts what came of them all.
Expected<Tally> take_results(const mirror::Listing& mirror,
                             const mirror::Plan& plan,
                             const std::vector<fs::path>& targets,
                             const std::vector<fetch::ItemResult>& results,
                             mirror::Record& record)
{
  Tally tally;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& artifact = mirror.releases[plan.fetch[i].release].artifacts[plan.fetch[i].artifact];
    if (results[i].error) {
      ++tally.failed;
      if (!tally.first_failure) {
        tally.first_failure = results[i].error;
      }
      continue;
    }
    const auto stat = stat_file(targets[i]);
    if (!stat) {
      return std::unexpected(io_error("find the downloaded", targets[i].string(), errno));
    }
    record.files[artifact.path] = mirror::RecordEntry{ .size = stat->size,
                                                       .mtime_ns = stat->mtime_ns,
                                                       .sha256 = artifact.sha256 };
    record.partial.erase(artifact.path);
    if (results[i].transferred) {
      ++tally.fetched;
      tally.fetched_bytes += stat->size;
    } else {
      ++tally.skipped;
    }
    if (artifact.sha256.empty()) {
      fmt::print(stderr,
                 "agentdl: warning: no sha256 known for {}; mirrored without verifying its "
                 "content\n",
                 artifact.path);
    }
  }
  return tally;
}

// Returns the error of a sync stopped by a signal, naming the .part files
// of `targets` that the next run continues.
std::unexpected<Error> interrupted_error(const std::vector<fs::path>& targets)
{
  std::size_t parts = 0;
  for (const auto& target : targets) {
    parts += stat_file(fetch::part_path(target)) ? 1U : 0U;
  }
  if (parts == 0) {
    return fail(Errc::interrupted, "interrupted");
  }
  return fail(Errc::interrupted,
              fmt::format("interrupted; {} kept: run the same command again to resume",
                          count(parts, ".part file")));
}

// Writes `text` to `path` unless it already holds it (`held`, which then
// becomes `text`): a sync with nothing new changes no file.
Expected<void> write_if_changed(const fs::path& path,
                                std::optional<std::string>& held,
                                std::string text)
{
  if (held == text) {
    return {};
  }
  AGENTDL_TRY(write_file_atomically(path, text));
  held = std::move(text);
  return {};
}

} // namespace

Expected<void> run_mirror_sync(const MirrorSyncOptions& options)
{
  const auto started = std::chrono::steady_clock::now();
  // Ctrl-C from here on stops the transfers and keeps their .part files.
  fetch::CancelToken cancel;
  const InterruptGuard guard(cancel);
  AGENTDL_TRY(crypto_init());
  const auto folder = AGENTDL_TRY(Folder::open(options.dest));
  const auto read = read_upstream(options, folder, cancel);
  if (cancel.cancelled()) {
    return fail(Errc::interrupted, "interrupted");
  }
  if (!read) {
    return std::unexpected(read.error());
  }
  const auto& upstream = *read;
  auto mirror = AGENTDL_TRY(mirror::mirror_listing(upstream.listing,
                                                   mirror::Filters{ .channels = options.channels,
                                                                    .platforms = options.platforms,
                                                                    .archs = options.archs,
                                                                    .since = options.since }));

  // The folder: the operator's tables of its catalog, its record, its files.
  const auto catalog_path = folder.at(mirror::k_catalog_name);
  auto catalog_text = AGENTDL_TRY(read_text_file(catalog_path));
  std::optional<std::string> kept;
  if (catalog_text) {
    kept = AGENTDL_TRY(kept_tables(*catalog_text, catalog_path.string(), mirror::k_kept_tables));
  }
  const auto record_path = folder.at(mirror::k_record_name);
  auto record_text = AGENTDL_TRY(read_text_file(record_path));
  mirror::Record record;
  if (record_text) {
    if (auto parsed = mirror::parse_record(*record_text)) {
      record = std::move(*parsed);
    } else {
      fmt::print(stderr,
                 "agentdl: warning: {}: {}; the files already there are verified again\n",
                 record_path.string(),
                 parsed.error().message);
    }
  }
  const auto plan = mirror::make_plan(mirror,
                                      record,
                                      files_on_disk(folder, mirror, record),
                                      options.prune ? mirror::Prune::yes : mirror::Prune::no);
  // Nothing is fetched for a catalog that would not load.
  const auto planned_text = mirror::write_catalog(mirror, kept, upstream.name);
  AGENTDL_TRY(check_catalog(planned_text, catalog_path));

  // The fetches, recorded as unfinished until they are done.
  std::vector<fs::path> targets;
  std::vector<std::string> names;
  std::vector<std::optional<std::uint64_t>> sizes;
  for (const auto& ref : plan.fetch) {
    const auto& release = mirror.releases[ref.release];
    const auto& artifact = release.artifacts[ref.artifact];
    targets.push_back(folder.at(artifact.path));
    names.push_back(
      fmt::format("{} {}/{}", release.version.str(), artifact.platform, artifact.arch));
    sizes.push_back(artifact.size);
    std::error_code ec;
    fs::create_directories(targets.back().parent_path(), ec);
    if (ec) {
      return fail(Errc::io,
                  fmt::format("cannot make the folder {}: {}",
                              targets.back().parent_path().string(),
                              ec.message()));
    }
  }
  record = plan.record;
  AGENTDL_TRY(write_if_changed(record_path, record_text, mirror::record_json(record)));
  const fetch::Locate locate_item = [&](fetch::HttpClient& client, std::size_t index) {
    const auto& ref = plan.fetch[index];
    const auto& release = mirror.releases[ref.release];
    return locate(client, upstream, release, release.artifacts[ref.artifact]);
  };
  SyncBar bar(!options.quiet, names, sizes);
  const auto results = AGENTDL_TRY(
    fetch::fetch_all(targets, locate_item, options.jobs, options.source.http, cancel, bar));
  bar.close(); // before anything else is printed

  auto tally = AGENTDL_TRY(take_results(mirror, plan, targets, results, record));
  tally.skipped += plan.skip.size();
  if (tally.first_failure || cancel.cancelled()) {
    AGENTDL_TRY(write_if_changed(record_path, record_text, mirror::record_json(record)));
    if (cancel.cancelled()) {
      return interrupted_error(targets);
    }
    return fail(tally.first_failure->code,
                fmt::format("{} of {} failed; {} is left as it was",
                            tally.failed,
                            count(results.size(), "download"),
                            catalog_path.string()));
  }

  // Every file is in place and verified: the catalog, then what it no longer lists.
  for (auto& release : mirror.releases) {
    for (auto& artifact : release.artifacts) {
      if (!artifact.size) {
        artifact.size = record.files.at(artifact.path).size;
      }
    }
  }
  const auto text = mirror::write_catalog(mirror, kept, upstream.name);
  if (text != planned_text) { // sizes learnt from the downloads
    AGENTDL_TRY(check_catalog(text, catalog_path));
  }
  if (tally.fetched > 0) {
    AGENTDL_TRY(folder.flush());
  }
  AGENTDL_TRY(write_if_changed(catalog_path, catalog_text, text));
  const auto pruned = prune(folder, plan, record);
  AGENTDL_TRY(write_if_changed(record_path, record_text, mirror::record_json(record)));
  if (!pruned) {
    return std::unexpected(pruned.error());
  }
  const double seconds =
    std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return emit(fmt::format("fetched {} ({}), skipped {}, pruned {} in {:.1f} s\n",
                          tally.fetched,
                          human_size(tally.fetched_bytes),
                          tally.skipped,
                          *pruned,
                          seconds));
}

} // namespace agentdl::cli
