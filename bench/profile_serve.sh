#!/usr/bin/env bash
# Where agentdl-serve's redirect spends its time, next to nginx doing
# `return 302` to the same Location: system calls per request, and a CPU
# profile.
#
# Both servers run one worker on core 0 (agentdl `[server] threads = 1`, auth
# off, access log off; nginx `worker_processes 1`, `worker_cpu_affinity 01`,
# keepalive_requests 10000000, no access log), under taskset. The load is
# wrk -t1 -c64 on core 1, GET /v2/agent-releases/latest/download?channel=stable&platform=macos&arch=arm64,
# for DURATION seconds (default 10) per measurement; the measurement itself
# starts 20 % into the run and lasts half of it (5 s by default), and the
# measuring tool (perf or strace) runs on core 1 too.
#
# (a) System calls per request, in two scenarios:
#       keepalive  64 keep-alive connections
#       newconn    a new connection per request (wrk -H 'Connection: close')
#     counted on the server process (all its threads; nginx: its one worker)
#     with `perf stat -e 'syscalls:sys_enter_*' -p PID` when those tracepoints
#     work here (checked at the start), else with `strace -c -f -p PID`
#     (which slows the server several times over: calls/request stay
#     meaningful, though batching such as events per epoll_wait shifts).
#     SYSCALL_TOOL=perf or SYSCALL_TOOL=strace chooses. The requests are
#     those the server counted during the window (agentdl's /metrics
#     agentdl_requests_total{route="download_latest"}, nginx's stub_status),
#     read inside the window; the few calls of those two reads are included.
#     A table per scenario: each system call's calls per request, both servers.
# (b) A CPU profile of each server under the keep-alive load (or the
#     scenarios PROFILE_SCENARIOS names, e.g. "keepalive newconn"):
#     `perf record -e cpu-clock --call-graph fp -p PID` (software clock event:
#     no hardware counters here), then
#     `perf report --no-children --sort dso,symbol --stdio`, whose top 25
#     entries are printed. PERF_CALL_GRAPH=dwarf gives whole user-space stacks
#     (a Release build has no frame pointers) at the cost of larger files.
#
# Checked first (the script stops with a message otherwise): agentdl-serve has
# its 3 threads (the worker, the main thread, the access log writer) and nginx one
# worker, all allowed on core 0 only; both answer 302 with the same Location,
# and Connection: close when asked; per run: wrk printed no socket errors and
# no non-2xx/3xx, agentdl counted only 302s on the route.
#
#   bash bench/profile_serve.sh [DURATION_SECONDS]      # default 10
#
# AGENTDL_SERVE=/path/to/agentdl-serve profiles that binary; otherwise it is
# built (Release) in build-bench/ as serve_bench.sh does. Everything is saved
# in bench/results/profile-<timestamp>/ (gitignored): the raw counts
# (syscalls-<scenario>-<server>.txt), the tables (syscalls.txt), perf.data
# files, reports with call graphs (perf-<server>-callgraph.txt), the top 25
# (perf-<server>-top.txt), the shares by shared object (perf-<server>-dso.txt),
# and summary.txt. About 1 minute with the
# default duration (6 wrk runs).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=bench/common.sh
source bench/common.sh

duration=${1:-10}
case $duration in ''|*[!0-9]*|0|1|2|3) echo "profile_serve: DURATION_SECONDS must be an integer >= 4" >&2; exit 2 ;; esac
fail() { echo "profile_serve: $*" >&2; exit 1; }
for tool in wrk nginx taskset curl perf python3; do
  command -v "$tool" >/dev/null || fail "$tool is missing (bash scripts/deps.sh installs wrk and nginx; perf: apt-get install linux-perf)"
done
[ "$(nproc)" -ge 2 ] || fail "needs 2 cores (servers on core 0, wrk on core 1)"

find_agentdl_serve

# System call counting: perf's syscalls tracepoints if they count here.
syscall_tool=${SYSCALL_TOOL:-}
if [ -z "$syscall_tool" ]; then
  n=$(perf stat -x, -e syscalls:sys_enter_getppid -- python3 -c 'import os; [os.getppid() for _ in range(100)]' 2>&1 >/dev/null |
    awk -F, '/sys_enter_getppid/ {print $1}')
  if [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 100 ]; then syscall_tool=perf; else syscall_tool=strace; fi
fi
case $syscall_tool in
  perf) ;;
  strace) command -v strace >/dev/null || fail "perf's syscalls tracepoints do not work here and strace is missing" ;;
  *) fail "SYSCALL_TOOL must be perf or strace, not $syscall_tool" ;;
esac
call_graph=${PERF_CALL_GRAPH:-fp}
profile_scenarios=${PROFILE_SCENARIOS:-keepalive}
for scenario in $profile_scenarios; do
  case $scenario in keepalive|newconn) ;; *) echo "profile_serve: PROFILE_SCENARIOS: unknown scenario '$scenario' (keepalive, newconn)" >&2; exit 2 ;; esac
done

target_path=/v2/agent-releases/latest/download
target="$target_path?channel=stable&platform=macos&arch=arm64"
start_at=$((duration / 5))      # the measurement starts 20 % into the wrk run
window=$((duration / 2))        # and lasts half of it
stamp=$(date +%Y%m%d-%H%M%S)
out=$root/bench/results/profile-$stamp
mkdir -p "$out"

work=$(mktemp -d)
nginx_pid='' agentdl_pid='' wrk_pid='' tool_pid=''
cleanup() {
  for pid in $tool_pid $wrk_pid $agentdl_pid $nginx_pid; do kill "$pid" 2>/dev/null || true; done
  for pid in $tool_pid $wrk_pid $agentdl_pid $nginx_pid; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# agentdl-serve: the demo catalog on its own port, threads = 1, auth and
# access log off (metrics on, as by default).
start_agentdl_redirect "$target" taskset -c 0 --

# nginx: return 302 to agentdl's Location, stub_status for its counts.
nginx_port=$(free_port)
mkdir -p "$work/www"
write_nginx_conf "$work" "$nginx_port" "$work/www" "worker_cpu_affinity 01;" "keepalive_requests 10000000;" "
    location = $target_path { return 302 $location; }
    location = /nginx_status { stub_status; }"
start_nginx "$work" "http://127.0.0.1:$nginx_port/nginx_status" taskset -c 0 --

# What they run with, and what they answer.
tasks=$(ls "/proc/$agentdl_pid/task" | wc -l)
# 3 since one io_context per worker (+ the main thread, which only waits
# for signals); 2 before, which a before/after comparison still runs.
[ "$tasks" -eq 3 ] || [ "$tasks" -eq 2 ] ||
  fail "agentdl-serve runs $tasks threads, not 3 (1 worker + the main thread + the log writer)"
for t in /proc/"$agentdl_pid"/task/*; do
  allowed=$(awk '/^Cpus_allowed_list/ {print $2}' "$t/status")
  [ "$allowed" = 0 ] || fail "agentdl-serve's thread ${t##*/} may run on cores $allowed, not 0"
done
n=$(pgrep -P "$nginx_pid" | wc -l)
[ "$n" -eq 1 ] || fail "nginx runs $n worker processes, not 1"
nginx_worker=$(pgrep -P "$nginx_pid")
allowed=$(awk '/^Cpus_allowed_list/ {print $2}' "/proc/$nginx_worker/status")
[ "$allowed" = 0 ] || fail "nginx's worker may run on cores $allowed, not 0"
for server in agentdl nginx; do
  if [ $server = agentdl ]; then port=$agentdl_port; else port=$nginx_port; fi
  code=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://127.0.0.1:$port$target")
  [ "$code" = "302 $location" ] || fail "$server answered '$code', not '302 $location'"
  curl -s -o /dev/null -D - -H 'Connection: close' "http://127.0.0.1:$port$target" |
    grep -qi '^Connection: close' || fail "$server did not answer Connection: close when asked to"
done

# Prints the requests SERVER has counted on the route so far (nginx: all
# requests, this one included); fails on statuses other than 302 (agentdl).
served() {
  local text
  if [ "$1" = agentdl ]; then
    text=$(curl -sf "http://127.0.0.1:$agentdl_port/metrics") || { echo "GET /metrics failed" >&2; return 1; }
    awk '/^agentdl_requests_total\{route="download_latest",/ {
           if ($0 !~ /status="302"/) { print "agentdl answered other statuses than 302: " $0 > "/dev/stderr"; bad = 1 }
           total += $NF }
         END { if (bad) exit 1; print total + 0 }' <<<"$text"
  else
    text=$(curl -sf "http://127.0.0.1:$nginx_port/nginx_status") || { echo "GET /nginx_status failed" >&2; return 1; }
    awk 'NR == 3 {print $3}' <<<"$text"
  fi
}

# Starts wrk against SERVER for $duration seconds on core 1, with HEADERS.
start_wrk() {
  local server=$1 port
  shift
  if [ "$server" = agentdl ]; then port=$agentdl_port; else port=$nginx_port; fi
  taskset -c 1 wrk -t1 -c64 -d"${duration}s" "$@" "http://127.0.0.1:$port$target" >"$work/wrk.out" 2>&1 &
  wrk_pid=$!
}

# Waits for wrk and checks its output; sets wrk_rps, its requests/s. (Not in
# a $(...) subshell: wrk is a child of this shell.)
finish_wrk() {
  local rc=0
  wait "$wrk_pid" || rc=$?
  wrk_pid=
  [ "$rc" = 0 ] || fail "wrk exited $rc:"$'\n'"$(cat "$work/wrk.out")"
  ! grep -qE 'Socket errors|Non-2xx or 3xx' "$work/wrk.out" || fail "wrk saw errors:"$'\n'"$(cat "$work/wrk.out")"
  wrk_rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$work/wrk.out")
}

pid_of() { if [ "$1" = agentdl ]; then echo "$agentdl_pid"; else echo "$nginx_worker"; fi; }

# Counts SERVER's system calls over the window, under wrk with HEADERS; writes
# $out/syscalls-SCENARIO-SERVER.txt ("name count" lines) and
# $work/served-SCENARIO-SERVER (requests served in the window, wrk's req/s).
count_syscalls() {
  local scenario=$1 server=$2 pid before after rps raw=$out/syscalls-$1-$2.raw
  shift 2
  pid=$(pid_of "$server")
  start_wrk "$server" "$@"
  sleep "$start_at"
  if [ "$syscall_tool" = perf ]; then
    # perf counts PID while the command runs; the command reads the counts.
    export -f served
    export agentdl_port nginx_port work
    SERVER=$server WINDOW=$window taskset -c 1 perf stat -x, -e 'syscalls:sys_enter_*' -p "$pid" -o "$raw" -- \
      bash -c 'served "$SERVER" > "$work/before" && sleep "$WINDOW" && served "$SERVER" > "$work/after"' ||
      fail "perf stat failed on $server (see $raw)"
    before=$(cat "$work/before") after=$(cat "$work/after")
    awk -F, '$3 ~ /^syscalls:sys_enter_/ && $1 ~ /^[0-9]+$/ && $1 > 0 {sub(/^syscalls:sys_enter_/, "", $3); print $3, $1}' "$raw" \
      > "$out/syscalls-$scenario-$server.txt"
  else
    taskset -c 1 strace -c -f -q -p "$pid" -o "$raw" &
    tool_pid=$!
    # Attached when every thread has a tracer.
    for _ in $(seq 100); do
      ! grep -h '^TracerPid:' /proc/"$pid"/task/*/status | grep -q 'TracerPid:[[:space:]]*0$' && break
      sleep 0.05
    done
    before=$(served "$server") || fail "could not read $server's counts"
    sleep "$window"
    after=$(served "$server") || fail "could not read $server's counts"
    kill -INT "$tool_pid"
    wait "$tool_pid" || true
    tool_pid=
    # strace -c: "% time seconds usecs/call calls [errors] syscall", then a total line.
    awk '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" {print $NF, $4}' "$raw" > "$out/syscalls-$scenario-$server.txt"
  fi
  finish_wrk; rps=$wrk_rps
  # nginx's stub_status counts the request asking: the one after, in the window.
  if [ "$server" = nginx ]; then after=$((after - 1)); fi
  [ $((after - before)) -gt 0 ] || fail "$server served no request in the window"
  echo "$((after - before)) $rps" > "$work/served-$scenario-$server"
}

# Prints the table for SCENARIO: calls per request per system call, both servers.
syscall_table() {
  python3 - "$1" "$out" "$work" "$window" <<'PY'
import sys
scenario, out, work, window = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
servers = ("agentdl", "nginx")
calls, served, rps = {}, {}, {}
for s in servers:
    n, r = open(f"{work}/served-{scenario}-{s}").read().split()
    served[s], rps[s] = int(n), float(r)
    for line in open(f"{out}/syscalls-{scenario}-{s}.txt"):
        name, count = line.split()
        calls.setdefault(name, {})[s] = int(count)
per = {name: {s: c.get(s, 0) / served[s] for s in servers} for name, c in calls.items()}
print(f"{'syscall':<20} {'agentdl':>10} {'nginx':>10}   (calls per request)")
for name in sorted(per, key=lambda k: -max(per[k].values())):
    a, n = per[name]["agentdl"], per[name]["nginx"]
    if max(a, n) >= 0.0005:
        print(f"{name:<20} {a:>10.3f} {n:>10.3f}")
total = {s: sum(c.get(s, 0) for c in calls.values()) / served[s] for s in servers}
print(f"{'total':<20} {total['agentdl']:>10.3f} {total['nginx']:>10.3f}")
print(f"{'requests in window':<20} {served['agentdl']:>10} {served['nginx']:>10}")
print(f"{'req/s in window':<20} {served['agentdl'] / window:>10.0f} {served['nginx'] / window:>10.0f}")
print(f"{'wrk req/s (run)':<20} {rps['agentdl']:>10.0f} {rps['nginx']:>10.0f}")
PY
}

# Profiles SERVER under SCENARIO's load; writes its perf.data and reports
# (named perf-SERVER-* for keepalive, perf-SCENARIO-SERVER-* otherwise).
profile() {
  local scenario=$1 server=$2 pid data rps name=$2 headers=()
  [ "$scenario" = keepalive ] || name=$scenario-$server
  [ "$scenario" = newconn ] && headers=(-H 'Connection: close')
  data=$out/perf-$name.data
  pid=$(pid_of "$server")
  start_wrk "$server" "${headers[@]}"
  sleep "$start_at"
  taskset -c 1 perf record -q -e cpu-clock --call-graph "$call_graph" -p "$pid" -o "$data" -- sleep "$window" 2>"$work/perf-record.err" ||
    fail "perf record failed on $server:"$'\n'"$(cat "$work/perf-record.err")"
  finish_wrk; rps=$wrk_rps
  perf report -i "$data" --no-children --sort dso,symbol --stdio > "$out/perf-$name-callgraph.txt" 2>/dev/null
  # Whole reports into files first: head closing a pipe early would fail it (pipefail).
  perf report -i "$data" --no-children --sort dso,symbol --stdio -g none > "$work/flat.txt" 2>/dev/null ||
    fail "perf report failed on $data"
  # perf adds empty IPC columns ("-  -") without hardware counters: dropped, with the padding.
  sed -E -e '/^#/d' -e '/^[[:space:]]*$/d' -e 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//' -e 's/[[:space:]]+$//' \
    "$work/flat.txt" > "$work/flat-entries.txt"
  head -n 25 "$work/flat-entries.txt" > "$out/perf-$name-top.txt"
  perf report -i "$data" --no-children --sort dso --stdio -g none > "$work/dso.txt" 2>/dev/null ||
    fail "perf report --sort dso failed on $data"
  sed -E -e '/^#/d' -e '/^[[:space:]]*$/d' -e 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//' -e 's/[[:space:]]+$//' \
    "$work/dso.txt" > "$out/perf-$name-dso.txt"
  echo "$rps" > "$work/profile-rps-$name"
}

summary=$out/summary.txt
log() { echo "$@" | tee -a "$summary"; }
log "== agentdl-serve vs nginx return 302, syscalls per request and CPU profile: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -n), $(nproc) cores, kernel $(uname -r)"
log "agentdl-serve: $serve ($("$serve" --version 2>/dev/null | head -n 1)), threads = 1, auth off, access log off"
log "nginx: $(nginx -v 2>&1 | sed 's|.*/||'), 1 worker, keepalive_requests 10000000; both on core 0"
log "wrk -t1 -c64 for ${duration}s on core 1, GET $target; measured from ${start_at}s for ${window}s"
log "system calls counted with: $([ "$syscall_tool" = perf ] && echo "perf stat -e 'syscalls:sys_enter_*' -p PID" || echo "strace -c -f -p PID")"
log "checked: agentdl-serve 2 threads and nginx 1 worker, on core 0 only; both 302 to $location; Connection: close honoured"

for scenario in keepalive newconn; do
  headers=()
  [ "$scenario" = newconn ] && headers=(-H 'Connection: close')
  for server in agentdl nginx; do
    count_syscalls "$scenario" "$server" "${headers[@]}"
  done
  log ""
  log "-- (a) $scenario: $([ "$scenario" = newconn ] && echo "a new connection per request (Connection: close)" || echo "64 keep-alive connections")"
  syscall_table "$scenario" | tee "$work/table" | tee -a "$summary"
  cat "$work/table" >> "$out/syscalls.txt"
done

for scenario in $profile_scenarios; do
  for server in agentdl nginx; do
    profile "$scenario" "$server"
    name=$server
    [ "$scenario" = keepalive ] || name=$scenario-$server
    log ""
    log "-- (b) perf record -e cpu-clock --call-graph $call_graph, $server (pid $(pid_of "$server")), $scenario, ${window}s, wrk $(cat "$work/profile-rps-$name") req/s:"
    log "   by shared object (perf report --no-children --sort dso), first 6:"
    head -n 6 "$out/perf-$name-dso.txt" | tee -a "$summary"
    log "   perf report --no-children --sort dso,symbol --stdio, top 25:"
    tee -a "$summary" < "$out/perf-$name-top.txt"
  done
done

log ""
log "saved in ${out#"$root"/}/: summary.txt, syscalls.txt (tables), syscalls-<scenario>-<server>.txt (counts) and .raw,"
log "  perf-<server>.data, perf-<server>-callgraph.txt (with call graphs), perf-<server>-top.txt, perf-<server>-dso.txt"
