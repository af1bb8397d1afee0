#!/usr/bin/env bash
# agentdl-serve's redirect against nginx doing `return 302` to the same
# Location, at the same fixed offered rate: CPU time per request when neither
# the server nor the client is saturated.
#
#   bash bench/rate_bench.sh [RATES] [PAIRS] [SECONDS]    # defaults "40000 80000", 6, 10
#   AGENTDL_SERVE=build-bench/apps/agentdl-serve/agentdl-serve bash bench/rate_bench.sh
#
# serve_bench.sh drives both servers as hard as wrk can; on 2 cores wrk
# saturates its core first, so its requests/s measure wrk, and CPU per
# request is compared at whatever rate each server reached. Here h2load
# (nghttp2-client, HTTP/1.1 with --h1) sends RATE requests/s in all over 64
# keep-alive connections (--rps per connection), a rate both servers can
# serve, so both do the same work per second and their CPU time per request
# compares like for like.
#
# Per rate: one warm-up run each, then PAIRS agentdl/nginx pairs with the
# order alternated (agentdl first in odd pairs). Per run: the rate h2load
# reached, the requests it completed (all must be 302: any other status,
# failure or error stops the script), the server's CPU time (utime + stime
# from /proc/PID/stat) over the run divided by the requests completed, and
# h2load's own CPU share of its core (bash's `time`). Reported: the medians
# of each server's CPU per request, their ratio, and the median of the
# per-pair ratios.
#
# Both servers run one worker on core 0 (agentdl `[server] threads = 1`,
# nginx `worker_processes 1` + `worker_cpu_affinity 01`, and taskset), auth
# off, access logs off; h2load `-t1` on core 1. Checked before timing: both
# answer the URL with 302 and the same Location.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh

rates=${1:-"40000 80000"}
pairs=${2:-6}
seconds=${3:-10}
connections=64

for tool in h2load nginx taskset curl; do
  command -v "$tool" >/dev/null || { echo "rate_bench: $tool is missing (scripts/deps.sh installs it)" >&2; exit 1; }
done
[ "$(nproc)" -ge 2 ] || { echo "rate_bench: needs 2 cores (servers on core 0, h2load on core 1)" >&2; exit 1; }
find_agentdl_serve
make_work_folder
fail() { echo "rate_bench: $*" >&2; exit 1; }

target='/v2/agent-releases/latest/download?channel=stable&platform=windows&arch=x86_64'
trap 'kill ${agentdl_pid:-} ${nginx_pid:-} 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
start_agentdl_redirect "$target" taskset -c 0 --

# nginx answers `return 302` with agentdl-serve's Location.
nginx_port=$(free_port)
mkdir -p "$work/www"
write_nginx_conf "$work" "$nginx_port" "$work/www" "worker_cpu_affinity 01;" "keepalive_requests 10000000;" \
  "    location = ${target%%\?*} { return 302 $location; }"
start_nginx "$work" "http://127.0.0.1:$nginx_port$target" taskset -c 0 --
nginx_worker=""
for _ in $(seq 50); do
  nginx_worker=$(pgrep -P "$nginx_pid" || true)
  [ -n "$nginx_worker" ] && [ "$(echo "$nginx_worker" | wc -l)" = 1 ] && break
  sleep 0.1
done
[ -n "$nginx_worker" ] || { cat "$work/nginx/error.log" >&2; fail "nginx started no worker"; }
nginx_location=$(curl -s -o /dev/null -w '%{redirect_url}' "http://127.0.0.1:$nginx_port$target")
[ "$nginx_location" = "$location" ] || fail "nginx answers Location '$nginx_location', agentdl '$location'"

tck=$(getconf CLK_TCK)
# One h2load run against one server: prints "REQUESTS/S CPU_US_PER_REQUEST H2LOAD_CPU_PERCENT".
measure() { # PID PORT RATE SECONDS
  local before after out done_count redirects failed rps client
  before=$(cpu_ticks "$1")
  local TIMEFORMAT='%U %S %R'
  { time taskset -c 1 h2load --h1 -t1 -c"$connections" --rps=$(($3 / connections)) -D "$4" \
      "http://127.0.0.1:$2$target" >"$work/h2load.out" 2>&1; } 2>"$work/time.out"
  after=$(cpu_ticks "$1")
  out=$(cat "$work/h2load.out")
  done_count=$(echo "$out" | awk '/^requests:/ {print $8}')
  failed=$(echo "$out" | awk '/^requests:/ {print $12 + $14 + $16}')
  redirects=$(echo "$out" | awk '/^status codes:/ {print $5}')
  rps=$(echo "$out" | awk '/^finished in/ {print $4}')
  [ "${failed:-1}" = 0 ] && [ -n "$done_count" ] && [ "$done_count" -gt 0 ] &&
    [ "$redirects" = "$done_count" ] || fail "h2load saw failures or statuses other than 302:\n$out"
  client=$(awk '{printf "%.0f", ($1 + $2) / $3 * 100}' "$work/time.out")
  awk -v rps="$rps" -v a="$before" -v b="$after" -v t="$tck" -v n="$done_count" -v c="$client" \
    'BEGIN {printf "%.0f %.3f %s\n", rps, (b - a) / t * 1e6 / n, c}'
}

echo "h2load $(h2load --version | awk '{print $2}') --h1 -t1 -c$connections on core 1; servers on core 0; $pairs pairs of ${seconds}s per rate; $(git rev-parse --short HEAD)"
for rate in $rates; do
  measure "$agentdl_pid" "$agentdl_port" "$rate" 3 >/dev/null
  measure "$nginx_worker" "$nginx_port" "$rate" 3 >/dev/null
  : >"$work/agentdl.txt"; : >"$work/nginx.txt"; : >"$work/ratio.txt"
  for pair in $(seq "$pairs"); do
    if [ $((pair % 2)) = 1 ]; then
      a=$(measure "$agentdl_pid" "$agentdl_port" "$rate" "$seconds")
      n=$(measure "$nginx_worker" "$nginx_port" "$rate" "$seconds")
    else
      n=$(measure "$nginx_worker" "$nginx_port" "$rate" "$seconds")
      a=$(measure "$agentdl_pid" "$agentdl_port" "$rate" "$seconds")
    fi
    echo "$a" >>"$work/agentdl.txt"
    echo "$n" >>"$work/nginx.txt"
    awk -v a="${a#* }" -v n="${n#* }" 'BEGIN {split(a, x, " "); split(n, y, " "); printf "%.3f\n", x[1] / y[1]}' >>"$work/ratio.txt"
    echo "  rate $rate pair $pair: agentdl $a | nginx $n   (req/s, CPU us/request, h2load CPU %)"
  done
  a_cpu=$(awk '{print $2}' "$work/agentdl.txt" | median)
  n_cpu=$(awk '{print $2}' "$work/nginx.txt" | median)
  a_client=$(awk '{print $3}' "$work/agentdl.txt" | median)
  n_client=$(awk '{print $3}' "$work/nginx.txt" | median)
  echo "rate $rate: CPU per request agentdl $a_cpu us, nginx $n_cpu us: $(awk -v a="$a_cpu" -v n="$n_cpu" 'BEGIN {printf "%.3f", a / n}')x" \
       "(median of the pairs' ratios $(median <"$work/ratio.txt")x; h2load at $a_client % / $n_client % of its core)"
done
