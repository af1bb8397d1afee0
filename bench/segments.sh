#!/usr/bin/env bash
# TCP segments per request on loopback: agentdl-serve's redirect against
# nginx doing `return 302` to the same Location, with a new connection per
# request and on one keep-alive connection. Fewer segments is less work for
# both kernels (each is sent, received and acknowledged).
#
#   bash bench/segments.sh [REQUESTS]     # default 2000; a few seconds
#   AGENTDL_SERVE=build-bench/apps/agentdl-serve/agentdl-serve bash bench/segments.sh
#
# A Python client sends REQUESTS requests one after the other (after 50 not
# counted), each on its own connection with `Connection: close` (read to the
# server's FIN, then closed), then all on one keep-alive connection. The
# segments are the kernel's own counts (`nstat -az TcpOutSegs`, system-wide:
# on loopback every segment either side sends is counted once), read before
# and after, divided by REQUESTS. Anything else on the machine using TCP
# adds to them: run it on an otherwise idle machine. agentdl-serve runs the
# demo catalog with auth and its access log off; nginx (Debian's) one worker,
# no access log, keepalive_requests 10000000 (its default, 1000, would close
# the keep-alive connection). Checked first: both answer 302 with the same Location.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
source bench/common.sh

requests=${1:-2000}
case $requests in ''|*[!0-9]*|0) echo "segments: REQUESTS must be a positive integer" >&2; exit 2 ;; esac
for tool in nginx nstat curl python3; do
  command -v "$tool" >/dev/null || { echo "segments: $tool is missing (bash scripts/deps.sh installs it)" >&2; exit 1; }
done
find_agentdl_serve
make_work_folder
agentdl_pid=
trap 'for p in $agentdl_pid $nginx_pid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

target="/v2/agent-releases/latest/download?channel=stable&platform=macos&arch=arm64"
start_agentdl_redirect "$target"

nginx_port=$(free_port)
write_nginx_conf "$work" "$nginx_port" "$work" "" "  keepalive_requests 10000000;" \
  "    location = /v2/agent-releases/latest/download { return 302 $location; }"
start_nginx "$work" "http://127.0.0.1:$nginx_port/"
answer=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://127.0.0.1:$nginx_port$target")
[ "$answer" = "302 $location" ] || { echo "segments: nginx answered '$answer', not '302 $location'" >&2; exit 1; }

echo "== TCP segments per request (nstat TcpOutSegs, loopback, both sides), $requests requests, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "GET $target -> 302 $location"
python3 - "$agentdl_port" "$nginx_port" "$requests" "$target" <<'PY'
import socket, subprocess, sys

agentdl_port, nginx_port, n, target = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]

def out_segments():
    text = subprocess.run(["nstat", "-az", "TcpOutSegs"], capture_output=True, text=True,
                          check=True).stdout
    return next(int(line.split()[1]) for line in text.splitlines()
                if line.startswith("TcpOutSegs"))

def request(close):
    return (f"GET {target} HTTP/1.1\r\nHost: bench\r\n"
            + ("Connection: close\r\n" if close else "") + "\r\n").encode()

def read_response(sock, pending):
    """Reads one response (no body expected beyond Content-Length); returns what follows."""
    data = pending
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            sys.exit("segments: the server closed before its response")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 302"):
        sys.exit(f"segments: not a 302: {head[:60]!r}")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        rest += sock.recv(65536)
    return rest[length:]

def new_connections(port, count):
    for _ in range(count):
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(request(True))
            rest = read_response(sock, b"")
            while sock.recv(65536):  # to the server's FIN
                pass

def keep_alive(port, count):
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rest = b""
        for _ in range(count):
            sock.sendall(request(False))
            rest = read_response(sock, rest)

print(f"{'':24} {'agentdl':>8} {'nginx':>8}")
for name, run in (("new connection each", new_connections), ("one keep-alive conn.", keep_alive)):
    per = []
    for port in (agentdl_port, nginx_port):
        run(port, 50)
        before = out_segments()
        run(port, n)
        per.append((out_segments() - before) / n)
    print(f"{name:<24} {per[0]:>8.2f} {per[1]:>8.2f}")
PY
