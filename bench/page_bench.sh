#!/usr/bin/env bash
# The downloads page at / against the redirect it links to, on one
# agentdl-serve, side by side in one run: wrk -t1 -c64 keep-alive on each of
#   redirect  GET /v2/agent-releases/latest/download?channel=stable&platform=macos&arch=arm64
#   page      GET / as a browser asks: a Mac's User-Agent (its own rendering)
#             and Accept-Encoding: gzip, deflate, br (the page compressed once)
#   plain     GET / without Accept-Encoding (the uncompressed page)
#   page304   GET / as page, with If-None-Match of that rendering (a visitor
#             coming back)
#   json      GET /v2/agent-releases/latest?channel=stable&platform=macos&arch=arm64
#             (a JSON route: the page should cost no more)
# all three anonymous (stable is a public channel, auth is required for the
# rest), access log off. ROUNDS rounds (default 5), the order rotated each
# round, after a warm-up; medians of requests/s, of the server's CPU time per
# request (utime + stime from /proc over the run, divided by wrk's requests),
# and of wrk's CPU share of its core (near 100 %: wrk set the pace). Bytes on
# the wire per response (head and body, as curl counts them) are printed.
# Target: page >= 0.8x the redirect's requests/s.
#
# The server runs on core 0 with threads = 1, wrk on core 1.
#
#   bash bench/page_bench.sh [DURATION_SECONDS] [ROUNDS]
#
# AGENTDL_SERVE=/path/to/agentdl-serve uses that binary; otherwise it is
# built (Release) in build-bench/. The report is also appended to
# bench/results/page-<timestamp>.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. bench/common.sh

duration=${1:-10}
rounds=${2:-5}
results=$root/bench/results
case $duration in ''|*[!0-9]*|0) echo "page_bench: DURATION_SECONDS must be a positive integer" >&2; exit 2 ;; esac
case $rounds in ''|*[!0-9]*|0) echo "page_bench: ROUNDS must be a positive integer" >&2; exit 2 ;; esac
for tool in wrk taskset curl; do
  command -v "$tool" >/dev/null || { echo "page_bench: $tool is missing (bash scripts/deps.sh installs it)" >&2; exit 1; }
done
[ "$(nproc)" -ge 2 ] || { echo "page_bench: needs 2 cores (the server on core 0, wrk on core 1)" >&2; exit 1; }

find_agentdl_serve

work=$(mktemp -d)
serve_pid=
trap 'if [ -n "$serve_pid" ]; then kill "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT

port=$(free_port)
ua='Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15'
# The demo's releases: a current release on three platform/archs and older
# ones, as a vendor's page would show them.
{
  cat <<CAT
default_channel = "stable"
[platforms.windows]
archs = ["x86_64"]
default_arch = "x86_64"
[platforms.macos]
archs = ["arm64", "x86_64"]
[channels.stable]
[channels.latest]
includes = ["stable"]
[storage]
base_url = "https://downloads.example.com/agent/"
[server]
listen = ["127.0.0.1:$port"]
threads = 1
access_log = "off"
[auth]
public_channels = ["stable", "latest"]
CAT
  for minor in 3 2 1 0; do
    printf '[[releases]]\nversion = "1.8.%s"\nchannels = ["stable"]\npublished_at = 2026-0%s-01T12:00:00Z\n' \
      "$minor" "$((minor + 6))"
    # platform, arch, file name, the seed of its made-up sha256, its size but the last digit
    while read -r platform arch file seed size; do
      cat <<CAT
  [[releases.artifacts]]
  platform = "$platform"
  arch = "$arch"
  path = "$platform/1.8.$minor/$file"
  sha256 = "$(printf '%s%d' "$seed" "$minor" | sha256sum | cut -d' ' -f1)"
  size = $size$minor
CAT
    done <<ROWS
windows x86_64 ScalepadAgent-1.8.$minor.msi w 4821350
macos arm64 ScalepadAgent-1.8.$minor-arm64.pkg a 3984588
macos x86_64 ScalepadAgent-1.8.$minor-x86_64.pkg x 4194304
ROWS
  done
} > "$work/agentdl.toml"
taskset -c 0 "$serve" --config "$work/agentdl.toml" 2>"$work/serve.err" &
serve_pid=$!
base=http://127.0.0.1:$port
for _ in $(seq 50); do curl -s -o /dev/null "$base/healthz" && break; sleep 0.1; done

redirect_target='/v2/agent-releases/latest/download?channel=stable&platform=macos&arch=arm64'
gz='Accept-Encoding: gzip, deflate, br'
etag=$(curl -sI -A "$ua" -H "$gz" "$base/" | awk 'tolower($1) == "etag:" {print $2}' | tr -d '\r')
[ -n "$etag" ] || { echo "page_bench: / answered no ETag" >&2; cat "$work/serve.err" >&2; exit 1; }
# Each scenario's expected status, checked before anything is timed.
check() {
  local name=$1 want=$2; shift 2
  local got
  got=$(curl -s -o /dev/null -w '%{http_code}' "$@")
  [ "$got" = "$want" ] || { echo "page_bench: $name answered $got, not $want" >&2; exit 1; }
}
check redirect 302 "$base$redirect_target"
check page 200 -A "$ua" -H "$gz" "$base/"
check plain 200 -A "$ua" "$base/"
check page304 304 -A "$ua" -H "$gz" -H "If-None-Match: $etag" "$base/"
json_target='/v2/agent-releases/latest?channel=stable&platform=macos&arch=arm64'
check json 200 "$base$json_target"
# Bytes on the wire per response: head + body.
wire() { curl -s -o /dev/null -w '%{size_header} %{size_download}' "$@"; }
read -r redirect_head redirect_body <<< "$(wire "$base$redirect_target")"
read -r page_head page_body <<< "$(wire -A "$ua" -H "$gz" "$base/")"
read -r plain_head plain_body <<< "$(wire -A "$ua" "$base/")"
read -r page304_head page304_body <<< "$(wire -A "$ua" -H "$gz" -H "If-None-Match: $etag" "$base/")"
read -r json_head json_body <<< "$(wire "$base$json_target")"

ticks_per_second=$(getconf CLK_TCK)
# One wrk run; prints "requests/s cpu_us_per_request wrk_cpu_percent".
run() {
  local name=$1 url=$base headers=() before after out wrk_pid wrk_before wrk_after
  case $name in
    redirect) url=$base$redirect_target ;;
    page) url=$base/; headers=(-H "User-Agent: $ua" -H "$gz") ;;
    plain) url=$base/; headers=(-H "User-Agent: $ua") ;;
    page304) url=$base/; headers=(-H "User-Agent: $ua" -H "$gz" -H "If-None-Match: $etag") ;;
    json) url=$base$json_target ;;
  esac
  before=$(cpu_ticks "$serve_pid")
  taskset -c 1 wrk -t1 -c64 -d"${duration}s" "${headers[@]}" "$url" > "$work/wrk.out" 2>&1 &
  wrk_pid=$!
  sleep 0.05
  wrk_before=$(cpu_ticks "$wrk_pid" 2>/dev/null || echo 0)
  wrk_after=$wrk_before
  while kill -0 "$wrk_pid" 2>/dev/null; do
    wrk_after=$(cpu_ticks "$wrk_pid" 2>/dev/null || echo "$wrk_after")
    sleep 0.2
  done
  wait "$wrk_pid" || { echo "page_bench: wrk failed:" >&2; cat "$work/wrk.out" >&2; exit 1; }
  after=$(cpu_ticks "$serve_pid")
  out=$(cat "$work/wrk.out")
  if grep -q "Socket errors\|Non-2xx or 3xx" <<< "$out"; then
    echo "page_bench: wrk reported errors against $name:" >&2; echo "$out" >&2; exit 1
  fi
  awk -v ticks="$((after - before))" -v hz="$ticks_per_second" -v d="$duration" \
      -v wt="$((wrk_after - wrk_before))" '
    /requests in/ { n = $1 }
    /Requests\/sec/ { rps = $2 }
    END { printf "%.0f %.2f %.0f\n", rps, 1e6 * (ticks / hz) / n, 100 * (wt / hz) / d }' <<< "$out"
}

mkdir -p "$results"
report=$results/page-$(date +%Y%m%d-%H%M%S).txt
log() { echo "$@" | tee -a "$report"; }
log "== the downloads page vs the redirect: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -n), $(nproc) cores, kernel $(uname -r)"
log "agentdl-serve: $serve ($("$serve" --version 2>/dev/null | head -n 1)), threads = 1, access_log off, anonymous callers of public channels"
log "wrk -t1 -c64 keep-alive on core 1, the server on core 0; $rounds rounds of ${duration}s, order rotated, after a warm-up"
log "bytes per response (head + body): redirect $redirect_head + $redirect_body, page (gzip) $page_head + $page_body, plain $plain_head + $plain_body, page304 $page304_head + $page304_body, json $json_head + $json_body"
log "$(printf '%-9s %5s %12s %14s %8s' scenario round requests/s cpu_us/request wrk_cpu%)"
scenarios=(redirect page plain page304 json)
for name in "${scenarios[@]}"; do run "$name" >/dev/null; : > "$work/$name"; done # warm-up
for i in $(seq "$rounds"); do
  shift_by=$(( (i - 1) % ${#scenarios[@]} ))
  order=("${scenarios[@]:$shift_by}" "${scenarios[@]:0:$shift_by}")
  for name in "${order[@]}"; do
    line=$(run "$name")
    echo "$line" >> "$work/$name"
    log "$(printf '%-9s %5s %12s %14s %8s' "$name" "$i" $line)"
  done
done
for name in "${scenarios[@]}"; do
  log "$(printf '%-9s %5s %12s %14s %8s' "$name" median "$(cut -d' ' -f1 "$work/$name" | median)" \
    "$(cut -d' ' -f2 "$work/$name" | median)" "$(cut -d' ' -f3 "$work/$name" | median)")"
done
r=$(cut -d' ' -f1 "$work/redirect" | median)
for name in page plain page304 json; do
  p=$(cut -d' ' -f1 "$work/$name" | median)
  log "$(awk -v n="$name" -v p="$p" -v r="$r" 'BEGIN {
    x = p / r; printf "%s/redirect requests/s %.3fx (target >= 0.8x: %s)\n", n, x, (x >= 0.8) ? "met" : "missed" }')"
done
log "(report appended to ${report#"$root"/})"
