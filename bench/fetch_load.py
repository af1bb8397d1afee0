#!/usr/bin/env python3
"""A load generator for large files: CONNECTIONS keep-alive connections in one
thread (epoll), each asking for PATH again and again for SECONDS, reading
bodies with recv_into a large buffer (wrk reads 8 KiB at a time, which on
loopback makes it, not the server, the bottleneck for big bodies).

Every response must be "200" with a Content-Length of SIZE; anything else
stops the run. Prints one line: "BYTES REQUESTS SECONDS CPU_SECONDS", the
body bytes read (whole and partial responses), the responses read whole, the
wall time, and this process's own CPU time (to tell when it saturated).

    python3 bench/fetch_load.py HOST PORT PATH SIZE CONNECTIONS SECONDS
"""
import os
import resource
import selectors
import socket
import sys
import time

BUFFER = 4 * 1024 * 1024


class Connection:
    def __init__(self, host, port, request, size):
        self.sock = socket.create_connection((host, port))
        self.sock.setblocking(False)
        self.request = request
        self.size = size
        self.head = b""
        self.left = 0  # body bytes still to read; 0 while reading a head
        self.requests = 0

    def ask(self):
        self.sock.sendall(self.request)  # a few dozen bytes: the socket always takes them
        self.head = b""

    def take(self, view, n):
        """Consumes the `n` bytes read into `view`; returns the body bytes among them."""
        chunk = n
        if self.left == 0:  # a head, then maybe the body's first bytes
            before = len(self.head)
            self.head += bytes(view[:min(n, 16384)])
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                if len(self.head) >= 16384:
                    sys.exit("fetch_load: a response head over 16 KiB")
                return 0
            lines = self.head[:end].split(b"\r\n")
            if not lines[0].startswith(b"HTTP/1.1 200 "):
                sys.exit(f"fetch_load: answered {lines[0]!r}")
            length = None
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            if length != self.size:
                sys.exit(f"fetch_load: Content-Length {length}, expected {self.size}")
            self.left = length
            chunk = n - (end + 4 - before)
        if chunk > self.left:
            sys.exit("fetch_load: bytes after a whole response")
        self.left -= chunk
        if self.left == 0:
            self.requests += 1
            self.ask()
        return chunk


def main():
    host, port, path, size, connections, seconds = sys.argv[1:]
    port, size, connections, seconds = int(port), int(size), int(connections), float(seconds)
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    buffer = bytearray(BUFFER)
    view = memoryview(buffer)
    selector = selectors.EpollSelector()
    conns = [Connection(host, port, request, size) for _ in range(connections)]
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.monotonic()
    for conn in conns:
        selector.register(conn.sock, selectors.EVENT_READ, conn)
        conn.ask()
    total = 0
    end = start + seconds
    while True:
        now = time.monotonic()
        if now >= end:
            break
        for key, _ in selector.select(end - now):
            conn = key.data
            try:
                n = conn.sock.recv_into(buffer)
            except BlockingIOError:
                continue
            if n == 0:
                sys.exit("fetch_load: the server closed a connection")
            total += conn.take(view, n)
    elapsed = time.monotonic() - start
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    print(total, sum(c.requests for c in conns), f"{elapsed:.4f}", f"{cpu:.4f}")
    for conn in conns:
        conn.sock.close()


if __name__ == "__main__":
    main()
