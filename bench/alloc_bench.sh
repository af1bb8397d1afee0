#!/usr/bin/env bash
# Heap allocations per request in agentdl-serve, per route, counted by an
# LD_PRELOAD allocator (bench/alloc_count.c, compiled here into a temporary
# .so with gcc -O2 -shared -fPIC).
#
# Routes (the demo catalog, agentdl.toml):
#   download_latest   /v2/agent-releases/latest/download?channel=stable&platform=macos&arch=arm64   302
#   download_version  /v2/agent-releases/1.8.3/download?platform=macos&arch=arm64                   302
#                     (left out if the catalog has no release 1.8.3)
#   latest            /v2/agent-releases/latest?channel=stable&platform=macos&arch=arm64            200 JSON
#   healthz           /healthz                                                                       200
# Settings:
#   bare        auth off, access log off
#   production  bearer auth on (the demo token, sent by wrk), an access log
#               written to a file (as serve_bench.sh's production scenario)
#
# For each route and setting, agentdl-serve ([server] threads = 1, metrics on,
# on core 0) runs twice under LD_PRELOAD: once serving N1 requests (2,000) and
# once N2 (102,000), each time from wrk -t1 on 8 keep-alive connections on
# core 1, stopped after that many responses (a Lua script); the requests served
# are read from agentdl's /metrics (agentdl_requests_total for the route). It
# is stopped with SIGTERM, and the shim appends the process's allocation count
# at exit. Start-up, the catalog, the 8 connections, the checks and the
# /metrics reads are the same in both runs, so
#
#   allocations/request = (allocations2 - allocations1) / (served2 - served1)
#
# and the same for bytes (the sizes asked of malloc, calloc, realloc, the
# aligned ones; frees not counted). "fixed" is what the first run allocated
# besides its requests: allocations1 - served1 x allocations/request.
#
# Checked, the script stops with a message otherwise: the shim is mapped in
# agentdl-serve and counted more than 0; the route answers the expected
# status (in production: 401 without a token, but for /healthz); wrk saw no
# socket errors and no non-2xx/3xx; agentdl counted only the expected status
# on the route; in production the access log has a line per request served.
#
#   bash bench/alloc_bench.sh
#
# AGENTDL_SERVE=/path/to/agentdl-serve measures that binary; otherwise it is
# built (Release) in build-bench/ as serve_bench.sh does. ALLOC_N1 and
# ALLOC_N2 change the request counts. The report is also appended to
# bench/results/alloc-<timestamp>.txt. Takes about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=bench/common.sh
source bench/common.sh

n1=${ALLOC_N1:-2000}
n2=${ALLOC_N2:-102000}
connections=8
token=demo-token-do-not-use-in-production
results=$root/bench/results
fail() { echo "alloc_bench: $*" >&2; exit 1; }

case $n1 in ''|*[!0-9]*|0) fail "ALLOC_N1 must be a positive integer" ;; esac
case $n2 in ''|*[!0-9]*|0) fail "ALLOC_N2 must be a positive integer" ;; esac
[ "$n2" -gt "$n1" ] || fail "ALLOC_N2 ($n2) must be larger than ALLOC_N1 ($n1)"
for tool in wrk taskset curl gcc python3; do
  command -v "$tool" >/dev/null || fail "$tool is missing (bash scripts/deps.sh installs wrk)"
done
[ "$(nproc)" -ge 2 ] || fail "needs 2 cores (agentdl-serve on core 0, wrk on core 1)"

find_agentdl_serve

work=$(mktemp -d)
server_pid=
wrk_pid=
cleanup() {
  for pid in $wrk_pid $server_pid; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

shim=$work/alloc_count.so
gcc -O2 -shared -fPIC -o "$shim" bench/alloc_count.c || fail "could not compile bench/alloc_count.c"

# wrk stops its thread after WRK_REQUESTS responses and creates the file
# WRK_DONE; the script then interrupts wrk (whose main thread would otherwise
# sleep out -d).
cat > "$work/stop.lua" <<'LUA'
local limit = tonumber(os.getenv("WRK_REQUESTS"))
local done = 0
function response(status, headers, body)
  done = done + 1
  if done == limit then
    wrk.thread:stop()
    io.open(os.getenv("WRK_DONE"), "w"):close()
  end
end
LUA

# name|target|status
routes=("download_latest|/v2/agent-releases/latest/download?channel=stable&platform=macos&arch=arm64|302")
if grep -q '^version = "1.8.3"$' agentdl.toml; then
  routes+=("download_version|/v2/agent-releases/1.8.3/download?platform=macos&arch=arm64|302")
else
  echo "alloc_bench: the demo catalog has no release 1.8.3: download_version left out" >&2
fi
routes+=("latest|/v2/agent-releases/latest?channel=stable&platform=macos&arch=arm64|200")
routes+=("healthz|/healthz|200")
grep -q '^api_prefix = "/v2"$' agentdl.toml || fail "agentdl.toml's api_prefix is not /v2 (has the demo catalog changed?)"

# Writes DIR/agentdl.toml: the demo catalog on PORT with threads = 1, metrics
# on, and for MODE production bearer auth and an access log to DIR/access.log.
write_catalog() {
  local dir=$1 port=$2 mode=$3 auth_mode=none access_log=off
  if [ "$mode" = production ]; then auth_mode=required; access_log=$dir/access.log; fi
  sed -e "s|^listen = .*|listen = [\"127.0.0.1:$port\"]|" \
      -e "s|^public_url = .*|&\nthreads = 1\naccess_log = \"$access_log\"\nmetrics = true|" \
      -e "s|^mode = \"required\"|mode = \"$auth_mode\"|" agentdl.toml > "$dir/agentdl.toml"
  grep -q '^threads = 1$' "$dir/agentdl.toml" && grep -q "^mode = \"$auth_mode\"$" "$dir/agentdl.toml" ||
    fail "could not rewrite agentdl.toml's [server] and [auth] (has the demo catalog changed?)"
}

# Sets expected and others: the requests agentdl-serve on PORT counted on
# ROUTE with STATUS, and with any other status.
count_served() {
  local port=$1 route=$2 status=$3 text
  text=$(curl -sf "http://127.0.0.1:$port/metrics") || fail "GET /metrics failed on port $port"
  read -r expected others < <(awk -v route="$route" -v status="$status" '
    index($0, "agentdl_requests_total{route=\"" route "\",status=\"") == 1 {
      split($0, parts, "\""); if (parts[4] == status) mine += $NF; else other += $NF
    }
    END { print mine + 0, other + 0 }' <<<"$text")
}

# One run: agentdl-serve under the shim serves REQUESTS requests of ROUTE with
# MODE's settings; sets served, allocations and bytes.
run_once() {
  local name=$1 target=$2 status=$3 mode=$4 requests=$5
  local dir=$work/$name-$mode-$requests port code before others_before line lines auth=()
  mkdir -p "$dir"
  port=$(free_port)
  write_catalog "$dir" "$port" "$mode"
  [ "$mode" = production ] && auth=(-H "Authorization: Bearer $token")

  LD_PRELOAD=$shim ALLOC_COUNT_OUT=$dir/count taskset -c 0 "$serve" --config "$dir/agentdl.toml" >"$dir/serve.out" 2>"$dir/serve.err" &
  server_pid=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  curl -s -o /dev/null "http://127.0.0.1:$port/healthz" || { cat "$dir/serve.err" >&2; fail "agentdl-serve did not start"; }
  grep -qF "$shim" "/proc/$server_pid/maps" || fail "the allocation counter is not loaded in agentdl-serve (LD_PRELOAD ignored?)"

  code=$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "http://127.0.0.1:$port$target")
  [ "$code" = "$status" ] || fail "$name ($mode) answered $code, not $status: GET $target"
  if [ "$mode" = production ] && [ "$name" != healthz ]; then
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$target")
    [ "$code" = 401 ] || fail "$name answered $code without a token with auth on, not 401"
  fi

  count_served "$port" "$name" "$status"
  before=$expected others_before=$others
  rm -f "$dir/wrk.done"
  WRK_REQUESTS=$requests WRK_DONE=$dir/wrk.done taskset -c 1 wrk -t1 -c"$connections" -d300s \
    -s "$work/stop.lua" "${auth[@]}" "http://127.0.0.1:$port$target" >"$dir/wrk.out" 2>&1 &
  wrk_pid=$!
  while [ ! -e "$dir/wrk.done" ] && kill -0 "$wrk_pid" 2>/dev/null; do sleep 0.02; done
  kill -INT "$wrk_pid" 2>/dev/null || true
  wait "$wrk_pid" || true
  wrk_pid=
  [ -e "$dir/wrk.done" ] || fail "wrk ended before $requests responses:"$'\n'"$(cat "$dir/wrk.out")"
  ! grep -qE 'Socket errors|Non-2xx or 3xx' "$dir/wrk.out" || fail "wrk saw errors ($name, $mode):"$'\n'"$(cat "$dir/wrk.out")"
  count_served "$port" "$name" "$status"
  [ "$others" = "$others_before" ] || fail "agentdl answered $((others - others_before)) requests on $name with another status than $status"
  [ $((expected - before)) -ge "$requests" ] || fail "agentdl counted $((expected - before)) requests on $name, wrk $requests responses"
  served=$((expected + others))

  kill -TERM "$server_pid"
  local rc=0
  wait "$server_pid" || rc=$?
  [ "$rc" = 0 ] || fail "agentdl-serve exited $rc on SIGTERM:"$'\n'"$(cat "$dir/serve.err")"
  server_pid=
  if [ "$mode" = production ]; then
    lines=$(wc -l < "$dir/access.log")
    [ "$lines" -ge "$served" ] || fail "the access log has $lines lines for $served requests on $name"
  fi
  [ -s "$dir/count" ] || fail "the allocation counter wrote nothing at exit ($dir/count)"
  [ "$(wc -l < "$dir/count")" = 1 ] || fail "the allocation counter wrote $(wc -l < "$dir/count") lines, not 1"
  line=$(cat "$dir/count")
  [[ $line =~ ^allocations=([0-9]+)\ bytes=([0-9]+)$ ]] || fail "unexpected counter line: $line"
  allocations=${BASH_REMATCH[1]} bytes=${BASH_REMATCH[2]}
  [ "$allocations" -gt 0 ] || fail "the allocation counter counted 0 allocations: not loaded?"
}

mkdir -p "$results"
report=$results/alloc-$(date +%Y%m%d-%H%M%S).txt
log() { echo "$@" | tee -a "$report"; }
log "== agentdl-serve heap allocations per request: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -n), glibc $(ldd --version | head -n 1 | awk '{print $NF}')"
log "agentdl-serve: $serve ($("$serve" --version 2>/dev/null | head -n 1)), demo catalog, [server] threads = 1, on core 0"
log "wrk -t1 -c$connections keep-alive on core 1; runs of $n1 and $n2 requests, per request = difference / difference"
log "$(printf '%-17s %-11s %9s %9s %11s %11s %9s' route settings requests allocs/req bytes/req fixed_allocs fixed_KiB)"
for mode in bare production; do
  for route in "${routes[@]}"; do
    IFS='|' read -r name target status <<<"$route"
    run_once "$name" "$target" "$status" "$mode" "$n1"
    s1=$served a1=$allocations b1=$bytes
    run_once "$name" "$target" "$status" "$mode" "$n2"
    s2=$served a2=$allocations b2=$bytes
    log "$(python3 -c '
import sys
name, mode, s1, a1, b1, s2, a2, b2 = sys.argv[1:3] + [int(x) for x in sys.argv[3:]]
n = s2 - s1
per_a, per_b = (a2 - a1) / n, (b2 - b1) / n
print(f"{name:<17} {mode:<11} {n:>9} {per_a:>9.2f} {per_b:>11.1f} {a1 - s1 * per_a:>11.0f} {(b1 - s1 * per_b) / 1024:>9.0f}")
' "$name" "$mode" "$s1" "$a1" "$b1" "$s2" "$a2" "$b2")"
  done
done
log "settings: bare = auth off, access log off; production = bearer auth (wrk sends the demo token), access log to a file"
log "requests = served2 - served1; fixed = the first run's allocations not proportional to requests (start-up, catalog, $connections connections, checks)"
log "(report appended to ${report#"$root"/})"
