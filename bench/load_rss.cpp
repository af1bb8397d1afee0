// load_rss: loads one catalog and prints the process's memory, for bench/run.sh.
//
//   load_rss FILE
//
// Prints one line: `releases=N peak_kib=P retained_kib=R heap_kib=H trimmed_kib=T`:
//   P  peak resident set size of the process (getrusage ru_maxrss)
//   R  resident set size after loading, the catalog still alive
//   H  heap in use after loading (glibc mallinfo2): what the catalog itself holds
//   T  resident set size after malloc_trim(0) gives free heap pages back
// Run it on an empty catalog for the baseline of the process itself.

#include <agentdl/catalog.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

namespace {

// Returns the current resident set size in KiB (Linux /proc), or -1.
long current_rss_kib()
{
  std::ifstream statm("/proc/self/statm");
  long total_pages = 0;
  long resident_pages = 0;
  if (!(statm >> total_pages >> resident_pages)) {
    return -1;
  }
  return resident_pages * (sysconf(_SC_PAGESIZE) / 1024);
}

} // namespace

int main(int argc, char** argv)
{
  if (argc != 2) {
    fmt::print(stderr, "usage: load_rss FILE\n");
    return 2;
  }
  const auto catalog = agentdl::load_catalog(argv[1]);
  if (!catalog) {
    fmt::print(stderr, "load_rss: {}\n", catalog.error().message);
    return 7;
  }
  const long retained = current_rss_kib();
  const auto heap = mallinfo2();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  malloc_trim(0);
  const long trimmed = current_rss_kib();
  fmt::print("releases={} peak_kib={} retained_kib={} heap_kib={} trimmed_kib={}\n",
             catalog->releases.size(),
             usage.ru_maxrss,
             retained,
             (heap.uordblks + heap.hblkhd) / 1024,
             trimmed);
  return 0;
}
