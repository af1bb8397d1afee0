// bench_resolver: catalog load time and resolve latency, per catalog size.
//
//   bench_resolver [--benchmark_... flags] CATALOG...
//
// Each CATALOG (e.g. made by bench/gen_catalog.py) is loaded once up front and
// registers three benchmarks named after its release count N:
//   load/N             agentdl::load_catalog of the file (read + parse + validate)
//   resolve_latest/N   resolve channel "latest", macos/arm64
//   resolve_version/N  resolve a given version, macos/arm64, cycling through up
//                      to 1024 versions spread evenly over the catalog

#include <agentdl/catalog.hpp>
#include <agentdl/resolver.hpp>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr std::size_t k_max_versions = 1024; // a power of two: the cycle is a mask

// One catalog file, loaded once for the resolve benchmarks.
struct Subject
{
  std::filesystem::path path;
  agentdl::Catalog catalog;
  std::vector<std::string> versions; // non-yanked versions spread over the catalog
};

void bench_load(benchmark::State& state, const Subject& subject)
{
  const auto bytes = static_cast<std::int64_t>(std::filesystem::file_size(subject.path));
  for (auto _ : state) {
    auto catalog = agentdl::load_catalog(subject.path);
    if (!catalog) {
      state.SkipWithError(catalog.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(catalog->releases.data());
  }
  state.SetBytesProcessed(state.iterations() * bytes);
  state.counters["releases"] = static_cast<double>(subject.catalog.releases.size());
}

void bench_resolve_latest(benchmark::State& state, const Subject& subject)
{
  const agentdl::Query query{
    .channel = "latest", .version = std::nullopt, .platform = "macos", .arch = "arm64"
  };
  if (!agentdl::resolve(subject.catalog, query)) {
    state.SkipWithError("channel latest does not resolve for macos/arm64");
    return;
  }
  for (auto _ : state) {
    auto resolution = agentdl::resolve(subject.catalog, query);
    benchmark::DoNotOptimize(resolution);
  }
}

void bench_resolve_version(benchmark::State& state, const Subject& subject)
{
  const auto& versions = subject.versions;
  if (versions.empty()) {
    state.SkipWithError("the catalog has no resolvable version");
    return;
  }
  for (const auto& version : versions) {
    if (!agentdl::resolve(
          subject.catalog,
          { .channel = std::nullopt, .version = version, .platform = "macos", .arch = "arm64" })) {
      state.SkipWithError(fmt::format("version {} does not resolve", version).c_str());
      return;
    }
  }
  std::size_t i = 0;
  for (auto _ : state) {
    const agentdl::Query query{
      .channel = std::nullopt, .version = versions[i], .platform = "macos", .arch = "arm64"
    };
    auto resolution = agentdl::resolve(subject.catalog, query);
    benchmark::DoNotOptimize(resolution);
    i = (i + 1) % versions.size();
  }
}

// Returns up to k_max_versions non-yanked versions at even steps over the
// releases (newest to oldest), so that lookups touch the whole catalog.
std::vector<std::string> spread_versions(const agentdl::Catalog& catalog)
{
  std::vector<std::string> versions;
  const auto n = catalog.releases.size();
  const auto count = std::min(n, k_max_versions);
  for (std::size_t k = 0; k < count; ++k) {
    for (auto i = k * n / count; i < n; ++i) {
      if (!catalog.releases[i].yanked) {
        versions.push_back(catalog.releases[i].version.str());
        break;
      }
    }
  }
  return versions;
}

} // namespace

int main(int argc, char** argv)
{
  benchmark::Initialize(&argc, argv);
  if (argc < 2) {
    fmt::print(stderr, "usage: bench_resolver [--benchmark_... flags] CATALOG...\n");
    return 2;
  }
  std::vector<std::unique_ptr<Subject>> subjects;
  for (int a = 1; a < argc; ++a) {
    auto catalog = agentdl::load_catalog(argv[a]);
    if (!catalog) {
      fmt::print(stderr, "bench_resolver: {}\n", catalog.error().message);
      return 7;
    }
    auto subject = std::make_unique<Subject>();
    subject->path = argv[a];
    subject->catalog = std::move(*catalog);
    subject->versions = spread_versions(subject->catalog);
    subjects.push_back(std::move(subject));
  }
  for (const auto& subject : subjects) {
    const auto n = subject->catalog.releases.size();
    benchmark::RegisterBenchmark(fmt::format("load/{}", n).c_str(), bench_load, std::cref(*subject))
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  }
  for (const auto& subject : subjects) {
    const auto n = subject->catalog.releases.size();
    benchmark::RegisterBenchmark(
      fmt::format("resolve_latest/{}", n).c_str(), bench_resolve_latest, std::cref(*subject))
      ->Unit(benchmark::kNanosecond);
  }
  for (const auto& subject : subjects) {
    const auto n = subject->catalog.releases.size();
    benchmark::RegisterBenchmark(
      fmt::format("resolve_version/{}", n).c_str(), bench_resolve_version, std::cref(*subject))
      ->Unit(benchmark::kNanosecond);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
