#!/usr/bin/env bash
# agentdl-serve against nginx doing a bare `return 302`, side by side in one
# run: wrk at 64 connections with keep-alive and with a new connection per
# request; requests/s, p50 and p99 latency, and the ratios; then agentdl-serve's
# idle RSS on the demo catalog.
#
# On a 2-core machine each server gets core 0 (one worker / one thread) and wrk
# gets core 1, so that neither server competes with the load generator.
#
#   bash bench/serve_bench.sh [DURATION_SECONDS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${1:-10}
rounds=${2:-3}
connections=64
build=build-bench
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

for tool in wrk nginx taskset; do
  command -v "$tool" >/dev/null || { echo "serve_bench: $tool is missing (bash scripts/deps.sh installs it)" >&2; exit 1; }
done

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DAGENTDL_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j2 --target agentdl-serve >/dev/null
serve="$build/apps/agentdl-serve/agentdl-serve"

path='/v2/agent-releases/latest/download'
query='channel=stable&platform=macos&arch=arm64'
location='https://downloads.example.com/agent/macos/arm64/1.8.3/ScalepadAgent-1.8.3.pkg'
token='demo-token-do-not-use-in-production'
agentdl_port=18081
nginx_port=18082

# agentdl-serve: the demo catalog, one thread, no access log (nginx logs nothing either).
sed -e "s|^listen = .*|listen = [\"127.0.0.1:$agentdl_port\"]|" \
    -e 's|^public_url = .*|&\nthreads = 1\naccess_log = "off"|' agentdl.toml > "$work/agentdl.toml"
taskset -c 0 "$serve" --config "$work/agentdl.toml" 2>"$work/serve.err" &
pids+=($!)

mkdir -p "$work/nginx"
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
worker_cpu_affinity 01;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx;
  proxy_temp_path $work/nginx;
  fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx;
  scgi_temp_path $work/nginx;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$nginx_port;
    location = $path { return 302 $location; }
  }
}
CONF
nginx -c "$work/nginx.conf" -p "$work/nginx" &
pids+=($!)
sleep 1

check() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H "Authorization: Bearer $token" "$1")
  [ "$code" = "302 $location" ] || { echo "serve_bench: $1 answered '$code'" >&2; exit 1; }
}
check "http://127.0.0.1:$agentdl_port$path?$query"
check "http://127.0.0.1:$nginx_port$path?$query"

# Prints "rps p50_us p99_us" for one wrk run.
run_wrk() {
  local url=$1; shift
  taskset -c 1 wrk -t1 -c"$connections" -d"${duration}s" --latency \
    -H "Authorization: Bearer $token" "$@" "$url" > "$work/wrk.out"
  python3 - "$work/wrk.out" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def us(value):
    number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 1, "ms": 1e3, "s": 1e6}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = us(re.search(r"\s50%\s+(\S+)", text).group(1))
p99 = us(re.search(r"\s99%\s+(\S+)", text).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if errors:
    sys.exit(f"wrk saw {errors.group(1)} non-2xx/3xx responses")
print(f"{rps:.0f} {p50:.0f} {p99:.0f}")
PY
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

echo "wrk -t1 -c$connections -d${duration}s, $rounds rounds each, servers on core 0, wrk on core 1; medians"
printf '%-22s %-14s %12s %10s %10s\n' mode server requests/s p50_us p99_us
for mode in keep-alive new-connection; do
  extra=()
  [ "$mode" = new-connection ] && extra=(-H "Connection: close")
  : > "$work/agentdl.$mode"; : > "$work/nginx.$mode"
  for _ in $(seq "$rounds"); do
    run_wrk "http://127.0.0.1:$agentdl_port$path?$query" "${extra[@]}" >> "$work/agentdl.$mode"
    run_wrk "http://127.0.0.1:$nginx_port$path?$query" "${extra[@]}" >> "$work/nginx.$mode"
  done
  for server in agentdl nginx; do
    f="$work/$server.$mode"
    printf '%-22s %-14s %12s %10s %10s\n' "$mode" "$server" \
      "$(cut -d' ' -f1 "$f" | median)" "$(cut -d' ' -f2 "$f" | median)" "$(cut -d' ' -f3 "$f" | median)"
  done
  a_rps=$(cut -d' ' -f1 "$work/agentdl.$mode" | median); n_rps=$(cut -d' ' -f1 "$work/nginx.$mode" | median)
  a_p99=$(cut -d' ' -f3 "$work/agentdl.$mode" | median); n_p99=$(cut -d' ' -f3 "$work/nginx.$mode" | median)
  printf '%-22s %-14s %12s %10s %10s\n' "$mode" "ratio" \
    "$(awk -v a="$a_rps" -v n="$n_rps" 'BEGIN {printf "%.2fx", a / n}')" "" \
    "$(awk -v a="$a_p99" -v n="$n_p99" 'BEGIN {printf "%.2fx", a / n}')"
done

# Idle RSS of agentdl-serve as an operator runs it: the demo catalog, default threads.
sed -e 's|^listen = .*|listen = ["127.0.0.1:18083"]|' agentdl.toml > "$work/idle.toml"
"$serve" --config "$work/idle.toml" >/dev/null 2>&1 &
idle_pid=$!
pids+=($idle_pid)
sleep 1
curl -s -o /dev/null -H "Authorization: Bearer $token" "http://127.0.0.1:18083$path?$query"
sleep 0.5
echo "idle RSS of agentdl-serve on the demo catalog: $(awk '/VmRSS/ {print $2, $3}' /proc/$idle_pid/status)"
