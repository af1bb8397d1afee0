#!/usr/bin/env bash
# A soak of agentdl-serve: load, reloads and held connections together, on
# one daemon (not part of CI; a few minutes). Two phases:
#
# A. wrk -t1 -c256 for SOAK_SECONDS (default 60) with bench/soak.lua: a mix
#    of redirects (latest and a version) and mirror files (/files/, 1 KiB to
#    4 MiB), while the catalog is reloaded 20 times by SIGHUP, spread evenly
#    over the run: every other reload a broken file (in turn: a TOML syntax
#    error, an invalid sha256, a mirror root that does not exist, an access
#    log that cannot be opened), the good ones alternating between two valid
#    catalogs (catalog B adds a release, so each good reload changes what
#    the latest redirect answers). Before it, a warm-up: the same load for
#    WARMUP seconds (default 10) with one good and one broken reload.
#    Criteria:
#      - zero socket errors (wrk's connect, read, write and timeout counts);
#      - zero unexpected statuses: only 200 and 302 counted by soak.lua's
#        response(), wrk's own status-error count (>= 400) 0, and in the
#        daemon's /metrics only 302 on the redirect routes and 200 on
#        /files/, /healthz and /metrics;
#      - the reloads: 10 "reloaded the catalog" and 10 "reload failed" lines
#        in the daemon's log, agentdl_catalog_reloads_total +10 ok and +10
#        error, and after each reload the latest redirect answers the
#        release of the catalog it should serve (the new one after a good
#        reload, the previous one after a broken one);
#      - RSS (VmRSS) after phase A <= 1.1x RSS after the warm-up, both taken
#        at rest once wrk's connections are closed;
#      - open descriptors (/proc/PID/fd) after phase A back to the count at
#        start-up, before any load (waited for up to 10 s).
#    RSS and descriptors are also sampled every second throughout.
#
# B. Normal clients beside idle and slow ones: wrk -t1 -c64 keep-alive on
#    the latest redirect for RUN_SECONDS (default 10), alone ("unloaded") and
#    while bench/hold_connections.py holds 2,000 idle keep-alive connections
#    (each made one request, GET /healthz, then sends nothing) and 200
#    slow-header clients (one header byte a second each, never finishing);
#    ROUNDS rounds (default 3), the order alternated within each round.
#    Criterion: median loaded requests/s >= 0.5x median unloaded. Checked in
#    every loaded run: the daemon counts the held connections open before and
#    mid-run, and every held connection is still open at the end of the run
#    (none closed by the server).
#
# Settings: [server] threads = 1, the daemon on core 0 (taskset), wrk and the
# other clients on core 1; max_connections = 10000 (the default, above the
# 2,264 of phase B); header_timeout = idle_timeout = 300s, longer than any
# hold (the slow clients trickle bytes, but the header deadline runs from its
# first byte, so with the default 10 s they would be cut off, as they should
# be in production); access_log = "/dev/null" (every line formatted and
# written by the log thread, and reopened on each reload, without filling a
# disk); auth off. ulimit -n is raised to 65536 or the hard limit (at least
# 4096 needed). wrk's CPU share of its core is reported: at >= 90 % it, not
# the daemon, set the pace, and the daemon's CPU per request is the figure
# to compare. So is each core's busy share (/proc/stat): on a shared
# machine, a core busy with neither tells of a neighbour.
#
#   bash bench/soak.sh [SOAK_SECONDS] [ROUNDS] [RUN_SECONDS]   # defaults 60, 3, 10
#
# WARMUP=10, RELOADS=20 (even), IDLE=2000, SLOW=200 in the environment change
# those. AGENTDL_SERVE=/path/to/agentdl-serve uses that binary; otherwise it
# is built (Release) in build-bench/. Everything goes to
# bench/results/soak-<timestamp>/: summary.txt (the report), serve.err (the
# daemon's log), the wrk outputs, reloads.tsv, samples.tsv (each second:
# time, VmRSS KiB, descriptors), the holder's reports, /metrics snapshots and
# descriptor listings. Exits 1 when a criterion is missed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=bench/common.sh
. bench/common.sh

soak=${1:-60}
rounds=${2:-3}
run_seconds=${3:-10}
warmup=${WARMUP:-10}
reloads=${RELOADS:-20}
idle=${IDLE:-2000}
slow=${SLOW:-200}
soak_connections=256
normal_connections=64
for v in soak:$soak rounds:$rounds run_seconds:$run_seconds warmup:$warmup reloads:$reloads idle:$idle slow:$slow; do
  case ${v#*:} in ''|*[!0-9]*) echo "soak: ${v%%:*} must be a non-negative integer" >&2; exit 2 ;; esac
done
[ "$soak" -gt 0 ] && [ "$run_seconds" -gt 0 ] && [ "$rounds" -gt 0 ] && [ "$warmup" -gt 0 ] ||
  { echo "soak: SOAK_SECONDS, ROUNDS, RUN_SECONDS and WARMUP must be positive" >&2; exit 2; }
[ $((reloads % 2)) -eq 0 ] && [ "$reloads" -gt 0 ] || { echo "soak: RELOADS must be even and positive" >&2; exit 2; }
[ "$rounds" -ge 3 ] || echo "soak: warning: $rounds round(s); the ratio is read on the median of at least 3" >&2

for tool in wrk taskset curl; do
  command -v "$tool" >/dev/null || { echo "soak: $tool is missing (bash scripts/deps.sh installs it)" >&2; exit 1; }
done
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3) || { echo "soak: python3 is missing" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "soak: needs 2 cores (the daemon on core 0, the clients on core 1)" >&2; exit 1; }

need_fds=$((idle + slow + soak_connections + normal_connections + 512))
[ "$need_fds" -ge 4096 ] || need_fds=4096
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need_fds" ]; then
  echo "soak: 'ulimit -n' is $(ulimit -n) and cannot be raised to $need_fds (hard limit $(ulimit -Hn))" >&2
  exit 1
fi

find_agentdl_serve

work=$(mktemp -d)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

script_start=$EPOCHREALTIME
stamp=$(date +%Y%m%d-%H%M%S)
out=$root/bench/results/soak-$stamp
mkdir -p "$out"
report=$out/summary.txt
log() { echo "$@" | tee -a "$report"; }
fail() { echo "soak: $*" | tee -a "$report" >&2; exit 1; }
now() { echo "$EPOCHREALTIME"; }

# ---------------------------------------------------------------- the mirror
# Files under $work/files, listed by catalog A (releases 0.9.0 and 1.0.0);
# catalog B adds 1.1.0 and its files. wrk asks only for A's files, which both
# list, so every request has one right answer whichever catalog serves it.
port=$(free_port)
mkdir -p "$work/files/macos" "$work/files/linux" "$work/files/windows"
make_file() { head -c "$2" /dev/urandom > "$work/files/$1"; }
make_file "macos/Agent-0.9.0.pkg" 1024                  # small
make_file "macos/Agent-1.0.0.pkg" $((16 * 1024))         # medium
make_file "windows/Agent Setup 1.0.0.msi" $((256 * 1024)) # large, a space in its name
make_file "linux/agent-1.0.0.tar.gz" $((4 * 1024 * 1024)) # big
make_file "macos/Agent-1.1.0.pkg" $((16 * 1024))
make_file "windows/Agent Setup 1.1.0.msi" $((256 * 1024))
make_file "linux/agent-1.1.0.tar.gz" $((64 * 1024))
export SOAK_SMALL=/files/macos/Agent-0.9.0.pkg
export SOAK_MEDIUM=/files/macos/Agent-1.0.0.pkg
export SOAK_LARGE=/files/windows/Agent%20Setup%201.0.0.msi
export SOAK_BIG=/files/linux/agent-1.0.0.tar.gz

# ARTIFACT PLATFORM ARCH PATH: one [[releases.artifacts]] block.
artifact() {
  cat <<TOML
  [[releases.artifacts]]
  platform = "$1"
  arch = "$2"
  path = "$3"
  sha256 = "$(sha256sum "$work/files/$3" | cut -d' ' -f1)"
  size = $(stat -c %s "$work/files/$3")
TOML
}
# The catalog's head: the [server] settings of the header, the mirror, auth off.
catalog_head() {
  cat <<TOML
default_channel = "stable"

[platforms.macos]
archs = ["arm64", "x86_64"]

[platforms.linux]
archs = ["x86_64"]
default_arch = "x86_64"

[platforms.windows]
archs = ["x86_64"]
default_arch = "x86_64"

[channels.stable]

[server]
listen = ["127.0.0.1:$port"]
threads = 1
header_timeout = "300s"
idle_timeout = "300s"
max_connections = 10000
access_log = "/dev/null"

[auth]
mode = "none"

[mirror]
root = "files"
TOML
}
release_1_1_0() {
  printf '\n[[releases]]\nversion = "1.1.0"\nchannels = ["stable"]\npublished_at = 2026-12-01T09:00:00Z\n'
  artifact macos arm64 "macos/Agent-1.1.0.pkg"
  artifact linux x86_64 "linux/agent-1.1.0.tar.gz"
  artifact windows x86_64 "windows/Agent Setup 1.1.0.msi"
}
older_releases() {
  printf '\n[[releases]]\nversion = "1.0.0"\nchannels = ["stable"]\npublished_at = 2026-11-01T09:00:00Z\n'
  artifact macos arm64 "macos/Agent-1.0.0.pkg"
  artifact linux x86_64 "linux/agent-1.0.0.tar.gz"
  artifact windows x86_64 "windows/Agent Setup 1.0.0.msi"
  printf '\n[[releases]]\nversion = "0.9.0"\nchannels = ["stable"]\npublished_at = 2026-10-01T09:00:00Z\n'
  artifact macos arm64 "macos/Agent-0.9.0.pkg"
}
{ catalog_head; older_releases; } > "$work/catalog-A.toml"
{ catalog_head; release_1_1_0; older_releases; } > "$work/catalog-B.toml"
# The broken ones, each catalog A with one fault.
sed '0,/^version = "1.0.0"$/s//version = "1.0.0/' "$work/catalog-A.toml" > "$work/broken-0.toml"   # TOML syntax
sed '0,/^  sha256 = ".*"$/s//  sha256 = "not-a-sha256"/' "$work/catalog-A.toml" > "$work/broken-1.toml"  # validation
sed 's|^root = "files"$|root = "no-such-folder"|' "$work/catalog-A.toml" > "$work/broken-2.toml"          # mirror root
sed "s|^access_log = \"/dev/null\"\$|access_log = \"$work/no-such-folder/access.log\"|" \
  "$work/catalog-A.toml" > "$work/broken-3.toml"                                                         # access log
broken_kinds=("TOML syntax error" "invalid sha256" "mirror root missing" "access log cannot be opened")
for k in 0 1 2 3; do
  ! cmp -s "$work/catalog-A.toml" "$work/broken-$k.toml" || fail "broken-$k.toml is catalog A: the sed did not apply"
done
releases_in() { grep -c '^\[\[releases\]\]' "$work/catalog-$1.toml"; }
latest_in() { if [ "$1" = B ]; then echo 1.1.0; else echo 1.0.0; fi; }
config=$work/agentdl.toml
cp "$work/catalog-A.toml" "$config"
"$serve" --config "$config" --check >/dev/null 2>"$work/check.err" || { cat "$work/check.err" >&2; fail "catalog A does not check"; }
cp "$work/catalog-B.toml" "$work/check-B.toml"
"$serve" --config "$work/check-B.toml" --check >/dev/null 2>"$work/check.err" || { cat "$work/check.err" >&2; fail "catalog B does not check"; }

# ---------------------------------------------------------------- the daemon
base=http://127.0.0.1:$port
taskset -c 0 "$serve" --config "$config" 2>"$out/serve.err" >/dev/null &
serve_pid=$!
pids+=("$serve_pid")
for _ in $(seq 100); do curl -sf -o /dev/null "$base/healthz" && break; sleep 0.1; done
curl -sf -o /dev/null "$base/healthz" || { cat "$out/serve.err" >&2; fail "agentdl-serve did not start"; }
for t in /proc/"$serve_pid"/task/*; do
  allowed=$(awk '/^Cpus_allowed_list/ {print $2}' "$t/status")
  [ "$allowed" = 0 ] || fail "agentdl-serve's thread ${t##*/} may run on cores $allowed, not 0"
done
threads_running=$(ls "/proc/$serve_pid/task" | wc -l)
# Every file is served whole and byte for byte, and each route answers as wrk expects.
for p in "$SOAK_SMALL" "$SOAK_MEDIUM" "$SOAK_LARGE" "$SOAK_BIG"; do
  f=${p#/files/}; f=${f//%20/ }
  got=$(curl -sf "$base$p" | sha256sum | cut -d' ' -f1) || true
  [ "$got" = "$(sha256sum "$work/files/$f" | cut -d' ' -f1)" ] || fail "GET $p did not serve the file (sha256 $got)"
done
latest_url="$base/v2/agent-releases/latest/download?channel=stable&platform=macos&arch=arm64"
version_url="$base/v2/agent-releases/1.0.0/download?platform=linux&arch=x86_64"
code=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$latest_url")
[ "$code" = "302 $base/files/macos/Agent-1.0.0.pkg" ] || fail "the latest redirect answered '$code'"
code=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$version_url")
[ "$code" = "302 $base$SOAK_BIG" ] || fail "the version redirect answered '$code'"

served_version() { # the release the latest redirect names now
  curl -s -o /dev/null -D - --max-time 10 "$latest_url" | tr -d '\r' |
    awk -F': ' 'tolower($1) == "x-release-version" {print $2}'
}
metric() { # NAME_AND_LABELS: its value in a /metrics snapshot on stdin (0 when absent)
  awk -v key="$1" '$1 == key {v = $2} END {print (v == "") ? 0 : v}' # as written: mawk prints large numbers as 8.1e+09
}
fds() { ls "/proc/$serve_pid/fd" | wc -l; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$serve_pid/status"; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$serve_pid/status"; }
fd_list() { # FILE: the descriptors and what they are
  for f in /proc/"$serve_pid"/fd/*; do printf '%s %s\n' "${f##*/}" "$(readlink "$f" 2>/dev/null || echo '?')"; done |
    sed -E 's/^([0-9]+ )(socket|pipe):\[[0-9]+\]$/\1\2/' | sort -n > "$1"
}
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

# Waits up to 10 s for the descriptors to fall back to N; prints the count reached and the seconds waited.
settle_fds() {
  local n=$1 start count
  start=$(now)
  for _ in $(seq 100); do
    count=$(fds)
    [ "$count" -le "$n" ] && break
    sleep 0.1
  done
  echo "$count $(awk -v a="$start" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}')"
}

sleep 1
fds_base=$(fds)
rss_start=$(rss)
fd_list "$out/fds-baseline.txt"

# Each second: time, VmRSS (KiB), descriptors.
( while kill -0 "$serve_pid" 2>/dev/null; do
    printf '%s %s %s\n' "$(now)" "$(rss 2>/dev/null || echo 0)" "$(fds 2>/dev/null || echo 0)"
    sleep 1
  done ) > "$out/samples.tsv" &
pids+=($!)

log "== agentdl-serve soak: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -n), $(nproc) cores, kernel $(uname -r)"
log "agentdl-serve: $serve ($("$serve" --version 2>/dev/null | head -n 1)), on core 0, $threads_running threads ([server] threads = 1)"
log "[server] max_connections = 10000, header_timeout = idle_timeout = 300s, access_log = /dev/null; auth off; [mirror] root with 7 files (1 KiB to 4 MiB), each checked byte for byte"
log "wrk: $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2) -t1 on core 1; ulimit -n $(ulimit -n); load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
log "at start-up: $fds_base descriptors, VmRSS $(mib "$rss_start") MiB"

# ---------------------------------------------------------------- phase A
# The good reloads alternate B, A, B, ... (the daemon starts on A): the
# warm-up's is B, phase A's go A, B, ... Broken kinds go round in turn.
# reload_loop LABEL COUNT SECONDS FIRST_GOOD FIRST_BROKEN: COUNT reloads at
# (i - 0.5) * SECONDS / COUNT, the odd ones good, the even ones broken; one
# line per reload to reloads.tsv:
#   label i kind catalog releases_expected log_line_ok version_expected version_served
#   ms (from SIGHUP to its log line, polled every 25 ms) "log line" seconds (SIGHUP after the start)
good_catalog() { if [ $(($1 % 2)) -eq 0 ]; then echo B; else echo A; fi; }
reload_loop() {
  local label=$1 count=$2 seconds=$3 good=$4 broken=$5 start i at wait kind cat current expect got ok line before t0 ms
  start=$(now)
  if [ "$good" -eq 0 ]; then current=A; else current=$(good_catalog $((good - 1))); fi
  for i in $(seq "$count"); do
    at=$(awk -v s="$start" -v i="$i" -v d="$seconds" -v n="$count" 'BEGIN {printf "%.6f", s + (i - 0.5) * d / n}')
    wait=$(awk -v a="$at" -v b="$(now)" 'BEGIN {w = a - b; print (w > 0) ? w : 0}')
    sleep "$wait"
    before=$(grep -c -E 'reloaded the catalog|reload failed' "$out/serve.err" || true)
    if [ $((i % 2)) -eq 1 ]; then
      kind=good; cat=$(good_catalog "$good"); good=$((good + 1))
      cp "$work/catalog-$cat.toml" "$config.tmp"
    else
      kind="broken-$((broken % 4))"; cat=$current; broken=$((broken + 1))
      cp "$work/$kind.toml" "$config.tmp"
    fi
    mv "$config.tmp" "$config"
    t0=$(now)
    kill -HUP "$serve_pid"
    at=$(awk -v a="$start" -v b="$t0" 'BEGIN {printf "%.1f", b - a}')
    line=""
    for _ in $(seq 200); do
      if [ "$(grep -c -E 'reloaded the catalog|reload failed' "$out/serve.err" || true)" -gt "$before" ]; then
        line=$(grep -E 'reloaded the catalog|reload failed' "$out/serve.err" | tail -n 1)
        break
      fi
      sleep 0.025
    done
    ms=$(awk -v a="$t0" -v b="$(now)" 'BEGIN {printf "%.0f", (b - a) * 1000}')
    got=$(served_version || true)
    expect=$(latest_in "$cat")
    if [ "$kind" = good ]; then
      case $line in *"reloaded the catalog: $(releases_in "$cat") releases"*) ok=1 ;; *) ok=0 ;; esac
      current=$cat
    else
      case $line in *"reload failed, still serving the previous catalog: "*) ok=1 ;; *) ok=0 ;; esac
      cp "$work/catalog-$current.toml" "$config.tmp" && mv "$config.tmp" "$config" # the good file back
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$i" "$kind" "$cat" "$(releases_in "$cat")" \
      "$ok" "$expect" "${got:-none}" "$ms" "$line" "$at" >> "$out/reloads.tsv"
  done
}

# run_wrk NAME SECONDS CONNECTIONS [MIX]: wrk on core 1, to NAME.wrk; the
# daemon's CPU ticks over the run to NAME.ticks; mid-run, its open
# connections (its /metrics, less the asking one) to NAME.open. MIX=1 uses
# the soak mix (and its response() counting), else the latest redirect alone.
run_wrk() {
  local name=$1 seconds=$2 connections=$3 mix=${4:-0} wrk_pid ticks0 url=$latest_url
  [ "$mix" = 1 ] && url=$base/
  ticks0=$(cpu_ticks "$serve_pid")
  grep -E '^cpu[01] ' /proc/stat > "$out/$name.stat0"
  SOAK_MIX=$mix taskset -c 1 wrk -t1 -c"$connections" -d"${seconds}s" --latency -s bench/soak.lua "$url" \
    > "$out/$name.wrk" 2>&1 &
  wrk_pid=$!
  pids+=("$wrk_pid")
  # Mid-run. (A sleep waited for, so that a signal to the script ends it at once.)
  sleep "$(awk -v s="$seconds" 'BEGIN {print s * 0.6}')" &
  pids+=($!)
  wait $!
  echo $(( $(curl -s "$base/metrics" | metric agentdl_open_connections) - 1 )) > "$out/$name.open"
  wait "$wrk_pid" || fail "wrk ($name) exited $?: $(cat "$out/$name.wrk")"
  echo $(( $(cpu_ticks "$serve_pid") - ticks0 )) > "$out/$name.ticks"
  grep -E '^cpu[01] ' /proc/stat > "$out/$name.stat1"
}
# core_busy NAME CORE: how busy the core was over the run, from /proc/stat:
# "busy% softirq% steal%" (busy: all but idle and iowait; softirq, which is
# where loopback TCP delivery is often accounted, is not in any process's CPU
# time; steal: time the hypervisor gave another guest).
core_busy() {
  cat "$out/$1.stat0" "$out/$1.stat1" | awk -v c="cpu$2" '$1 == c {
      n++; for (i = 2; i <= 9; i++) v[n, i] = $i }
    END { for (i = 2; i <= 9; i++) { d[i] = v[2, i] - v[1, i]; total += d[i] }
          if (total <= 0) total = 1
          printf "%.0f %.0f %.0f\n", 100 * (total - d[5] - d[6]) / total, 100 * d[8] / total, 100 * d[9] / total }'
}
# wrk_field NAME KEY: from soak.lua's lines (soak-errors KEY=N, soak-cpu N) and wrk's summary.
wrk_errors() { sed -n 's/.*soak-errors //p' "$out/$1.wrk"; }
wrk_error() { wrk_errors "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k {print $2}'; }
wrk_rps() { awk '/^Requests\/sec:/ {print $2}' "$out/$1.wrk"; }
wrk_cpu_pct() { awk -v s="$2" '/^soak-cpu / {printf "%.0f", 100 * $2 / s}' "$out/$1.wrk"; }
wrk_statuses() { sed -n 's/^soak-statuses *//p' "$out/$1.wrk"; }
cpu_us_per_request() { # NAME: the daemon's CPU microseconds per request wrk completed
  awk -v t="$(cat "$out/$1.ticks")" -v hz="$(getconf CLK_TCK)" -v r="$(wrk_error "$1" requests)" \
    'BEGIN {printf "%.2f\n", (r > 0) ? t / hz * 1e6 / r : 0}'
}
daemon_cpu_pct() { # NAME SECONDS: the daemon's CPU over the run, % of one core
  awk -v t="$(cat "$out/$1.ticks")" -v hz="$(getconf CLK_TCK)" -v s="$2" 'BEGIN {printf "%.0f\n", 100 * t / hz / s}'
}
socket_errors() { echo $(( $(wrk_error "$1" connect) + $(wrk_error "$1" read) + $(wrk_error "$1" write) + $(wrk_error "$1" timeout) )); }

log ""
log "== phase A: warm-up, ${warmup}s of the soak mix with 2 reloads (one good, one broken)"
curl -s "$base/metrics" > "$out/metrics-0-start.txt"
: > "$out/reloads.tsv"
reload_loop warm-up 2 "$warmup" 0 0 &
reload_pid=$!
pids+=("$reload_pid")
run_wrk warm-up "$warmup" "$soak_connections" 1
wait "$reload_pid" || fail "the warm-up's reloads failed"
read -r fds_warm settle_warm <<< "$(settle_fds "$fds_base")"
sleep 1
rss_warm=$(rss)
curl -s "$base/metrics" > "$out/metrics-1-warm.txt"
log "warm-up: $(wrk_rps warm-up) requests/s, statuses $(wrk_statuses warm-up), socket errors $(socket_errors warm-up); at rest after it: VmRSS $(mib "$rss_warm") MiB, $fds_warm descriptors (after ${settle_warm}s)"

log ""
log "== phase A: ${soak}s, wrk -c$soak_connections with the soak mix, $reloads reloads (every other one broken)"
err_lines_before=$(wc -l < "$out/serve.err")
a_start=$(now)
reload_loop soak "$reloads" "$soak" 1 1 &
reload_pid=$!
pids+=("$reload_pid")
run_wrk soak "$soak" "$soak_connections" 1
wait "$reload_pid" || fail "phase A's reloads failed"
a_end=$(now)
read -r fds_after settle_after <<< "$(settle_fds "$fds_base")"
sleep 1
rss_after=$(rss)
hwm_after=$(hwm)
fd_list "$out/fds-after-phase-a.txt"
curl -s "$base/metrics" > "$out/metrics-2-after-a.txt"

# The figures.
rps=$(wrk_rps soak)
requests=$(wrk_error soak requests)
sock_err=$(socket_errors soak)
status_err=$(wrk_error soak status)
statuses=$(wrk_statuses soak)
non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out/soak.wrk")
wrk_cpu=$(wrk_cpu_pct soak "$soak")
transfer=$(awk '/^Transfer\/sec:/ {print $2}' "$out/soak.wrk")
unexpected_lua=$(echo "$statuses" | tr ' ' '\n' | awk -F= '$1 != 200 && $1 != 302 && $1 != "" {n += $2} END {print n + 0}')
# The daemon's own count, phase A's delta by route and status.
metrics_delta() { # FROM TO: "route status count" for each pair that changed
  awk 'FNR == 1 {file++}
       /^agentdl_requests_total\{/ {
         match($0, /route="[^"]*"/); r = substr($0, RSTART + 7, RLENGTH - 8)
         match($0, /status="[^"]*"/); s = substr($0, RSTART + 8, RLENGTH - 9)
         if (file == 1) a[r " " s] = $2; else b[r " " s] = $2 }
       END {for (k in b) if (b[k] - a[k] > 0) print k, b[k] - a[k]}' "$1" "$2" | sort
}
metrics_delta "$out/metrics-1-warm.txt" "$out/metrics-2-after-a.txt" > "$out/phase-a-statuses.txt"
unexpected_daemon=$(awk '!(($1 ~ /^download_(latest|version)$/ && $2 == 302) ||
                          ($1 ~ /^(files|healthz|metrics)$/ && $2 == 200)) {n += $3} END {print n + 0}' "$out/phase-a-statuses.txt")
daemon_by_route=$(awk '{printf "%s%s %s: %s", (NR > 1 ? ", " : ""), $1, $2, $3}' "$out/phase-a-statuses.txt")
files_served=$(( $(metric agentdl_files_served_total < "$out/metrics-2-after-a.txt") - $(metric agentdl_files_served_total < "$out/metrics-1-warm.txt") ))
file_bytes=$(( $(metric agentdl_file_bytes_sent_total < "$out/metrics-2-after-a.txt") - $(metric agentdl_file_bytes_sent_total < "$out/metrics-1-warm.txt") ))
ok_reloads=$(( $(metric 'agentdl_catalog_reloads_total{result="ok"}' < "$out/metrics-2-after-a.txt") - $(metric 'agentdl_catalog_reloads_total{result="ok"}' < "$out/metrics-1-warm.txt") ))
err_reloads=$(( $(metric 'agentdl_catalog_reloads_total{result="error"}' < "$out/metrics-2-after-a.txt") - $(metric 'agentdl_catalog_reloads_total{result="error"}' < "$out/metrics-1-warm.txt") ))
log_ok=$(tail -n +"$((err_lines_before + 1))" "$out/serve.err" | grep -c 'reloaded the catalog' || true)
log_failed=$(tail -n +"$((err_lines_before + 1))" "$out/serve.err" | grep -c 'reload failed' || true)
reload_rows=$(awk -F'\t' '$1 == "soak"' "$out/reloads.tsv" | wc -l)
reload_bad=$(awk -F'\t' '$1 == "soak" && ($6 != 1 || $7 != $8)' "$out/reloads.tsv" | wc -l)
reload_ms=$(awk -F'\t' '$1 == "soak" {print $9}' "$out/reloads.tsv" | median)
reload_at=$(awk -F'\t' '$1 == "soak" {printf "%s%s", (n++ ? " " : ""), $11}' "$out/reloads.tsv")
rss_samples=$(awk -v a="$a_start" -v b="$a_end" '$1 >= a && $1 <= b && $2 > 0 {
    if (min == "" || $2 < min) min = $2; if ($2 > max) max = $2; n++ }
  END {printf "%.1f-%.1f MiB over %d samples", min / 1024, max / 1024, n}' "$out/samples.tsv")
fd_samples=$(awk -v a="$a_start" -v b="$a_end" '$1 >= a && $1 <= b && $3 > 0 {
    if (min == "" || $3 < min) min = $3; if ($3 > max) max = $3 }
  END {printf "%d-%d", min, max}' "$out/samples.tsv")

saturated() { awk -v c="$1" 'BEGIN {print (c >= 90) ? "saturated" : "not saturated"}'; }
log "wrk: $requests requests, $rps requests/s, $transfer/s; wrk's CPU $wrk_cpu % of its core ($(saturated "$wrk_cpu")); latency $(awk '/^    Latency/ {print "avg " $2 ", max " $4}' "$out/soak.wrk"), p99 $(awk '$1 == "99%" {print $2}' "$out/soak.wrk")"
log "wrk errors: $(wrk_errors soak); Non-2xx or 3xx responses: ${non2xx:-none}"
log "statuses counted by soak.lua: $statuses"
log "the daemon's count (/metrics, phase A): $daemon_by_route; files sent whole: $files_served, $(mib $((file_bytes / 1024))) MiB"
read -r c0_busy c0_softirq c0_steal <<< "$(core_busy soak 0)"
read -r c1_busy c1_softirq c1_steal <<< "$(core_busy soak 1)"
log "mid-run: $(cat "$out/soak.open") client connections open; the daemon's CPU $(cpu_us_per_request soak) us per request, $(daemon_cpu_pct soak "$soak") % of its core"
log "cores over the run (/proc/stat): core 0 (the daemon) $c0_busy % busy ($c0_softirq % softirq, $c0_steal % steal), core 1 (wrk, reloads) $c1_busy % busy ($c1_softirq % softirq, $c1_steal % steal)"
log "reloads: $reload_rows made, at $reload_at s (median $reload_ms ms from SIGHUP to its log line); log: $log_ok 'reloaded the catalog', $log_failed 'reload failed'; /metrics: +$ok_reloads ok, +$err_reloads error; $reload_bad with a wrong log line or the wrong release served after it"
for k in 0 1 2 3; do
  line=$(awk -F'\t' -v k="broken-$k" '$3 == k {print $10; exit}' "$out/reloads.tsv")
  [ -z "$line" ] || log "  ${broken_kinds[$k]}: ${line#*reload failed, still serving the previous catalog: }"
done
log "VmRSS: start-up $(mib "$rss_start") MiB, after the warm-up $(mib "$rss_warm") MiB, during phase A $rss_samples, after phase A $(mib "$rss_after") MiB (peak VmHWM $(mib "$hwm_after") MiB)"
log "descriptors: start-up $fds_base, during phase A $fd_samples, after phase A $fds_after (after ${settle_after}s)"
if [ "$fds_after" != "$fds_base" ]; then
  log "what the descriptors open differ in from start-up (fds-baseline.txt against fds-after-phase-a.txt; < start-up, > after):"
  diff <(cut -d' ' -f2- "$out/fds-baseline.txt" | sort) <(cut -d' ' -f2- "$out/fds-after-phase-a.txt" | sort) |
    grep '^[<>]' | head -n 20 | tee -a "$report" || true
fi

verdicts=()
verdict() { # NAME MET(0/1) TEXT
  local word=PASS
  [ "$2" = 1 ] || word=FAIL
  verdicts+=("$word  $1: $3")
}
verdict "zero socket errors" "$([ "$sock_err" -eq 0 ] && echo 1 || echo 0)" \
  "$sock_err (connect/read/write/timeout: $(wrk_error soak connect)/$(wrk_error soak read)/$(wrk_error soak write)/$(wrk_error soak timeout))"
verdict "zero unexpected statuses" \
  "$([ "$unexpected_lua" -eq 0 ] && [ "$status_err" -eq 0 ] && [ -z "$non2xx" ] && [ "$unexpected_daemon" -eq 0 ] && [ -n "$statuses" ] && echo 1 || echo 0)" \
  "soak.lua $unexpected_lua beside 200/302, wrk status errors $status_err, the daemon $unexpected_daemon"
verdict "reloads" \
  "$([ "$reload_rows" -eq "$reloads" ] && [ "$reload_bad" -eq 0 ] && [ "$log_ok" -eq $((reloads / 2)) ] && [ "$log_failed" -eq $((reloads / 2)) ] && [ "$ok_reloads" -eq $((reloads / 2)) ] && [ "$err_reloads" -eq $((reloads / 2)) ] && echo 1 || echo 0)" \
  "$log_ok reloaded + $log_failed failed in the log, /metrics +$ok_reloads/+$err_reloads, $reload_bad wrong (of $reload_rows)"
rss_ratio=$(awk -v a="$rss_after" -v w="$rss_warm" 'BEGIN {printf "%.3f", a / w}')
verdict "RSS after <= 1.1x after warm-up" "$(awk -v r="$rss_ratio" 'BEGIN {print (r <= 1.1) ? 1 : 0}')" \
  "$(mib "$rss_after") / $(mib "$rss_warm") MiB = ${rss_ratio}x"
verdict "descriptors back to start-up" "$([ "$fds_after" -eq "$fds_base" ] && echo 1 || echo 0)" "$fds_after against $fds_base"

# ---------------------------------------------------------------- phase B
log ""
log "== phase B: wrk -c$normal_connections keep-alive on the latest redirect, ${run_seconds}s, alone and beside $idle idle + $slow slow-header connections; $rounds rounds, order alternated"
log "columns: wrk's requests/s and p99; the daemon's CPU per request and share of its core; wrk's share of its core; each core's busy share (/proc/stat, softirq and steal included); client connections open mid-run; the daemon's VmRSS at the end of the run; the held connections"
log "$(printf '%-6s %-9s %10s %8s %10s %5s %5s %6s %6s %6s %7s %s' round run req/s p99 cpu_us/req srv% wrk% core0% core1% conns rss_MiB held)"
: > "$work/unloaded"; : > "$work/loaded"; : > "$work/unloaded.cpu"; : > "$work/loaded.cpu"
held_bad=0
measure() { # ROUND KIND
  local r=$1 kind=$2 name="b$1-$2" holder_pid held="" open_before="" report_file ready_file rss_mid
  if [ "$kind" = loaded ]; then
    ready_file=$work/ready-$r; report_file=$out/$name.held.json
    rm -f "$ready_file"
    taskset -c 1 "$py" bench/hold_connections.py 127.0.0.1 "$port" "$idle" "$slow" 1 "$ready_file" "$report_file" \
      2> "$out/$name.held.err" &
    holder_pid=$!
    pids+=("$holder_pid")
    for _ in $(seq 600); do
      [ -e "$ready_file" ] && break
      kill -0 "$holder_pid" 2>/dev/null || fail "hold_connections.py stopped: $(cat "$out/$name.held.err")"
      sleep 0.1
    done
    [ -e "$ready_file" ] || fail "hold_connections.py did not open its connections within 60 s"
    sleep 1
    open_before=$(( $(curl -s "$base/metrics" | metric agentdl_open_connections) - 1 ))
    [ "$open_before" -ge $((idle + slow)) ] || fail "the daemon counts $open_before connections open, not the $((idle + slow)) held"
  fi
  run_wrk "$name" "$run_seconds" "$normal_connections"
  rss_mid=$(rss)
  if [ "$kind" = loaded ] && [ "$(cat "$out/$name.open")" -lt $((idle + slow)) ]; then
    held_bad=$((held_bad + 1)) # fewer than the held ones open mid-run
  fi
  if [ "$kind" = loaded ]; then
    kill -USR1 "$holder_pid"
    wait "$holder_pid" || fail "hold_connections.py failed: $(cat "$out/$name.held.err")"
    held=$("$py" -c 'import json, sys
r = json.load(open(sys.argv[1])); i, s = r["idle"], r["slow"]
print("idle %d/%d slow %d/%d still open after %.0fs (%d header bytes trickled; holder CPU %.1fs)" % (
    i["open_at_end"], i["opened"], s["open_at_end"], s["opened"], r["held_s"], s["header_bytes_sent"], r["cpu_s"]))' \
      "$report_file")
    "$py" -c 'import json, sys; r = json.load(open(sys.argv[1])); sys.exit(0 if r["idle"]["closed_by_server"] == 0 and r["slow"]["closed_by_server"] == 0 else 1)' "$report_file" ||
      held_bad=$((held_bad + 1))
    held="before $open_before open; $held"
  fi
  [ "$(socket_errors "$name")" -eq 0 ] && [ "$(wrk_error "$name" status)" -eq 0 ] ||
    fail "wrk ($name) saw errors: $(wrk_errors "$name")"
  wrk_rps "$name" >> "$work/$kind"
  cpu_us_per_request "$name" >> "$work/$kind.cpu"
  log "$(printf '%-6s %-9s %10s %8s %10s %5s %5s %6s %6s %6s %7s %s' "$r" "$kind" "$(wrk_rps "$name")" \
    "$(awk '$1 == "99%" {print $2}' "$out/$name.wrk")" "$(cpu_us_per_request "$name")" \
    "$(daemon_cpu_pct "$name" "$run_seconds")" "$(wrk_cpu_pct "$name" "$run_seconds")" \
    "$(core_busy "$name" 0 | cut -d' ' -f1)" "$(core_busy "$name" 1 | cut -d' ' -f1)" \
    "$(cat "$out/$name.open")" "$(mib "$rss_mid")" "$held")"
  settle_fds "$fds_base" > /dev/null
}
for r in $(seq "$rounds"); do
  if [ $((r % 2)) -eq 1 ]; then order="unloaded loaded"; else order="loaded unloaded"; fi
  for kind in $order; do measure "$r" "$kind"; done
done
read -r fds_end settle_end <<< "$(settle_fds "$fds_base")"
unloaded_rps=$(median < "$work/unloaded")
loaded_rps=$(median < "$work/loaded")
ratio=$(awk -v l="$loaded_rps" -v u="$unloaded_rps" 'BEGIN {printf "%.3f", l / u}')
wrk_cpu_b=$(for f in "$out"/b*-*.wrk; do n=${f##*/}; wrk_cpu_pct "${n%.wrk}" "$run_seconds"; echo; done | median)
log "medians: unloaded $unloaded_rps requests/s ($(median < "$work/unloaded.cpu") us CPU per request), with the held connections $loaded_rps requests/s ($(median < "$work/loaded.cpu") us); ratio ${ratio}x (CPU per request $(awk -v l="$(median < "$work/loaded.cpu")" -v u="$(median < "$work/unloaded.cpu")" 'BEGIN {printf "%.3f", l / u}')x); wrk's CPU (median of the runs) $wrk_cpu_b % ($(saturated "$wrk_cpu_b"))"
log "after phase B: $fds_end descriptors (start-up $fds_base; after ${settle_end}s), VmRSS $(mib "$(rss)") MiB, peak VmHWM $(mib "$(hwm)") MiB"
verdict "normal clients >= 0.5x unloaded beside idle/slow ones" \
  "$(awk -v r="$ratio" -v bad="$held_bad" 'BEGIN {print (r >= 0.5 && bad == 0) ? 1 : 0}')" \
  "${ratio}x ($loaded_rps / $unloaded_rps requests/s); runs with a held connection closed by the server or missing mid-run: $held_bad"

curl -s "$base/metrics" > "$out/metrics-3-end.txt"
log "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); the whole run took $(awk -v a="$script_start" -v b="$(now)" 'BEGIN {printf "%.0f", b - a}') s"
log ""
log "== verdicts"
failed=0
for v in "${verdicts[@]}"; do
  log "$v"
  case $v in FAIL*) failed=1 ;; esac
done
log "(everything in ${out#"$root"/}/)"
exit "$failed"
