#!/usr/bin/env bash
# Builds agentdl with the benchmarks, generates the synthetic catalogs, runs
# every benchmark and prints a summary table (medians) against the targets.
#
#   bash bench/run.sh
#
# Needs (Debian 12): cmake, g++, python3, libbenchmark-dev, hyperfine, and the
# project's own build dependencies. Results land in bench/results/ (gitignored):
# the catalogs, the raw JSON of Google Benchmark and hyperfine, rss.txt and
# summary.md. BENCH_SIZES="1000 10000" runs fewer catalog sizes (default:
# 1000 10000 100000). Takes about 6 minutes on 2 cores.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
build=$root/build-bench
results=$root/bench/results
read -r -a sizes <<<"${BENCH_SIZES:-1000 10000 100000}"

for tool in cmake python3 hyperfine; do
  if ! command -v "$tool" >/dev/null; then
    echo "run.sh: $tool is missing (apt-get install cmake python3 hyperfine libbenchmark-dev)" >&2
    exit 1
  fi
done

echo "== build (Release, $build)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DAGENTDL_BUILD_BENCH=ON \
  -DAGENTDL_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j2
agentdl=$build/apps/agentdl-cli/agentdl

echo "== catalogs ($results/catalogs)"
mkdir -p "$results/catalogs"
catalogs=()
for n in 0 "${sizes[@]}"; do
  file=$results/catalogs/releases-$n.toml
  python3 bench/gen_catalog.py --releases "$n" -o "$file"
  "$agentdl" check --config "$file"
  if [ "$n" != 0 ]; then
    catalogs+=("$file")
  fi
done

echo "== 1-2. load time and resolve latency (Google Benchmark, 5 repetitions)"
"$build/bench/bench_resolver" \
  --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true \
  --benchmark_out="$results/bench_resolver.json" \
  --benchmark_out_format=json \
  "${catalogs[@]}"

echo "== 1. (cold) load time: agentdl check as a whole process, one load each (hyperfine)"
hyperfine -N --warmup 1 --runs 5 \
  --export-json "$results/hyperfine-load.json" \
  -L n "$(IFS=,; echo "${sizes[*]}")" \
  "$agentdl check --config $results/catalogs/releases-{n}.toml"

echo "== 3. peak memory of loading (getrusage; releases-0 is the baseline)"
: >"$results/rss.txt"
for n in 0 "${sizes[@]}"; do
  file=$results/catalogs/releases-$n.toml
  line=$("$build/bench/load_rss" "$file")
  if [ -x /usr/bin/time ]; then
    # Cross-check: the whole CLI process (GNU time's %M is ru_maxrss too).
    check_kib=$(/usr/bin/time -f %M "$agentdl" check --config "$file" 2>&1 >/dev/null | tail -n 1)
    line="$line check_peak_kib=$check_kib"
  fi
  echo "$line" | tee -a "$results/rss.txt"
done

echo "== 4. agentdl resolve as a whole process (hyperfine; /bin/true and cat as references)"
hyperfine -N --warmup 20 --runs 300 \
  --export-json "$results/hyperfine.json" \
  "$agentdl resolve --config agentdl.toml --platform macos --arch arm64" \
  "/bin/true" \
  "cat agentdl.toml"

echo "== summary (medians)"
python3 bench/summarize.py \
  --gbench "$results/bench_resolver.json" \
  --rss "$results/rss.txt" \
  --hyperfine "$results/hyperfine.json" \
  --cold-load "$results/hyperfine-load.json" | tee "$results/summary.md"
