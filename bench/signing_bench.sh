#!/usr/bin/env bash
# agentdl-serve's redirect with s3 signing against the same daemon unsigned,
# side by side in one run: wrk at 64 keep-alive connections, ROUNDS pairs,
# the order alternated within each pair, after a warm-up of each; medians of
# requests/s and of the daemon's CPU time per request (utime + stime from
# /proc). The daemon runs on core 0 with one thread, wrk on core 1.
#
#   bash bench/signing_bench.sh [DURATION_SECONDS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${1:-10}
rounds=${2:-5}
build=build-bench
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

for tool in wrk taskset curl; do
  command -v "$tool" >/dev/null || { echo "signing_bench: $tool is missing (bash scripts/deps.sh installs it)" >&2; exit 1; }
done
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DAGENTDL_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j2 --target agentdl-serve >/dev/null
serve="$build/apps/agentdl-serve/agentdl-serve"

target='/v2/agent-releases/latest/download?channel=stable&platform=macos&arch=arm64'
token='demo-token-do-not-use-in-production'
ticks=$(getconf CLK_TCK)

# Two daemons on the demo catalog, one thread each, no access log: unsigned,
# and signing = "s3" (path-style, a session token as STS gives, 15 minutes).
start() { # NAME PORT STORAGE_LINES
  sed -e "s|^listen = .*|listen = [\"127.0.0.1:$2\"]|" \
      -e 's|^public_url = .*|&\nthreads = 1\naccess_log = "off"|' \
      -e "s|^signing = \"none\"|$3|" agentdl.toml > "$work/$1.toml"
  AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY \
    taskset -c 0 "$serve" --config "$work/$1.toml" 2>"$work/$1.err" &
  pids+=($!)
  echo $! > "$work/$1.pid"
}
start unsigned 18091 'signing = "none"'
start s3 18092 'signing = "s3"\nexpires = "15m"\n[storage.s3]\nregion = "us-east-1"'
sleep 1
for name in unsigned:18091 s3:18092; do
  location=$(curl -s -o /dev/null -w '%{redirect_url}' -H "Authorization: Bearer $token" "http://127.0.0.1:${name#*:}$target")
  echo "${name%%:*}: Location $location"
  [ -n "$location" ] || { cat "$work/${name%%:*}.err" >&2; exit 1; }
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Prints "requests/s cpu_us_per_request" for one run against NAME.
run() {
  local name=$1 port=$2 pid before after
  pid=$(cat "$work/$name.pid")
  before=$(cpu_ticks "$pid")
  taskset -c 1 wrk -t1 -c64 -d"${duration}s" -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$port$target" > "$work/wrk.out"
  after=$(cpu_ticks "$pid")
  python3 - "$work/wrk.out" "$before" "$after" "$ticks" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
if re.search(r"Non-2xx or 3xx responses: (\d+)", text) or "Socket errors" in text:
    sys.exit("wrk saw errors:\n" + text)
requests = int(re.search(r"(\d+) requests in", text).group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
cpu_us = (int(sys.argv[3]) - int(sys.argv[2])) / int(sys.argv[4]) * 1e6
print(f"{rps:.0f} {cpu_us / requests:.2f}")
PY
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

run unsigned 18091 >/dev/null; run s3 18092 >/dev/null # warm-up
: > "$work/unsigned.runs"; : > "$work/s3.runs"
for i in $(seq "$rounds"); do
  if [ $((i % 2)) -eq 1 ]; then order="unsigned:18091 s3:18092"; else order="s3:18092 unsigned:18091"; fi
  for entry in $order; do
    run "${entry%%:*}" "${entry#*:}" >> "$work/${entry%%:*}.runs"
  done
done
echo "wrk -t1 -c64 -d${duration}s keep-alive, $rounds pairs alternated; daemon on core 0 (1 thread), wrk on core 1; medians"
printf '%-10s %12s %16s\n' daemon requests/s cpu_us/request
for name in unsigned s3; do
  printf '%-10s %12s %16s\n' "$name" "$(cut -d' ' -f1 "$work/$name.runs" | median)" \
    "$(cut -d' ' -f2 "$work/$name.runs" | median)"
done
u=$(cut -d' ' -f1 "$work/unsigned.runs" | median); s=$(cut -d' ' -f1 "$work/s3.runs" | median)
uc=$(cut -d' ' -f2 "$work/unsigned.runs" | median); sc=$(cut -d' ' -f2 "$work/s3.runs" | median)
awk -v u="$u" -v s="$s" -v uc="$uc" -v sc="$sc" \
  'BEGIN {printf "s3/unsigned: %.2fx requests/s, +%.2f us CPU per request\n", s / u, sc - uc}'
