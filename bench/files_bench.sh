#!/usr/bin/env bash
# agentdl-serve's /files/ against nginx (sendfile on) serving the same file,
# side by side in one run: 1 and 32 keep-alive connections,
# each downloading SIZE_MIB MiB (default 64) again and again. Per scenario,
# ROUNDS pairs (default 5), the order alternated within each pair, after a
# warm-up of each server; medians of throughput (MiB/s), of each server's CPU
# seconds per GiB sent (utime + stime of its process from /proc over the
# run), and its resident memory after the run (VmRSS, and the peak VmHWM).
# The load comes from bench/fetch_load.py (one thread, epoll, bodies read
# with recv_into a 4 MiB buffer; wrk's 8 KiB reads make wrk the bottleneck
# for large bodies on loopback). Its own CPU over the run is printed beside
# them: near 100 % of its core the generator, not the server, set the pace.
#
# Each server gets core 0 (one worker, one thread), the generator core 1. Targets:
# throughput >= 0.95x nginx's, CPU per GiB <= 1.2x nginx's.
#
#   bash bench/files_bench.sh [SIZE_MIB] [DURATION_SECONDS] [ROUNDS]
#
# AGENTDL_SERVE=/path/to/agentdl-serve uses that binary; otherwise it is
# built (Release) in build-bench/. The report is also appended to
# bench/results/files-<timestamp>.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. bench/common.sh

size_mib=${1:-64}
duration=${2:-10}
rounds=${3:-5}
results=$root/bench/results
case $size_mib in ''|*[!0-9]*|0) echo "files_bench: SIZE_MIB must be a positive integer" >&2; exit 2 ;; esac
case $duration in ''|*[!0-9]*|0) echo "files_bench: DURATION_SECONDS must be a positive integer" >&2; exit 2 ;; esac
case $rounds in ''|*[!0-9]*|0) echo "files_bench: ROUNDS must be a positive integer" >&2; exit 2 ;; esac

for tool in nginx taskset curl python3; do
  command -v "$tool" >/dev/null || { echo "files_bench: $tool is missing (bash scripts/deps.sh installs it)" >&2; exit 1; }
done
[ "$(nproc)" -ge 2 ] || { echo "files_bench: needs 2 cores (server on core 0, the load on core 1)" >&2; exit 1; }

find_agentdl_serve

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

bytes=$((size_mib * 1024 * 1024))
mkdir -p "$work/www/files"
head -c "$bytes" /dev/urandom > "$work/www/files/agent.bin"
sha=$(sha256sum "$work/www/files/agent.bin" | cut -d' ' -f1)
target=/files/agent.bin
agentdl_port=$(free_port)
nginx_port=$(free_port)

# agentdl-serve: a mirror of one file, one thread, no access log, auth off
# (nginx checks nothing either).
cat > "$work/agentdl.toml" <<CAT
default_channel = "stable"

[platforms.linux]
archs = ["x86_64"]
default_arch = "x86_64"

[channels.stable]

[server]
listen = ["127.0.0.1:$agentdl_port"]
threads = 1
access_log = "off"

[auth]
mode = "none"

[mirror]
root = "www/files"

[[releases]]
version = "1.0.0"
channels = ["stable"]
  [[releases.artifacts]]
  platform = "linux"
  arch = "x86_64"
  path = "agent.bin"
  sha256 = "$sha"
  size = $bytes
CAT
taskset -c 0 "$serve" --config "$work/agentdl.toml" 2>"$work/serve.err" &
pids+=($!)
agentdl_pid=$!

# nginx: one worker on core 0, sendfile on, no access log, keep-alive for
# as many requests as the run makes.
write_nginx_conf "$work" "$nginx_port" "$work/www" "worker_cpu_affinity 01;" \
  "  tcp_nopush on;
  keepalive_requests 1000000;"
start_nginx "$work" "http://127.0.0.1:$nginx_port$target"
pids+=("$nginx_pid")
nginx_master=$nginx_pid

# Both answer the file whole and byte for byte before anything is timed.
for name_port in agentdl:$agentdl_port nginx:$nginx_port; do
  url="http://127.0.0.1:${name_port#*:}$target"
  for _ in $(seq 50); do curl -s -o /dev/null -r 0-0 "$url" && break; sleep 0.1; done
  got=$(curl -sf "$url" | sha256sum | cut -d' ' -f1) || true
  if [ "$got" != "$sha" ]; then
    echo "files_bench: ${name_port%%:*} did not serve the file (sha256 $got)" >&2
    cat "$work/serve.err" "$work/nginx/error.log" >&2 2>/dev/null || true
    exit 1
  fi
done
nginx_worker=$(pgrep -P "$nginx_master" | head -n 1)
[ -n "$nginx_worker" ] || { echo "files_bench: no nginx worker" >&2; exit 1; }
# nginx's master only waits: its worker is the server measured.
server_pid() { if [ "$1" = agentdl ]; then echo "$agentdl_pid"; else echo "$nginx_worker"; fi; }
server_port() { if [ "$1" = agentdl ]; then echo "$agentdl_port"; else echo "$nginx_port"; fi; }

# One run of the load generator against NAME with C connections; prints
# "MiB/s cpu_s_per_GiB rss_MiB hwm_MiB generator_cpu_percent".
run() {
  local name=$1 connections=$2 pid out
  pid=$(server_pid "$name")
  before=$(cpu_ticks "$pid")
  out=$(taskset -c 1 python3 bench/fetch_load.py 127.0.0.1 "$(server_port "$name")" "$target" \
          "$bytes" "$connections" "$duration") || { echo "files_bench: the load against $name failed" >&2; exit 1; }
  after=$(cpu_ticks "$pid")
  read -r sent requests seconds generator_cpu <<< "$out"
  [ "$requests" -gt 0 ] || { echo "files_bench: no whole response from $name" >&2; exit 1; }
  awk -v sent="$sent" -v s="$seconds" -v ticks="$((after - before))" -v hz="$ticks_per_second" \
      -v rss="$(memory "$pid" VmRSS)" -v hwm="$(memory "$pid" VmHWM)" -v g="$generator_cpu" 'BEGIN {
    printf "%.1f %.4f %.1f %.1f %.0f\n", sent / 1048576 / s, (ticks / hz) / (sent / 2^30),
      rss / 1024, hwm / 1024, 100 * g / s }'
}

memory() { awk -v key="$2:" '$1 == key {print $2}' "/proc/$1/status"; }
ticks_per_second=$(getconf CLK_TCK)


mkdir -p "$results"
report=$results/files-$(date +%Y%m%d-%H%M%S).txt
log() { echo "$@" | tee -a "$report"; }
log "== agentdl-serve /files/ vs nginx sendfile: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -n), $(nproc) cores, kernel $(uname -r)"
log "file: $size_mib MiB of random data at $target, both servers byte-for-byte checked first"
log "agentdl-serve: $serve ($("$serve" --version 2>/dev/null | head -n 1)), threads = 1, access_log off, auth off"
log "nginx: $(nginx -v 2>&1 | sed 's|.*/||'), 1 worker, sendfile on, tcp_nopush on, access_log off"
log "servers on core 0, bench/fetch_load.py on core 1, keep-alive; $rounds pairs per scenario, ${duration}s each, order alternated, after a warm-up"
log "$(printf '%-8s %-8s %5s %10s %12s %8s %8s %8s' scenario server round MiB/s cpu_s/GiB rss_MiB hwm_MiB load_cpu%)"

for connections in 1 32; do
  run agentdl "$connections" >/dev/null; run nginx "$connections" >/dev/null # warm-up
  : > "$work/agentdl.$connections"; : > "$work/nginx.$connections"
  for i in $(seq "$rounds"); do
    if [ $((i % 2)) -eq 1 ]; then order="agentdl nginx"; else order="nginx agentdl"; fi
    for name in $order; do
      line=$(run "$name" "$connections")
      echo "$line" >> "$work/$name.$connections"
      log "$(printf '%-8s %-8s %5s %10s %12s %8s %8s %8s' "c$connections" "$name" "$i" $line)"
    done
  done
  for name in agentdl nginx; do
    f=$work/$name.$connections
    log "$(printf '%-8s %-8s %5s %10s %12s %8s %8s %8s' "c$connections" "$name" median \
      "$(cut -d' ' -f1 "$f" | median)" "$(cut -d' ' -f2 "$f" | median)" \
      "$(cut -d' ' -f3 "$f" | median)" "$(cut -d' ' -f4 "$f" | median)" "$(cut -d' ' -f5 "$f" | median)")"
  done
  a_t=$(cut -d' ' -f1 "$work/agentdl.$connections" | median); n_t=$(cut -d' ' -f1 "$work/nginx.$connections" | median)
  a_c=$(cut -d' ' -f2 "$work/agentdl.$connections" | median); n_c=$(cut -d' ' -f2 "$work/nginx.$connections" | median)
  log "$(awk -v c="$connections" -v at="$a_t" -v nt="$n_t" -v ac="$a_c" -v nc="$n_c" 'BEGIN {
    t = at / nt; u = ac / nc
    printf "c%d: agentdl/nginx throughput %.3fx (target >= 0.95x: %s), CPU per GiB %.3fx (target <= 1.2x: %s)\n",
      c, t, (t >= 0.95) ? "met" : "missed", u, (u <= 1.2) ? "met" : "missed" }')"
done
log "(report appended to ${report#"$root"/})"
