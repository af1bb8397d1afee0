#!/usr/bin/env bash
# `agentdl download` against `curl -o` of the same URL, and against `curl -o`
# followed by `sha256sum` (the verified download a script would do), side by
# side in one run: a random file of SIZE_MIB MiB (default 256) served by nginx
# on loopback, ROUNDS rounds (default 7) rotating which client goes first;
# per-round MiB/s, the medians and the ratios. agentdl checks size and sha256
# while it writes FILE.part and renames it into place; curl only saves the
# bytes. Targets: agentdl >= 0.8 x curl's throughput, and >= 4 x curl's
# followed by sha256sum.
#
#   bash bench/download_bench.sh [SIZE_MIB] [ROUNDS]
#
# AGENTDL=/path/to/agentdl uses that binary; otherwise agentdl is built
# (Release) in build-bench/ with run.sh's configure step. The file, the
# catalog, nginx's prefix and both downloads live in one temporary directory
# (mktemp -d, so TMPDIR chooses the filesystem). On a machine with 2 or more
# cores nginx gets core 0 and the clients core 1 (BENCH_PIN=server: only nginx
# is pinned; BENCH_PIN=0: no pinning).
# The report is also appended to bench/results/download-<timestamp>.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. bench/common.sh

size_mib=${1:-256}
rounds=${2:-7}
build=$root/build-bench
results=$root/bench/results
case $size_mib in ''|*[!0-9]*|0) echo "download_bench: SIZE_MIB must be a positive integer" >&2; exit 2 ;; esac
case $rounds in ''|*[!0-9]*|0) echo "download_bench: ROUNDS must be a positive integer" >&2; exit 2 ;; esac

for tool in nginx curl python3 sha256sum; do
  command -v "$tool" >/dev/null || { echo "download_bench: $tool is missing (bash scripts/deps.sh installs it)" >&2; exit 1; }
done

if [ -n "${AGENTDL:-}" ]; then
  agentdl=$AGENTDL
else
  echo "== build (Release, $build)"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DAGENTDL_BUILD_BENCH=ON \
    -DAGENTDL_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" -j2 --target agentdl >/dev/null
  agentdl=$build/apps/agentdl-cli/agentdl
fi
if ! "$agentdl" download --help >/dev/null 2>&1; then
  echo "download_bench: $agentdl has no working 'download' command" >&2
  exit 1
fi

pin_nginx_and_clients
make_work_folder

# The artifact: random bytes, so nothing on the way can compress or dedupe them.
bytes=$((size_mib * 1024 * 1024))
need_kib=$((size_mib * 1024 * 3 + 1024))
avail_kib=$(df -Pk "$work" | awk 'NR == 2 {print $4}')
if [ "$avail_kib" -lt "$need_kib" ]; then
  echo "download_bench: $work has $avail_kib KiB free, needs $need_kib" >&2
  exit 1
fi
mkdir -p "$work/www" "$work/out"
head -c "$bytes" /dev/urandom > "$work/www/big.bin"
sha=$(sha256sum "$work/www/big.bin" | cut -d' ' -f1)
sync  # the new file is written back now, not during the timed runs

port=$(free_port)
url="http://127.0.0.1:$port/big.bin"

cat > "$work/catalog.toml" <<CAT
default_channel = "stable"

[platforms.linux]
archs = ["x86_64"]
default_arch = "x86_64"

[channels.stable]

[[releases]]
version = "1.0.0"
channels = ["stable"]
  [[releases.artifacts]]
  platform = "linux"
  arch = "x86_64"
  url = "$url"
  sha256 = "$sha"
  size = $bytes
CAT
"$agentdl" check --config "$work/catalog.toml" >/dev/null

# nginx: one worker, sendfile, no access log, everything under $work.
write_nginx_conf "$work" "$port" "$work/www"
start_nginx "$work" "$url" "${server_pin[@]}" --

curl_out=$work/out/curl.bin
agentdl_out=$work/out/agentdl.bin
curl_cmd=(curl -s -o "$curl_out" "$url")
curl_sha_cmd=(sh -c 'curl -s -o "$1" "$2" && sha256sum "$1" >/dev/null' sh "$curl_out" "$url")
agentdl_cmd=("$agentdl" download --config "$work/catalog.toml" --platform linux --arch x86_64
             -o "$agentdl_out" --quiet)

# Runs a command with stdout discarded and prints its wall time in seconds
# (CLOCK_MONOTONIC, taken around fork/exec/wait; the timer's own start-up is
# outside the interval). Fails if the command fails.
timed() {
  "${client_pin[@]}" python3 - "$@" <<'PY'
import subprocess, sys, time
t0 = time.monotonic_ns()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
t1 = time.monotonic_ns()
if rc != 0:
    sys.exit(f"download_bench: {sys.argv[1]} exited {rc}")
print(f"{(t1 - t0) / 1e9:.6f}")
PY
}

clean_outputs() {
  rm -f "$curl_out" "$curl_out.part" "$agentdl_out" "$agentdl_out.part"
  sync  # no write-back of an earlier run's pages during the next one
}

# Runs one client once; prints its seconds; checks the output's size.
run_one() {
  local who=$1 seconds out got
  clean_outputs
  case $who in
    curl) seconds=$(timed "${curl_cmd[@]}"); out=$curl_out ;;
    curl+sha) seconds=$(timed "${curl_sha_cmd[@]}"); out=$curl_out ;;
    *) seconds=$(timed "${agentdl_cmd[@]}"); out=$agentdl_out ;;
  esac
  got=$(stat -c %s "$out" 2>/dev/null || echo missing)
  [ "$got" = "$bytes" ] || { echo "download_bench: $who wrote $got bytes, expected $bytes" >&2; exit 1; }
  echo "$seconds"
}

mibps() { awk -v b="$bytes" -v s="$1" 'BEGIN {printf "%.1f", b / 1048576 / s}'; }

mkdir -p "$results"
report=$results/download-$(date +%Y%m%d-%H%M%S).txt
log() { echo "$@" | tee -a "$report"; }

# One untimed run of each, which also warms the page cache and nginx; the
# agentdl output is checked against the file's sha256 so the figures below
# are those of a real, verified download.
clean_outputs
"$agentdl" download --config "$work/catalog.toml" --platform linux --arch x86_64 -o "$agentdl_out" --quiet >/dev/null
got_sha=$(sha256sum "$agentdl_out" | cut -d' ' -f1)
[ "$got_sha" = "$sha" ] || { echo "download_bench: agentdl's output has sha256 $got_sha, expected $sha" >&2; exit 1; }
[ ! -e "$agentdl_out.part" ] || { echo "download_bench: agentdl left $agentdl_out.part behind" >&2; exit 1; }
clean_outputs
curl -s -o "$curl_out" "$url"
got_sha=$(sha256sum "$curl_out" | cut -d' ' -f1)
[ "$got_sha" = "$sha" ] || { echo "download_bench: curl's output has sha256 $got_sha, expected $sha" >&2; exit 1; }
clean_outputs

fs=$(df -PT "$work/out" | awk 'NR == 2 {print $2 " (" $1 ", mounted on " $7 ")"}')
log "== agentdl download vs curl -o: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -n), $(nproc) cores, kernel $(uname -r)"
log "file: $size_mib MiB ($bytes bytes) of random data, sha256 $sha"
log "url: $url (nginx $(nginx -v 2>&1 | sed 's|.*/||'), 1 worker, sendfile on, access_log off)"
log "outputs: $work/out on $fs"
log "agentdl: $agentdl ($("$agentdl" --version 2>/dev/null | head -n 1))"
log "curl: $(curl --version | head -n 1)"
log "pinning: $pinning; warm-up: one untimed run of each, agentdl's output sha256-verified"
log "$rounds rounds, order rotating; wall time of the whole process (monotonic clock)"
log "$(printf '%-6s %-8s %10s %10s' round client seconds MiB/s)"

: > "$work/curl.s"; : > "$work/agentdl.s"; : > "$work/curl+sha.s"
for r in $(seq "$rounds"); do
  case $((r % 3)) in
    1) order=(curl agentdl curl+sha) ;;
    2) order=(agentdl curl+sha curl) ;;
    *) order=(curl+sha curl agentdl) ;;
  esac
  for who in "${order[@]}"; do
    s=$(run_one "$who")
    echo "$s" >> "$work/$who.s"
    log "$(printf '%-6s %-8s %10s %10s' "$r" "$who" "$s" "$(mibps "$s")")"
  done
done
clean_outputs

c_s=$(median < "$work/curl.s"); a_s=$(median < "$work/agentdl.s"); h_s=$(median < "$work/curl+sha.s")
log "$(printf '%-6s %-8s %10s %10s' median curl "$c_s" "$(mibps "$c_s")")"
log "$(printf '%-6s %-8s %10s %10s' median curl+sha "$h_s" "$(mibps "$h_s")")"
log "$(printf '%-6s %-8s %10s %10s' median agentdl "$a_s" "$(mibps "$a_s")")"
ratio=$(awk -v c="$c_s" -v a="$a_s" 'BEGIN {printf "%.3f", c / a}')
verdict=$(awk -v r="$ratio" 'BEGIN {print (r >= 0.8) ? "met" : "missed"}')
log "ratio agentdl/curl (throughput, medians): ${ratio}x; target >= 0.8x: $verdict"
ratio=$(awk -v c="$h_s" -v a="$a_s" 'BEGIN {printf "%.3f", c / a}')
verdict=$(awk -v r="$ratio" 'BEGIN {print (r >= 4) ? "met" : "missed"}')
log "ratio agentdl/(curl then sha256sum): ${ratio}x; target >= 4x: $verdict"
log "(report appended to ${report#"$root"/})"
