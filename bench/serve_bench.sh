#!/usr/bin/env bash
# agentdl-serve's redirect against nginx doing `return 302` to the same
# Location, side by side in one run, with wrk. Four scenarios:
#
#   keepalive   64 keep-alive connections, auth off, access logs off
#   newconn     64 connections, a new connection per request (Connection: close),
#               auth off, logs off
#   production  64 keep-alive connections, bearer auth on (agentdl: the demo
#               token's sha256; nginx: a `map` of the Authorization header to
#               the allowed tokens, 401 otherwise), an access log written to a
#               file by both
#   c1024       1,024 keep-alive connections, auth off, logs off; with the RSS
#               of agentdl-serve at that load
#
# Each scenario starts its own pair of servers, checks the settings they
# really run with (below), warms each up with one run, then runs PAIRS
# agentdl/nginx pairs with the order alternated within each pair (agentdl
# first in odd pairs, nginx first in even ones), and reports the medians.
#
# Per run: wrk's requests/s, p50 and p99 (--latency); the requests the server
# served (agentdl's /metrics, nginx's stub_status; cross-checked against
# wrk's count); the server's CPU time per request (utime + stime of
# agentdl-serve, or of nginx's one worker, from /proc/PID/stat over the run,
# divided by the requests served); wrk's own CPU share of its core
# (getrusage RUSAGE_CHILDREN around it); the connections open mid-run; the
# server's VmRSS mid-run and VmRSS/VmHWM at the end; in `production` the
# access log lines written during the run.
#
# Both servers run one worker on core 0 (agentdl `[server] threads = 1`, nginx
# `worker_processes 1` + `worker_cpu_affinity 01`, and taskset), wrk `-t1`
# on core 1. On 2 cores wrk saturates its core near nginx's rate: then
# requests/s measure wrk, and CPU time per request is the figure that
# decides (a scenario counts as wrk-saturated when the median of wrk's CPU
# share in the runs against either server is >= 90 %).
#
# Targets (agentdl against nginx, medians):
#   keepalive   requests/s >= 1.10x (wrk saturated: CPU/request <= 0.90x),
#               and p99 <= 1.0x
#   newconn     CPU/request <= 1.0x
#   production  requests/s >= 1.05x or CPU/request <= 0.95x
#   c1024       requests/s >= 1.0x (wrk saturated: CPU/request <= 1.0x);
#               agentdl-serve's RSS at that load reported
#
# Verified before or during the timing, the script stops with a message if
# any check fails:
#   - agentdl-serve has 3 threads (the one worker of threads = 1, the main
#     thread, which only waits for signals, and the access log writer, which
#     it always starts), all allowed on core 0 only; nginx's master has
#     exactly one worker, allowed on core 0 only;
#   - both answer the URL with 302 and the same Location (curl), nginx's
#     Location being the one agentdl gave; asked with Connection: close,
#     both answer Connection: close;
#   - production: without a token, and with a wrong one, both answer 401;
#     with the token, 302;
#   - production: both have their access log file open, and it grows during
#     each run (a run whose lines + agentdl's dropped lines differ from the
#     requests served is flagged on its line); elsewhere neither has a file
#     open but its standard streams and nginx's error log, and the access
#     log paths stay absent or empty;
#   - wrk printed no "Socket errors" and no "Non-2xx or 3xx responses";
#     agentdl counted only 302s on the route (its /metrics); the requests
#     each server counted are no fewer than wrk's and at most one per
#     connection more;
#   - keep-alive scenarios: mid-run, each server had exactly CONNECTIONS
#     client connections open, and nginx accepted no more connections than
#     wrk opened (none cycled by keepalive_requests); newconn: nginx accepted
#     at least one connection per request.
#
#   bash bench/serve_bench.sh [DURATION_SECONDS] [PAIRS]    # defaults 10 and 5
#
# SCENARIOS="keepalive newconn" runs only those (default: all four).
# DEFER_ACCEPT=1 runs both servers with deferred accept (TCP_DEFER_ACCEPT:
# a connection is handed over once its first bytes are in): agentdl-serve's
# `[server] defer_accept = true`, nginx's `listen ... deferred`. Checked: a
# connection that sends nothing is not among either server's open
# connections half a second later.
# AGENTDL_SERVE=/path/to/agentdl-serve uses that binary; otherwise it is
# built (Release) in build-bench/. The report is appended to
# bench/results/serve-<timestamp>.txt, the medians written to
# bench/results/serve-<timestamp>.json, and bench/plot_serve.py draws them
# (requests/s, p99 and CPU per request per scenario) into bench/serve_bench.png
# and bench/results/serve-<timestamp>.png. With the defaults a run takes about
# 9 minutes (4 scenarios x (1 warm-up + 5 pairs) x 2 servers x 10 s).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=bench/common.sh
source bench/common.sh

duration=${1:-10}
pairs=${2:-5}
results=$root/bench/results
defer_accept=${DEFER_ACCEPT:-0}
case $defer_accept in 0|1) ;; *) echo "serve_bench: DEFER_ACCEPT must be 0 or 1" >&2; exit 2 ;; esac
case $duration in ''|*[!0-9]*|0) echo "serve_bench: DURATION_SECONDS must be a positive integer" >&2; exit 2 ;; esac
case $pairs in ''|*[!0-9]*|0) echo "serve_bench: PAIRS must be an integer >= 1" >&2; exit 2 ;; esac
[ "$pairs" -ge 5 ] || echo "serve_bench: warning: $pairs pair(s); the targets are read on the median of at least 5" >&2

for tool in wrk nginx taskset curl python3; do
  command -v "$tool" >/dev/null || { echo "serve_bench: $tool is missing (bash scripts/deps.sh installs it)" >&2; exit 1; }
done
[ "$(nproc)" -ge 2 ] || { echo "serve_bench: needs 2 cores (servers on core 0, wrk on core 1)" >&2; exit 1; }

# 1,024 connections need that many descriptors in wrk and in each server, and more.
need_fds=4096
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need_fds" ]; then
  echo "serve_bench: 'ulimit -n' is $(ulimit -n) and cannot be raised to $need_fds (hard limit $(ulimit -Hn)); the 1,024-connection scenario needs it" >&2
  exit 1
fi

find_agentdl_serve

# The Python that draws the plot: the first with matplotlib. Debian's
# python3-matplotlib installs it for /usr/bin/python3, which may not be the
# python3 first on PATH (pyenv, a venv).
plot_python=""
for py in /usr/bin/python3 python3; do
  if "$py" -c 'import matplotlib' 2>/dev/null; then plot_python=$py; break; fi
done

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

target_path=/v2/agent-releases/latest/download
target="$target_path?channel=stable&platform=macos&arch=arm64"
token=demo-token-do-not-use-in-production
fail() { echo "serve_bench: $*" >&2; exit 1; }

# One wrk run against one server, measured; see the header. Prints the run's
# line for the report and, unless it is a warm-up, appends it as JSON to RECORD.
cat > "$work/run.py" <<'PY'
import json, os, re, resource, subprocess, sys, time, urllib.request

(scenario, pair, server, pid, port, connections, duration, log, record,
 keepalive) = sys.argv[1:11]
headers = sys.argv[11:]
pid, port, connections, duration = int(pid), int(port), int(connections), int(duration)
ticks = os.sysconf("SC_CLK_TCK")
pattern = b"/latest/download?"  # once per line of either access log

def die(message):
    sys.exit(f"serve_bench: {scenario} {server} (pair {pair}): {message}")

def get(path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
        return r.read().decode()

def counters():
    """As the server counts them: requests answered on the route, client connections open,
    and agentdl's statuses and dropped log lines, or nginx's accepted connections."""
    if server == "agentdl":
        text = get("/metrics")
        statuses = {m.group(1): int(m.group(2)) for m in re.finditer(
            r'^agentdl_requests_total\{route="download_latest",status="(\d+)"\} (\d+)$', text, re.M)}
        dropped = int(re.search(r"^agentdl_access_log_dropped_total (\d+)$", text, re.M).group(1))
        open_now = int(re.search(r"^agentdl_open_connections (\d+)$", text, re.M).group(1))
        return {"served": sum(statuses.values()), "open": open_now - 1, "statuses": statuses,
                "dropped": dropped}
    text = get("/nginx_status")
    accepts, requests = map(int, re.search(r"^\s*(\d+)\s+\d+\s+(\d+)\s*$", text, re.M).groups())
    active = int(re.search(r"Active connections:\s*(\d+)", text).group(1))
    # Both count the connection asking.
    return {"served": requests, "open": active - 1, "accepts": accepts}

def cpu_ticks():
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime

def memory(key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])  # kB
    return 0

def log_lines():
    if log == "-":
        return 0
    count, tail = 0, b""
    with open(log, "rb") as f:
        while chunk := f.read(1 << 24):
            data = tail + chunk
            count += data.count(pattern)
            tail = data[-(len(pattern) - 1):]
    return count

def guarded(function):
    def call(*args):
        try:
            return function(*args)
        except OSError as e:  # the server is gone or does not answer
            die(f"{function.__name__}: {e}")
    return call

counters, cpu_ticks, memory = guarded(counters), guarded(cpu_ticks), guarded(memory)

if log != "-":
    os.truncate(log, 0)  # both servers append (O_APPEND): the next line goes to offset 0
before = counters()
cpu0 = cpu_ticks()
usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
start = time.monotonic()
wrk = subprocess.Popen(
    ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    + [h for header in headers for h in ("-H", header)]
    + [f"http://127.0.0.1:{port}{os.environ['TARGET']}"],
    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
time.sleep(duration * 0.6)  # mid-run: the load is on
open_mid = counters()["open"]
rss_mid = memory("VmRSS")
output, _ = wrk.communicate()
wall = time.monotonic() - start
usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu1 = cpu_ticks()
after = counters()
rss_end, hwm = memory("VmRSS"), memory("VmHWM")

if wrk.returncode != 0:
    die(f"wrk exited {wrk.returncode}:\n{output}")
if "Socket errors" in output or "Non-2xx or 3xx responses" in output:
    die(f"wrk saw errors:\n{output}")

def us(value):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 1, "ms": 1e3, "s": 1e6, "m": 6e7}[unit]

requests = int(re.search(r"(\d+) requests in", output).group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
p50 = us(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
p99 = us(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
# nginx's stub_status counts the requests asking for it: the one mid-run and the one after.
served = after["served"] - before["served"] - (2 if server == "nginx" else 0)
if server == "agentdl":
    other = {s: n - before["statuses"].get(s, 0) for s, n in after["statuses"].items()}
    other = {s: n for s, n in other.items() if n and s != "302"}
    if other:
        die(f"agentdl answered statuses other than 302: {other}")
if requests == 0:
    die(f"wrk completed no request:\n{output}")
if not requests <= served <= requests + connections:
    die(f"the server counted {served} requests, wrk {requests} (at most one per connection apart expected)")
if keepalive == "1" and open_mid != connections:
    die(f"{open_mid} client connections open mid-run, not {connections}")
if server == "nginx":
    # Connections nginx accepted during the run, less those of the two stub_status requests.
    # wrk 4.1 opens one more than -c (seen here: 5 accepts for -c4).
    accepted = after["accepts"] - before["accepts"] - 2
    if keepalive == "1" and not connections <= accepted <= connections + 1:
        die(f"nginx accepted {accepted} connections for {connections} keep-alive ones (keepalive_requests?)")
    if keepalive == "0" and accepted < requests:
        die(f"nginx accepted {accepted} connections for {requests} requests, each meant to have its own")

lines, dropped = 0, after.get("dropped", 0) - before.get("dropped", 0)
warning = ""
if log != "-":
    # agentdl writes its log from a queue on its own thread: wait for it to drain.
    deadline = time.monotonic() + 10
    while (lines := log_lines()) + dropped < served and time.monotonic() < deadline:
        time.sleep(0.2)
    if lines == 0:
        die(f"the access log {log} did not grow")
    if lines + dropped != served:
        warning = f"  (warning: {lines} log lines + {dropped} dropped for {served} requests)"

wrk_cpu = (usage1.ru_utime + usage1.ru_stime - usage0.ru_utime - usage0.ru_stime)
run = {
    "scenario": scenario, "server": server, "pair": pair, "connections": connections,
    "rps": rps, "p50_us": p50, "p99_us": p99, "wrk_requests": requests, "served": served,
    "cpu_us_per_request": (cpu1 - cpu0) / ticks * 1e6 / served,
    "server_cpu_pct": 100 * (cpu1 - cpu0) / ticks / wall,
    "wrk_cpu_pct": 100 * wrk_cpu / wall,
    "open_connections_mid": open_mid,
    "rss_mid_kib": rss_mid, "rss_end_kib": rss_end, "hwm_kib": hwm,
    "log_lines": lines, "log_dropped": dropped,
}
if pair != "warm-up":
    with open(record, "a") as f:
        f.write(json.dumps(run) + "\n")
print(f"{scenario:<11} {server:<8} {pair:>7} {rps:>10.0f} {p50:>8.0f} {p99:>8.0f} "
      f"{run['cpu_us_per_request']:>9.2f} {run['server_cpu_pct']:>6.0f} {run['wrk_cpu_pct']:>6.0f} "
      f"{open_mid:>6} {rss_mid / 1024:>8.1f} {hwm / 1024:>8.1f} {lines:>9}{warning}")
PY

# Medians, ratios and verdicts from the runs; writes the medians as JSON.
cat > "$work/summary.py" <<'PY'
import json, statistics, sys

runs_file, out_file, meta = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
for key in ("cores", "duration_s", "pairs"):
    meta[key] = int(meta[key])
runs = [json.loads(line) for line in open(runs_file)]
saturated_pct = 90.0
labels = {
    "keepalive": "keep-alive, 64 connections, auth off, logs off",
    "newconn": "new connection per request, 64 connections",
    "production": "production: bearer auth, access log to a file",
    "c1024": "1,024 keep-alive connections",
}
fields = ["rps", "p50_us", "p99_us", "cpu_us_per_request", "server_cpu_pct", "wrk_cpu_pct",
          "rss_mid_kib", "rss_end_kib", "hwm_kib", "log_lines", "log_dropped"]
summary = {"meta": meta, "scenarios": []}
for name in labels:
    mine = [r for r in runs if r["scenario"] == name]
    if not mine:
        continue
    entry = {"name": name, "label": labels[name], "connections": mine[0]["connections"]}
    for server in ("agentdl", "nginx"):
        rs = [r for r in mine if r["server"] == server]
        entry[server] = {f: statistics.median(r[f] for r in rs) for f in fields}
        entry[server]["runs"] = {f: [r[f] for r in rs] for f in ("rps", "p99_us", "cpu_us_per_request")}
    a, n = entry["agentdl"], entry["nginx"]
    rps = a["rps"] / n["rps"]
    p99 = a["p99_us"] / n["p99_us"]
    cpu = a["cpu_us_per_request"] / n["cpu_us_per_request"]
    saturated = max(a["wrk_cpu_pct"], n["wrk_cpu_pct"]) >= saturated_pct
    entry["ratios"] = {"rps": rps, "p99": p99, "cpu_per_request": cpu}
    entry["wrk_saturated"] = saturated
    targets = []
    if name == "keepalive":
        if saturated:
            targets.append(("CPU/request <= 0.90x (wrk saturated)", cpu <= 0.90))
        else:
            targets.append(("requests/s >= 1.10x", rps >= 1.10))
        targets.append(("p99 <= 1.0x", p99 <= 1.0))
    elif name == "newconn":
        targets.append(("CPU/request <= 1.0x", cpu <= 1.0))
    elif name == "production":
        targets.append(("requests/s >= 1.05x or CPU/request <= 0.95x", rps >= 1.05 or cpu <= 0.95))
    elif name == "c1024":
        if saturated:
            targets.append(("CPU/request <= 1.0x (wrk saturated)", cpu <= 1.0))
        else:
            targets.append(("requests/s >= 1.0x", rps >= 1.0))
    entry["targets"] = [{"target": t, "met": bool(m)} for t, m in targets]
    summary["scenarios"].append(entry)

print("medians, agentdl-serve / nginx")
print(f"{'scenario':<11} {'server':<8} {'req/s':>10} {'p50_us':>8} {'p99_us':>8} {'cpu_us/req':>10} "
      f"{'srv%':>5} {'wrk%':>5} {'rss_MiB':>8} {'hwm_MiB':>8}")
for e in summary["scenarios"]:
    for server in ("agentdl", "nginx"):
        m = e[server]
        print(f"{e['name']:<11} {server:<8} {m['rps']:>10.0f} {m['p50_us']:>8.0f} {m['p99_us']:>8.0f} "
              f"{m['cpu_us_per_request']:>10.2f} {m['server_cpu_pct']:>5.0f} {m['wrk_cpu_pct']:>5.0f} "
              f"{m['rss_mid_kib'] / 1024:>8.1f} {m['hwm_kib'] / 1024:>8.1f}")
for e in summary["scenarios"]:
    r = e["ratios"]
    print(f"{e['name']} ({e['label']}): requests/s {r['rps']:.3f}x, p99 {r['p99']:.3f}x, "
          f"CPU/request {r['cpu_per_request']:.3f}x; wrk "
          f"{'saturated' if e['wrk_saturated'] else 'not saturated'} "
          f"({e['agentdl']['wrk_cpu_pct']:.0f} % / {e['nginx']['wrk_cpu_pct']:.0f} % of its core)")
    for t in e["targets"]:
        print(f"  target {t['target']}: {'met' if t['met'] else 'missed'}")
    busiest = max(e["agentdl"]["server_cpu_pct"], e["nginx"]["server_cpu_pct"])
    if not e["wrk_saturated"] and busiest < saturated_pct:
        a_pct, n_pct = e["agentdl"]["server_cpu_pct"], e["nginx"]["server_cpu_pct"]
        print(f"  note: neither wrk nor a server used its whole core (servers {a_pct:.0f} % / {n_pct:.0f} %): "
              "something else ran on the cores, so requests/s and latency say little here; "
              "CPU/request is the figure to read")
        if abs(a_pct - n_pct) >= 10:
            why = (": the scheduler shares a core by thread, and agentdl-serve's log writer is a second "
                   "busy one" if e["name"] == "production" else "")
            print(f"  note: the servers got unequal shares of the contested core 0 ({a_pct:.0f} % against "
                  f"{n_pct:.0f} %{why}), so the requests/s ratio is not a like-for-like comparison")
    if e["name"] == "c1024":
        a = e["agentdl"]
        print(f"  agentdl-serve RSS at 1,024 connections: {a['rss_mid_kib'] / 1024:.1f} MiB mid-run, "
              f"{a['rss_end_kib'] / 1024:.1f} MiB after, peak (VmHWM) {a['hwm_kib'] / 1024:.1f} MiB; "
              f"nginx's worker {e['nginx']['rss_mid_kib'] / 1024:.1f} MiB mid-run")
    if e["name"] == "production" and e["agentdl"]["log_dropped"]:
        print(f"  warning: agentdl-serve dropped {e['agentdl']['log_dropped']:.0f} log lines per run (median)")
with open(out_file, "w") as f:
    json.dump(summary, f, indent=1)
PY

# Paths of the regular files PID has open besides stdin/stdout/stderr, but for
# an nginx error log: an access log, if any.
open_logs() {
  local fd path
  for fd in /proc/"$1"/fd/*; do
    [ "${fd##*/}" -gt 2 ] || continue
    path=$(readlink "$fd" 2>/dev/null) || continue
    case $path in /dev/*|*/error.log) continue ;; /*) echo "$path" ;; esac
  done
}

# Starts agentdl-serve and nginx for SCENARIO with auth/log settings MODE
# ("bare" or "production"), checks what they run with, and sets
# agentdl_pid, agentdl_port, nginx_master, nginx_worker, nginx_port,
# agentdl_log, nginx_log and verified (what was checked, for the report).
start_pair() {
  local scenario=$1 mode=$2 dir=$work/$1 auth_mode access_log n tasks t allowed
  mkdir -p "$dir/nginx"
  agentdl_port=$(free_port)
  nginx_port=$(free_port)
  agentdl_log=$dir/agentdl-access.log
  nginx_log=$dir/nginx-access.log
  if [ "$mode" = production ]; then auth_mode=required; access_log=$agentdl_log; else auth_mode=none; access_log=off; fi

  # agentdl-serve: the demo catalog with [server] listen/threads/access_log
  # and [auth] mode rewritten.
  local defer_line="" nginx_deferred=""
  if [ "$defer_accept" = 1 ]; then defer_line='\ndefer_accept = true'; nginx_deferred=" deferred"; fi
  sed -e "s|^listen = .*|listen = [\"127.0.0.1:$agentdl_port\"]|" \
      -e "s|^public_url = .*|&\nthreads = 1\naccess_log = \"$access_log\"$defer_line|" \
      -e "s|^mode = \"required\"|mode = \"$auth_mode\"|" agentdl.toml > "$dir/agentdl.toml"
  grep -q '^threads = 1$' "$dir/agentdl.toml" && grep -q "^mode = \"$auth_mode\"$" "$dir/agentdl.toml" ||
    fail "could not rewrite agentdl.toml's [server] and [auth] (has the demo catalog changed?)"
  taskset -c 0 "$serve" --config "$dir/agentdl.toml" 2>"$dir/serve.err" &
  agentdl_pid=$!
  pids+=("$agentdl_pid")

  # The Location nginx returns is the one agentdl-serve gives.
  local code location=""
  for _ in $(seq 50); do
    location=$(curl -s -o /dev/null -w '%{redirect_url}' -H "Authorization: Bearer $token" \
      "http://127.0.0.1:$agentdl_port$target") && [ -n "$location" ] && break
    sleep 0.1
  done
  [ -n "$location" ] || { cat "$dir/serve.err" >&2; fail "agentdl-serve gave no Location"; }

  local user_line="" auth_http="" auth_check="" log_http="access_log off;" log_server=""
  [ "$(id -u)" = 0 ] && user_line="user $(id -un) $(id -gn);"
  if [ "$mode" = production ]; then
    auth_http="map \$http_authorization \$agentdl_token {
    default \"\";
    \"Bearer $token\" demo;
  }"
    auth_check="if (\$agentdl_token = \"\") {
        add_header WWW-Authenticate 'Bearer realm=\"agentdl\"' always;
        return 401;
      }"
    # One JSON object per request, about what agentdl-serve writes.
    log_http="log_format agentdl escape=json '{\"time\":\"\$time_iso8601\",\"remote\":\"\$remote_addr:\$remote_port\",'
    '\"method\":\"\$request_method\",\"target\":\"\$request_uri\",\"status\":\$status,'
    '\"bytes\":\$body_bytes_sent,\"duration\":\$request_time,\"token\":\"\$agentdl_token\",'
    '\"location\":\"\$sent_http_location\",\"user_agent\":\"\$http_user_agent\"}';"
    log_server="access_log $nginx_log agentdl;"
  fi
  cat > "$dir/nginx.conf" <<CONF
$user_line
worker_processes 1;
worker_cpu_affinity 01;
daemon off;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn;
events { worker_connections 4096; }
http {
  $log_http
  $auth_http
  keepalive_requests 10000000;
  client_body_temp_path $dir/nginx;
  proxy_temp_path $dir/nginx;
  fastcgi_temp_path $dir/nginx;
  uwsgi_temp_path $dir/nginx;
  scgi_temp_path $dir/nginx;
  server {
    listen 127.0.0.1:$nginx_port backlog=4096$nginx_deferred;
    $log_server
    location = $target_path {
      $auth_check
      return 302 $location;
    }
    location = /nginx_status { stub_status; access_log off; }
  }
}
CONF
  taskset -c 0 nginx -c "$dir/nginx.conf" -p "$dir/nginx" 2>"$dir/nginx.err" &
  nginx_master=$!
  pids+=("$nginx_master")
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$nginx_port/nginx_status" && break; sleep 0.1; done

  # What they run with.
  tasks=$(ls "/proc/$agentdl_pid/task" | wc -l)
  [ "$tasks" -eq 3 ] || fail "agentdl-serve runs $tasks threads, not 3 (1 worker + the main thread + the log writer)"
  for t in /proc/"$agentdl_pid"/task/*; do
    allowed=$(awk '/^Cpus_allowed_list/ {print $2}' "$t/status")
    [ "$allowed" = 0 ] || fail "agentdl-serve's thread ${t##*/} may run on cores $allowed, not 0"
  done
  n=$(pgrep -P "$nginx_master" | wc -l)
  [ "$n" -eq 1 ] || { cat "$dir/nginx.err" "$dir/nginx/error.log" >&2 2>/dev/null; fail "nginx runs $n worker processes, not 1"; }
  nginx_worker=$(pgrep -P "$nginx_master")
  allowed=$(awk '/^Cpus_allowed_list/ {print $2}' "/proc/$nginx_worker/status")
  [ "$allowed" = 0 ] || fail "nginx's worker may run on cores $allowed, not 0"

  # What they answer: 302 with the same Location; Connection: close honoured.
  local auth=() name port
  [ "$mode" = production ] && auth=(-H "Authorization: Bearer $token")
  for name in agentdl nginx; do
    if [ $name = agentdl ]; then port=$agentdl_port; else port=$nginx_port; fi
    code=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "${auth[@]}" "http://127.0.0.1:$port$target")
    [ "$code" = "302 $location" ] || fail "$name answered '$code', not '302 $location'"
    curl -s -o /dev/null -D - -H 'Connection: close' "${auth[@]}" "http://127.0.0.1:$port$target" |
      grep -qi '^Connection: close' || fail "$name did not answer Connection: close when asked to"
    if [ "$mode" = production ]; then
      code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$target")
      [ "$code" = 401 ] || fail "$name answered $code without a token, not 401"
      code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer not-$token" "http://127.0.0.1:$port$target")
      [ "$code" = 401 ] || fail "$name answered $code with a wrong token, not 401"
    fi
  done
  check_logs "$mode"
  check_deferred
  local what="auth off, no access log open"
  [ "$mode" = production ] && what="401 without a token or with a wrong one, 302 with it; each has its access log open"
  verified="agentdl-serve: 3 threads (1 worker + main + log writer) on core 0, idle VmRSS $(awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$agentdl_pid/status") MiB;"
  verified+=" nginx: 1 worker on core 0, idle VmRSS $(awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$nginx_worker/status") MiB;"
  verified+=" both: 302 to $location, Connection: close honoured; $what"
  if [ "$defer_accept" = 1 ]; then
    verified+="; deferred accept: a silent connection is not open in either"
  else
    verified+="; accept not deferred: a silent connection is open in both"
  fi
}

# Deferred accept as asked: a connection that has sent nothing after half a
# second is among a server's open connections only without it.
check_deferred() {
  local name port open expected=$((1 - defer_accept))
  for name in agentdl nginx; do
    if [ $name = agentdl ]; then port=$agentdl_port; else port=$nginx_port; fi
    open=$(python3 - "$name" "$port" <<'PY'
import re, socket, sys, time, urllib.request
name, port = sys.argv[1], int(sys.argv[2])
silent = socket.create_connection(("127.0.0.1", port))
time.sleep(0.5)
path, pattern = (("/metrics", r"^agentdl_open_connections (\d+)$") if name == "agentdl"
                 else ("/nginx_status", r"Active connections:\s*(\d+)"))
with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
    text = r.read().decode()
print(int(re.search(pattern, text, re.M).group(1)) - 1)  # less the connection asking
silent.close()
PY
)
    [ "$open" = "$expected" ] ||
      fail "$name had $open connection(s) open beside a silent one, not $expected (DEFER_ACCEPT=$defer_accept)"
  done
}

# Production: each server has its own access log open (and only that);
# otherwise none has an access log open, and no access log file exists.
check_logs() {
  local logs
  logs=$(open_logs "$agentdl_pid")
  if [ "$1" = production ]; then
    [ "$logs" = "$agentdl_log" ] || fail "agentdl-serve has '$logs' open, not its access log $agentdl_log"
    [ "$(open_logs "$nginx_worker")" = "$nginx_log" ] || fail "nginx's worker has '$(open_logs "$nginx_worker")' open, not its access log $nginx_log"
  else
    [ -z "$logs" ] || fail "agentdl-serve has $logs open with its access log off"
    logs=$(open_logs "$nginx_worker")
    [ -z "$logs" ] || fail "nginx's worker has $logs open with its access log off"
    for f in "$agentdl_log" "$nginx_log"; do
      [ ! -s "$f" ] || fail "$f was written with the access log off"
    done
  fi
}

mkdir -p "$results"
stamp=$(date +%Y%m%d-%H%M%S)
report=$results/serve-$stamp.txt
json=$results/serve-$stamp.json
runs=$work/runs.jsonl
: > "$runs"
log() { echo "$@" | tee -a "$report"; }
log "== agentdl-serve vs nginx return 302: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -n), $(nproc) cores, kernel $(uname -r)"
log "agentdl-serve: $serve ($("$serve" --version 2>/dev/null | head -n 1)), demo catalog, [server] threads = 1"
log "nginx: $(nginx -v 2>&1 | sed 's|.*/||'), worker_processes 1, worker_cpu_affinity 01, keepalive_requests 10000000, worker_connections 4096"
log "wrk: $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2) -t1 --latency on core 1; servers on core 0; GET $target"
log "$pairs pair(s) per scenario, ${duration}s each, order alternated within each pair, after a warm-up of each; ulimit -n $(ulimit -n)"
[ "$defer_accept" = 0 ] || log "deferred accept on both: agentdl-serve [server] defer_accept = true, nginx listen ... deferred"
loadavg_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average at the start: $loadavg_at_start"
log "columns: req/s, p50/p99 (us), server CPU us per request, server CPU %, wrk CPU % (of its core), client connections open mid-run, server VmRSS mid-run and VmHWM (MiB), access log lines"
log "$(printf '%-11s %-8s %7s %10s %8s %8s %9s %6s %6s %6s %8s %8s %9s' \
  scenario server pair req/s p50_us p99_us cpu_us/req srv% wrk% conns rss_MiB hwm_MiB log_lines)"

export TARGET=$target
# SCENARIO MODE CONNECTIONS KEEPALIVE [WRK HEADERS...]
scenario() {
  local name=$1 mode=$2 connections=$3 keepalive=$4 i order server pid port line log_file
  shift 4
  case " ${SCENARIOS:-$name} " in *" $name "*) ;; *) return 0 ;; esac
  start_pair "$name" "$mode"
  log "$name: checked $verified"
  measure() { # SERVER PAIR [WRK HEADERS...]
    local server=$1 pair=$2
    shift 2
    if [ "$server" = agentdl ]; then pid=$agentdl_pid; port=$agentdl_port; log_file=$agentdl_log
    else pid=$nginx_worker; port=$nginx_port; log_file=$nginx_log; fi
    [ "$mode" = production ] || log_file=-
    python3 "$work/run.py" "$name" "$pair" "$server" "$pid" "$port" "$connections" "$duration" \
      "$log_file" "$runs" "$keepalive" "$@"
  }
  for server in agentdl nginx; do
    line=$(measure "$server" warm-up "$@") || exit 1
    log "$line"
  done
  for i in $(seq "$pairs"); do
    if [ $((i % 2)) -eq 1 ]; then order="agentdl nginx"; else order="nginx agentdl"; fi
    for server in $order; do
      line=$(measure "$server" "$i" "$@") || exit 1
      log "$line"
    done
  done
  check_logs "$mode"
  kill "$agentdl_pid" "$nginx_master" 2>/dev/null || true
  wait "$agentdl_pid" "$nginx_master" 2>/dev/null || true
}

scenario keepalive bare 64 1
scenario newconn bare 64 0 'Connection: close'
scenario production production 64 1 "Authorization: Bearer $token"
scenario c1024 bare 1024 1

meta=$(python3 -c 'import json, sys; print(json.dumps(dict(zip(
  ["date", "host", "cores", "agentdl_serve", "nginx", "duration_s", "pairs", "loadavg_at_start"],
  sys.argv[1:]))))' \
  "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(uname -n)" "$(nproc)" "$("$serve" --version 2>/dev/null | head -n 1)" \
  "$(nginx -v 2>&1 | sed 's|.*/||')" "$duration" "$pairs" "$loadavg_at_start")
python3 "$work/summary.py" "$runs" "$json" "$meta" | tee -a "$report"
log "medians written to ${json#"$root"/}"
if [ -n "$plot_python" ]; then
  "$plot_python" bench/plot_serve.py "$json" "$results/serve-$stamp.png" bench/serve_bench.png
  log "plot: bench/serve_bench.png and ${results#"$root"/}/serve-$stamp.png (drawn with $plot_python)"
else
  log "plot: not drawn, no Python with matplotlib (apt-get install python3-matplotlib, or bash scripts/deps.sh)"
fi
log "(report appended to ${report#"$root"/})"
