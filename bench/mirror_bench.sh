#!/usr/bin/env bash
# `agentdl mirror sync` of COUNT artifacts (default 200) of SIZE_MIB MiB each
# (default 1, random bytes) against the ways a user would mirror the same
# folder with stock tools, all fetching the same files from one nginx on
# loopback, ROUNDS rounds (default 5) rotating which client goes first:
#
#   agentdl      agentdl mirror sync --config CAT --dest DIR --jobs 4 --quiet
#   resync       the same command again into the filled DIR (nothing new)
#   wget         wget -r -np -nH -e robots=off of the folder's autoindex page
#   curl-loop    for u in URLS; do curl -fsS -o DIR/FILE "$u"; done
#   curl-par     curl -Z --parallel-max 4 --remote-name-all (if curl has -Z)
#
# agentdl does more than save the bytes: it checks each file's size and
# sha256 while writing it, renames it into DIR/VERSION/PLATFORM/ARCH/FILE,
# syncfs()es the folder and writes DIR/agentdl.toml (a catalog agentdl-serve
# serves) and its record DIR/.agentdl-sync, each fsynced. wget and curl only
# save the bytes. So after every run the script also times `sync -f DIR` (the
# syncfs of the same filesystem, nothing left to flush after agentdl) and
# reports "total" = run + that sync next to the bare seconds. Every run is
# checked afterwards, untimed: all COUNT files present with the right sha256.
#
#   bash bench/mirror_bench.sh [COUNT] [SIZE_MIB] [ROUNDS]
#
# AGENTDL=/path/to/agentdl uses that binary; otherwise agentdl is built
# (Release) in build-bench/ with run.sh's configure step. The files, the
# catalog, nginx's prefix and the mirrors live in one temporary directory
# (mktemp -d, so TMPDIR chooses the filesystem). On a machine with 2 or more
# cores nginx gets core 0 and the clients core 1 (BENCH_PIN=server: only nginx
# is pinned; BENCH_PIN=0: no pinning).
# The report is also appended to bench/results/mirror-<timestamp>.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. bench/common.sh

count=${1:-200}
size_mib=${2:-1}
rounds=${3:-5}
jobs=4
build=$root/build-bench
results=$root/bench/results
case $count in ''|*[!0-9]*|0) echo "mirror_bench: COUNT must be a positive integer" >&2; exit 2 ;; esac
case $size_mib in ''|*[!0-9]*|0) echo "mirror_bench: SIZE_MIB must be a positive integer" >&2; exit 2 ;; esac
case $rounds in ''|*[!0-9]*|0) echo "mirror_bench: ROUNDS must be a positive integer" >&2; exit 2 ;; esac

for tool in nginx curl wget python3 sha256sum; do
  command -v "$tool" >/dev/null || { echo "mirror_bench: $tool is missing (bash scripts/deps.sh installs it)" >&2; exit 1; }
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
if ! "$agentdl" mirror sync --help >/dev/null 2>&1; then
  echo "mirror_bench: $agentdl has no working 'mirror sync' command" >&2
  exit 1
fi

# curl's parallel transfers (-Z, 7.66) and --output-dir (7.73); Debian 12 has 7.88.
curl_par=0
if curl --help all 2>/dev/null | grep -q -- '--parallel-max' &&
   curl --help all 2>/dev/null | grep -q -- '--output-dir'; then
  curl_par=1
fi

pin_nginx_and_clients
make_work_folder

# The artifacts: random bytes, so nothing on the way can compress or dedupe
# them. One flat folder, files/agent-VERSION.bin, the folder a user would
# point wget -r at. Only one mirror exists at a time, next to the originals.
bytes=$((size_mib * 1024 * 1024))
total_mib=$((count * size_mib))
need_kib=$((total_mib * 1024 * 3 + 1024))
avail_kib=$(df -Pk "$work" | awk 'NR == 2 {print $4}')
if [ "$avail_kib" -lt "$need_kib" ]; then
  echo "mirror_bench: $work has $avail_kib KiB free, needs $need_kib" >&2
  exit 1
fi
mkdir -p "$work/www/files" "$work/out" "$work/nginx"
port=$(free_port)
base="http://127.0.0.1:$port/files/"

versions=()
for i in $(seq 0 $((count - 1))); do versions+=("1.0.$i"); done
for v in "${versions[@]}"; do
  head -c "$bytes" /dev/urandom > "$work/www/files/agent-$v.bin"
done
(cd "$work/www/files" && sha256sum -- agent-*.bin) > "$work/sums"
sync  # the new files are written back now, not during the timed runs

# The expected files of each client, as sha256sum -c manifests relative to
# its output folder, and the list of URLs the curl clients are given.
awk '{print $1 "  " $2}' "$work/sums" > "$work/sums.curl"
awk '{print $1 "  files/" $2}' "$work/sums" > "$work/sums.wget"
awk '{v = $2; sub(/^agent-/, "", v); sub(/\.bin$/, "", v); print $1 "  " v "/linux/x86_64/" $2}' \
  "$work/sums" > "$work/sums.agentdl"
: > "$work/urls.txt"; : > "$work/urls.curlrc"
for v in "${versions[@]}"; do
  echo "${base}agent-$v.bin" >> "$work/urls.txt"
  echo "url = \"${base}agent-$v.bin\"" >> "$work/urls.curlrc"
done

# The catalog: COUNT releases, each with one linux/x86_64 artifact at its
# nginx URL, with its sha256 and size.
{
  cat <<CAT
default_channel = "stable"

[platforms.linux]
archs = ["x86_64"]
default_arch = "x86_64"

[channels.stable]
CAT
  while read -r sha name; do
    v=${name#agent-}; v=${v%.bin}
    cat <<CAT

[[releases]]
version = "$v"
channels = ["stable"]
  [[releases.artifacts]]
  platform = "linux"
  arch = "x86_64"
  url = "$base$name"
  sha256 = "$sha"
  size = $bytes
CAT
  done < "$work/sums"
} > "$work/catalog.toml"
"$agentdl" check --config "$work/catalog.toml" >/dev/null

# nginx: one worker, sendfile, no access log, autoindex on the folder (for
# wget -r), everything under $work.
write_nginx_conf "$work" "$port" "$work/www" "" "" "    location /files/ { autoindex on; }"
start_nginx "$work" "$base" "${server_pin[@]}" --

clients=(agentdl wget curl-loop)
[ "$curl_par" = 1 ] && clients+=(curl-par)

out_dir() { echo "$work/out/$1"; }  # resync shares agentdl's folder
agentdl_cmd=("$agentdl" mirror sync --config "$work/catalog.toml" --dest "$(out_dir agentdl)"
             --jobs "$jobs" --quiet)
wget_cmd=(wget -q -r -np -nH -e robots=off -P "$(out_dir wget)" "$base")
curl_loop_cmd=(sh -c 'while IFS= read -r u; do curl -fsS -o "$1/${u##*/}" "$u" || exit 1; done < "$2"'
               sh "$(out_dir curl-loop)" "$work/urls.txt")
# --no-progress-meter: curl 7.88.1 draws its parallel meter despite -s
# (curl/curl#10573, fixed in 8.0).
curl_par_cmd=(curl -fsS --no-progress-meter -Z --parallel-max "$jobs" --remote-name-all
              --output-dir "$(out_dir curl-par)" -K "$work/urls.curlrc")

# Runs a command with stdout into $work/stdout and prints its wall time in
# seconds (CLOCK_MONOTONIC, taken around fork/exec/wait; the timer's own
# start-up is outside the interval). Fails if the command fails.
timed() {
  "${client_pin[@]}" python3 - "$work/stdout" "$@" <<'PY'
import subprocess, sys, time
with open(sys.argv[1], "wb") as out:
    t0 = time.monotonic_ns()
    rc = subprocess.run(sys.argv[2:], stdout=out).returncode
    t1 = time.monotonic_ns()
if rc != 0:
    sys.exit(f"mirror_bench: {sys.argv[2]} exited {rc}")
print(f"{(t1 - t0) / 1e9:.6f}")
PY
}

clean_outputs() {
  rm -rf "$work/out"
  mkdir -p "$work/out/agentdl" "$work/out/wget" "$work/out/curl-loop" "$work/out/curl-par"
  sync  # no write-back of an earlier run's pages during the next one
}

# Checks that `who` left all COUNT files with the right bytes: as many
# agent-*.bin files as expected, each where the client puts it and with its
# sha256 (so a client that failed quietly cannot look fast).
verify() {
  local who=$1 dir manifest n
  case $who in
    agentdl|resync) dir=$(out_dir agentdl); manifest=$work/sums.agentdl ;;
    wget) dir=$(out_dir wget); manifest=$work/sums.wget ;;
    *) dir=$(out_dir "$who"); manifest=$work/sums.curl ;;
  esac
  n=$(find "$dir" -type f -name 'agent-*.bin' | wc -l)
  [ "$n" = "$count" ] || { echo "mirror_bench: $who left $n files, expected $count" >&2; exit 1; }
  (cd "$dir" && sha256sum --quiet --strict -c "$manifest" >&2) ||
    { echo "mirror_bench: $who's files do not match their sha256" >&2; exit 1; }
  case $who in
    agentdl|resync)
      [ -s "$dir/agentdl.toml" ] || { echo "mirror_bench: agentdl wrote no $dir/agentdl.toml" >&2; exit 1; }
      [ -z "$(find "$dir" -name '*.part')" ] || { echo "mirror_bench: agentdl left .part files" >&2; exit 1; }
      ;;
  esac
}

# What agentdl said it did: "fetched N (...), skipped M, pruned 0 in ...".
check_summary() {
  local who=$1 fetched=$2 skipped=$3
  grep -q "^fetched $fetched .*, skipped $skipped, pruned 0 in" "$work/stdout" || {
    echo "mirror_bench: $who should have fetched $fetched and skipped $skipped; it said:" >&2
    cat "$work/stdout" >&2
    exit 1
  }
}

# Runs one client once and prints "SECONDS SYNC_SECONDS": its wall time, then
# that of `sync -f` on its output's filesystem right after it (untimed for
# the first figure). Checks the result. resync runs into agentdl's folder as
# agentdl left it, so it comes right after an agentdl run.
run_one() {
  local who=$1 seconds flush
  case $who in
    agentdl) clean_outputs; seconds=$(timed "${agentdl_cmd[@]}"); check_summary "$who" "$count" 0 ;;
    resync) seconds=$(timed "${agentdl_cmd[@]}"); check_summary "$who" 0 "$count" ;;
    wget) clean_outputs; seconds=$(timed "${wget_cmd[@]}") ;;
    curl-loop) clean_outputs; seconds=$(timed "${curl_loop_cmd[@]}") ;;
    curl-par) clean_outputs; seconds=$(timed "${curl_par_cmd[@]}") ;;
  esac
  flush=$(timed sync -f "$work/out")
  verify "$who"
  echo "$seconds $flush"
}

mibps() { awk -v m="$total_mib" -v s="$1" 'BEGIN {printf "%.1f", m / s}'; }
# common.sh's median, with the six decimals of the seconds it reads.
median6() { median | awk '{printf "%.6f\n", $1}'; }
row() { printf '%-6s %-10s %10s %10s %10s %10s' "$@"; }

mkdir -p "$results"
report=$results/mirror-$(date +%Y%m%d-%H%M%S).txt
log() { echo "$@" | tee -a "$report"; }

# One untimed run of each, which also warms nginx and the page cache, each
# checked like the timed ones.
# agentdl's catalog is loaded too (agentdl check).
for who in "${clients[@]}"; do
  run_one "$who" >/dev/null
  if [ "$who" = agentdl ]; then
    run_one resync >/dev/null
    "$agentdl" check --config "$(out_dir agentdl)/agentdl.toml" >/dev/null
  fi
done
clean_outputs

fs=$(df -PT "$work/out" | awk 'NR == 2 {print $2 " (" $1 ", mounted on " $7 ")"}')
log "== agentdl mirror sync vs wget -r and curl: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -n), $(nproc) cores, kernel $(uname -r)"
log "files: $count x $size_mib MiB ($bytes bytes) of random data, $total_mib MiB in all, under $base"
log "server: nginx $(nginx -v 2>&1 | sed 's|.*/||'), 1 worker, sendfile on, access_log off, autoindex on"
log "outputs: $work/out on $fs; each run starts from an empty folder"
log "agentdl: $agentdl ($("$agentdl" --version 2>/dev/null | head -n 1))"
log "wget: $(wget --version | head -n 1)"
log "curl: $(curl --version | head -n 1)"
log "clients:"
log "  agentdl    agentdl mirror sync --config CATALOG --dest DIR --jobs $jobs --quiet"
log "             (checks each file's size and sha256, writes DIR/agentdl.toml, a catalog of"
log "             $count releases, and DIR/.agentdl-sync, syncfs()es DIR before the catalog)"
log "  resync     the same again into the filled DIR, nothing new (after each agentdl run)"
log "  wget       wget -q -r -np -nH -e robots=off -P DIR $base"
log "  curl-loop  one curl -fsS -o DIR/FILE URL per file, in a shell loop"
if [ "$curl_par" = 1 ]; then
  log "  curl-par   curl -fsS --no-progress-meter -Z --parallel-max $jobs --remote-name-all --output-dir DIR -K URLS"
else
  log "  curl-par   left out: this curl has no --parallel-max/--output-dir"
fi
log "wget and curl only save the bytes. sync = 'sync -f DIR' right after the run (agentdl has done"
log "its own); total = seconds + sync. Every run checked after: $count files, each sha256 right."
log "pinning: $pinning; warm-up: one untimed, checked run of each"
log "$rounds rounds, order rotating; wall time of the whole process (monotonic clock)"
log "$(row round client seconds sync total MiB/s)"

all=("${clients[@]}" resync)
for who in "${all[@]}"; do : > "$work/$who.s"; : > "$work/$who.t"; done
n=${#clients[@]}
for r in $(seq "$rounds"); do
  for k in $(seq 0 $((n - 1))); do
    who=${clients[$(((k + r - 1) % n))]}
    runs=("$who")
    if [ "$who" = agentdl ]; then runs+=(resync); fi
    for w in "${runs[@]}"; do
      res=$(run_one "$w")  # an assignment, so set -e sees run_one fail
      read -r s f <<< "$res"
      t=$(awk -v s="$s" -v f="$f" 'BEGIN {printf "%.6f", s + f}')
      echo "$s" >> "$work/$w.s"; echo "$t" >> "$work/$w.t"
      rate=$(mibps "$s"); [ "$w" = resync ] && rate=-  # nothing transferred
      log "$(row "$r" "$w" "$s" "$f" "$t" "$rate")"
    done
  done
done
clean_outputs

for who in "${all[@]}"; do
  s=$(median6 < "$work/$who.s"); t=$(median6 < "$work/$who.t")
  rate=$(mibps "$s"); [ "$who" = resync ] && rate=-
  log "$(row median "$who" "$s" "" "$t" "$rate")"
done
a_s=$(median6 < "$work/agentdl.s"); a_t=$(median6 < "$work/agentdl.t")
log "ratios, tool / agentdl (medians; above 1: agentdl is faster):"
for who in "${clients[@]:1}"; do
  s=$(median6 < "$work/$who.s"); t=$(median6 < "$work/$who.t")
  log "$(printf '  %-10s seconds %.3fx   total (with sync) %.3fx' "$who" \
    "$(awk -v a="$s" -v b="$a_s" 'BEGIN {print a / b}')" \
    "$(awk -v a="$t" -v b="$a_t" 'BEGIN {print a / b}')")"
done
r_s=$(median6 < "$work/resync.s")
log "$(printf '  %-10s seconds %.3fx of a full agentdl sync (nothing fetched, no file read whole)' resync \
  "$(awk -v a="$r_s" -v b="$a_s" 'BEGIN {print a / b}')")"
log "(report appended to ${report#"$root"/})"
