# What the benchmarks share (serve_bench.sh, alloc_bench.sh, profile_serve.sh,
# rate_bench.sh, segments.sh, download_bench.sh, mirror_bench.sh,
# files_bench.sh): sourced, not run. Each script keeps its own work folder
# ($work) and says what it measures; this file finds and starts agentdl-serve
# and starts nginx the same way for all of them.

# Prints the median of the numbers on stdin, one per line.
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# Prints a TCP port free on 127.0.0.1 now.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Sets serve to the agentdl-serve to measure: $AGENTDL_SERVE when set, else
# the Release build in build-bench/, configured and built here. Run from the
# repository's root; stops the script when the file is not an executable.
find_agentdl_serve() {
  if [ -n "${AGENTDL_SERVE:-}" ]; then
    serve=$AGENTDL_SERVE
  else
    echo "== build (Release, build-bench)"
    cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DAGENTDL_BUILD_TESTS=OFF >/dev/null
    cmake --build build-bench -j2 --target agentdl-serve >/dev/null
    serve=$PWD/build-bench/apps/agentdl-serve/agentdl-serve
  fi
  [ -x "$serve" ] || { echo "$(basename "$0" .sh): $serve is not an executable (set AGENTDL_SERVE)" >&2; exit 1; }
}

# Starts agentdl-serve (the one find_agentdl_serve set) on the demo catalog
# with one worker (`threads = 1`), auth and its access log off, on a free
# port, under the command words given before `--` (e.g. taskset -c 0), and
# waits until it answers TARGET with a redirect; sets agentdl_port,
# agentdl_pid and location. Its catalog is $work/agentdl.toml, its output
# $work/serve.out and $work/serve.err. Exits the script with that stderr if
# it gives no Location.
#
#   start_agentdl_redirect TARGET [PREFIX_WORDS... --]
start_agentdl_redirect() {
  local target=$1 name
  name=$(basename "$0" .sh)
  shift
  local prefix=()
  if [ $# -gt 0 ]; then
    while [ "$1" != -- ]; do prefix+=("$1"); shift; done
  fi
  agentdl_port=$(free_port)
  sed -e "s|^listen = .*|listen = [\"127.0.0.1:$agentdl_port\"]|" \
      -e "s|^public_url = .*|&\nthreads = 1\naccess_log = \"off\"|" \
      -e 's|^mode = "required"|mode = "none"|' agentdl.toml > "$work/agentdl.toml"
  grep -q '^threads = 1$' "$work/agentdl.toml" && grep -q '^mode = "none"$' "$work/agentdl.toml" ||
    { echo "$name: could not rewrite agentdl.toml's [server] and [auth] (has the demo catalog changed?)" >&2; exit 1; }
  "${prefix[@]}" "$serve" --config "$work/agentdl.toml" >"$work/serve.out" 2>"$work/serve.err" &
  agentdl_pid=$!
  location=""
  for _ in $(seq 50); do
    location=$(curl -s -o /dev/null -w '%{redirect_url}' "http://127.0.0.1:$agentdl_port$target") &&
      [ -n "$location" ] && break
    kill -0 "$agentdl_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$location" ] || { cat "$work/serve.err" >&2; echo "$name: agentdl-serve gave no Location" >&2; exit 1; }
}

# Prints the CPU time of process PID so far, in clock ticks (utime + stime).
cpu_ticks() { awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }

# Sets server_pin and client_pin, the command words that pin nginx and the
# clients, and pinning, what they do: core 0 for nginx, core 1 for the
# clients (and the timer that starts them). BENCH_PIN=server: nginx on core
# 0, the clients free to use both cores (as a client machine would, its
# server being elsewhere). BENCH_PIN=0: no pinning.
pin_nginx_and_clients() {
  server_pin=(); client_pin=(); pinning="none"
  if [ "${BENCH_PIN:-1}" != 0 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    server_pin=(taskset -c 0)
    if [ "${BENCH_PIN:-1}" = server ]; then
      pinning="nginx on core 0, clients on any core"
    else
      client_pin=(taskset -c 1); pinning="nginx on core 0, clients on core 1"
    fi
  fi
}

# Makes the run's folder, $work, and removes it on exit after stopping the
# nginx that start_nginx started, if any.
make_work_folder() {
  work=$(mktemp -d)
  nginx_pid=
  trap 'if [ -n "$nginx_pid" ]; then kill "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
}

# Writes DIR/nginx.conf for a static file server and makes DIR/nginx, its
# prefix: one worker in the foreground, pid, error log and temporary files
# under DIR/nginx, sendfile on, no access log, listening on 127.0.0.1:PORT
# with root ROOT. MAIN_LINES go into the main context, HTTP_LINES into http {},
# SERVER_LINES into server {}. As root the worker would switch to "nobody",
# who cannot read a 0700 temporary folder, so it runs as the current user.
#
#   write_nginx_conf DIR PORT ROOT [MAIN_LINES] [HTTP_LINES] [SERVER_LINES]
write_nginx_conf() {
  local dir=$1 port=$2 root=$3 main=${4:-} http=${5:-} server=${6:-} user_line=""
  [ "$(id -u)" = 0 ] && user_line="user $(id -un) $(id -gn);"
  mkdir -p "$dir/nginx"
  cat > "$dir/nginx.conf" <<CONF
$user_line
worker_processes 1;
daemon off;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn;
$main
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  default_type application/octet-stream;
  client_body_temp_path $dir/nginx;
  proxy_temp_path $dir/nginx;
  fastcgi_temp_path $dir/nginx;
  uwsgi_temp_path $dir/nginx;
  scgi_temp_path $dir/nginx;
$http
  server {
    listen 127.0.0.1:$port;
    root $root;
$server
  }
}
CONF
}

# Starts nginx on DIR/nginx.conf in the background, under the command words
# given before `--` (e.g. taskset -c 0), and waits until URL answers; sets
# nginx_pid. Exits the script with nginx's error log if it does not start.
#
#   start_nginx DIR URL [PREFIX_WORDS... --]
start_nginx() {
  local dir=$1 url=$2
  shift 2
  local prefix=()
  if [ $# -gt 0 ]; then
    while [ "$1" != -- ]; do prefix+=("$1"); shift; done
  fi
  "${prefix[@]}" nginx -e "$dir/nginx/error.log" -c "$dir/nginx.conf" -p "$dir/nginx" &
  nginx_pid=$!
  for _ in $(seq 50); do
    curl -s -o /dev/null -r 0-0 "$url" && return 0
    kill -0 "$nginx_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$(basename "$0"): nginx did not start:" >&2
  cat "$dir/nginx/error.log" >&2
  exit 1
}
