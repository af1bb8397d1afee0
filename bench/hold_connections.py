#!/usr/bin/env python3
"""Holds connections open against an HTTP server, for bench/soak.sh: IDLE
keep-alive connections, each having made one request (GET /healthz, its 200
read whole), then silent; and SLOW connections that send a request header
one byte every INTERVAL seconds and never finish it. Both kinds together in
one thread (epoll).

Writes "ready IDLE SLOW" to READY_FILE once every connection is open (the
idle ones answered). Holds them until SIGTERM or SIGUSR1, watching each for
the server closing it (a readable socket: end of stream, a reset, or bytes
a silent client should never get). Then checks every socket once more
(a non-blocking MSG_PEEK: would-block means still open) and writes to
REPORT_FILE one line of JSON: the connections opened, those still open at
the end, those the server closed (and when, seconds after ready), the header
bytes the slow clients sent, and this process's CPU seconds. Exits 0 unless
a connection could not be opened.

    python3 bench/hold_connections.py HOST PORT IDLE SLOW INTERVAL READY_FILE REPORT_FILE
"""
import json
import os
import resource
import selectors
import signal
import socket
import sys
import time

host, port, idle_count, slow_count, interval, ready_file, report_file = sys.argv[1:8]
port, idle_count, slow_count, interval = int(port), int(idle_count), int(slow_count), float(interval)

# Each connection is a descriptor: raise the soft limit to the hard one.
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft != resource.RLIM_INFINITY and soft < hard:
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

IDLE_REQUEST = f"GET /healthz HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
# A header that grows by one byte at a time and never ends (no blank line):
# a request line, a Host, then one field whose value goes on for as long as
# the slow client is held (far below the server's 8 KiB limit).
SLOW_HEADER = (f"GET /healthz HTTP/1.1\r\nHost: {host}:{port}\r\nX-Slow: ".encode()
               + b"a" * 8000)

stop = False


def on_signal(signum, frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_signal)
signal.signal(signal.SIGUSR1, on_signal)


def fail(message):
    sys.exit(f"hold_connections: {message}")


def read_response(sock):
    """Reads one response to a GET whole (head and Content-Length body); returns its status."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            fail(f"the server closed an idle connection before answering ({data[:80]!r})")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            fail("the server closed an idle connection mid-response")
        body += chunk
    if len(body) != length:
        fail("more bytes than the response's Content-Length on an idle connection")
    return status


selector = selectors.DefaultSelector()
conns = []  # dicts: kind, sock, sent, closed_at, how
started = time.monotonic()
for _ in range(idle_count):
    sock = socket.create_connection((host, port), timeout=10)
    sock.sendall(IDLE_REQUEST)
    status = read_response(sock)
    if status != 200:
        fail(f"an idle connection's request got {status}, not 200 (max_connections?)")
    sock.setblocking(False)
    conns.append({"kind": "idle", "sock": sock, "sent": len(IDLE_REQUEST), "closed_at": None, "how": None})
for _ in range(slow_count):
    sock = socket.create_connection((host, port), timeout=10)
    sock.setblocking(False)
    conns.append({"kind": "slow", "sock": sock, "sent": 0, "closed_at": None, "how": None})
for c in conns:
    selector.register(c["sock"], selectors.EVENT_READ, c)
slow = [c for c in conns if c["kind"] == "slow"]
opening = time.monotonic() - started

with open(ready_file + ".tmp", "w") as f:
    f.write(f"ready {idle_count} {slow_count}\n")
os.rename(ready_file + ".tmp", ready_file)
ready = time.monotonic()


def closed(c, how):
    c["closed_at"] = round(time.monotonic() - ready, 3)
    c["how"] = how
    selector.unregister(c["sock"])


def peek(c):
    """What the server did to C: None (still open) or how it ended."""
    try:
        data = c["sock"].recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return None
    except OSError as e:
        return f"error: {e.strerror}"
    return "closed" if not data else "data"


# The slow clients send in turn, spread over each interval: each sends one
# byte every INTERVAL seconds, and the server sees len(slow) / INTERVAL bytes a second.
next_slow, step = 0, interval / max(len(slow), 1)
next_time = time.monotonic()
while not stop:
    timeout = max(0.0, next_time - time.monotonic()) if slow else 1.0
    for key, _ in selector.select(timeout=min(timeout, 1.0)):
        c = key.data
        how = peek(c)
        if how is not None:
            closed(c, how)
    now = time.monotonic()
    while slow and now >= next_time and not stop:
        c = slow[next_slow]
        if c["closed_at"] is None and c["sent"] < len(SLOW_HEADER):
            try:
                c["sock"].send(SLOW_HEADER[c["sent"]:c["sent"] + 1])
                c["sent"] += 1
            except BlockingIOError:
                pass
            except OSError as e:
                closed(c, f"error: {e.strerror}")
        next_slow = (next_slow + 1) % len(slow)
        next_time += step
held = time.monotonic() - ready

# The end of the measurement: which are still open?
for c in conns:
    if c["closed_at"] is None:
        how = peek(c)
        if how is not None:
            closed(c, how)
usage = resource.getrusage(resource.RUSAGE_SELF)
report = {"opening_s": round(opening, 3), "held_s": round(held, 3),
          "cpu_s": round(usage.ru_utime + usage.ru_stime, 3)}
for kind in ("idle", "slow"):
    mine = [c for c in conns if c["kind"] == kind]
    gone = [c for c in mine if c["closed_at"] is not None]
    report[kind] = {
        "opened": len(mine),
        "open_at_end": len(mine) - len(gone),
        "closed_by_server": len(gone),
        "first_closed_at_s": min((c["closed_at"] for c in gone), default=None),
        "how": sorted({c["how"] for c in gone}),
    }
report["slow"]["header_bytes_sent"] = sum(c["sent"] for c in slow)
report["slow"]["min_bytes_per_client"] = min((c["sent"] for c in slow), default=0)
for c in conns:
    c["sock"].close()
with open(report_file, "w") as f:
    f.write(json.dumps(report) + "\n")
