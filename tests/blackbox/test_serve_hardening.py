"""Black-box tests of agentdl-serve's hardening (CONTRACT section 4, "Hardening").

Each test sends raw bytes over a socket and looks at the raw bytes that come
back: limits, deadlines, request smuggling, header injection, pipelining,
connection limits, and listening addresses.
"""

import json
import os
import resource
import signal
import socket
import struct
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner  # noqa: E402
import serve  # noqa: E402
from serve import (  # noqa: E402
    DEMO_TOKEN, Closed, Conn, ServeTestCase, demo_catalog, request_bytes, server_section)

HEALTH = b'{"status":"ok","releases":4}'

# AGENTDL_TEST_DEFER_ACCEPT=1 (CTest's blackbox.test_serve_hardening_deferred)
# runs every test here with [server] defer_accept = true, where a connection
# comes with its first bytes and is watched only once it has to wait.
if os.environ.get("AGENTDL_TEST_DEFER_ACCEPT") == "1":
    serve.DEFAULT_SERVER["defer_accept"] = True


def segments_received(sock):
    """The TCP segments `sock` has received (Linux's tcp_info.tcpi_segs_in)."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    return struct.unpack_from("I", info, 140)[0]


def has_ipv6_loopback():
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class Limits(ServeTestCase):
    def setUp(self):
        super().setUp()
        self.daemon = self.start_demo()

    def assertRejectedAndClosed(self, data, statuses=(400,), message=None):
        """Sends `data`; checks the one answer (a status in `statuses`) and the close."""
        with Conn(self.daemon.port) as conn:
            try:
                conn.send(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer and close before reading everything
            closed, raw = conn.closed_within(5)
        self.assertTrue(closed, msg=f"the connection stayed open after {raw!r}")
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1]) if lines[0].startswith("HTTP/1.1 ") else None
        self.assertIn(status, statuses, msg=raw)
        self.assertIn("Connection: close", lines, msg=raw)
        self.assertIn("Content-Type: application/json", lines, msg=raw)
        if message is not None:
            expected = ('{"error":{"code":"bad_request","message":"%s","details":{}}}'
                        % message).encode()
            self.assertEqual(body, expected)
            self.assertIn(f"Content-Length: {len(expected)}", lines)
        return raw

    def test_header_block_over_8_KiB(self):
        for size in (9000, 64 * 1024, 1024 * 1024):
            with self.subTest(size=size):
                self.assertRejectedAndClosed(
                    request_bytes("/healthz", headers=[("X-Big", "a" * size)]), (431, 400))
        # Many small headers over the limit, sent at once: about 12 KiB and 120 KiB.
        for count in (200, 2000):
            with self.subTest(fields=count):
                many = [(f"X-H{i}", "b" * 50) for i in range(count)]
                self.assertRejectedAndClosed(request_bytes("/healthz", headers=many),
                                             (431, 400))

    # Beast's parser consumes whole fields as they arrive and checks its limit
    # only against what is left, so the server must count the block itself.
    def test_header_block_over_8_KiB_sent_in_two_parts(self):
        data = request_bytes("/healthz", headers=[(f"X-H{i:03d}", "b" * 50)
                                                  for i in range(250)])  # about 15 KiB
        cut = data.index(b"\r\n", 7900) + 2
        with Conn(self.daemon.port) as conn:
            conn.send(data[:cut])
            time.sleep(0.2)
            try:
                conn.send(data[cut:])
            except (BrokenPipeError, ConnectionResetError):
                pass
            response = conn.read_response()
            self.assertIn(response.status, (431, 400), msg=repr(response))
            self.assertEqual(conn.closed_within(5), (True, b""))

    def test_header_block_under_8_KiB_is_served(self):
        with Conn(self.daemon.port) as conn:
            response = conn.request("/healthz", headers=[("X-Big", "a" * 7000)])
        self.assertEqual((response.status, response.body), (200, HEALTH))

    def test_transfer_encoding_is_rejected(self):
        for te in ("chunked", "gzip, chunked", "identity"):
            with self.subTest(te=te):
                self.assertRejectedAndClosed(
                    request_bytes("/healthz", headers=[("Transfer-Encoding", te)])
                    + b"5\r\nhello\r\n0\r\n\r\n", (400,))
        self.assertRejectedAndClosed(
            request_bytes("/healthz", headers=[("Transfer-Encoding", "chunked")]),
            (400,), "a request must not have a Transfer-Encoding")

    def test_a_request_body_is_rejected(self):
        # The body would otherwise be read as the next request ("GET /x" smuggled).
        self.assertRejectedAndClosed(
            request_bytes("/v2/agent-releases/latest?platform=windows", token=DEMO_TOKEN,
                          headers=[("Content-Length", "5")]) + b"hello",
            (400,), "a request must not have a body (Content-Length is not 0)")
        smuggled = request_bytes("/healthz", host="x")
        self.assertRejectedAndClosed(
            request_bytes("/healthz", headers=[("Content-Length", str(len(smuggled)))])
            + smuggled, (400,))

    def test_server_lingers_after_its_last_response(self):
        # Closing a socket with unread input makes the kernel answer with a
        # reset, and a client stack that drops unread data on a reset (Windows
        # does) loses the response. So after its last response the server
        # sends FIN and goes on reading and discarding for a while: input the
        # client is still sending is taken, not answered with a reset.
        with Conn(self.daemon.port) as conn:
            conn.send(request_bytes("/healthz", headers=[("Content-Length", "50000")]))
            closed, raw = conn.closed_within(5)  # the 400, then FIN
            self.assertTrue(closed)
            self.assertTrue(raw.startswith(b"HTTP/1.1 400 Bad Request\r\n"), msg=raw[:200])
            for _ in range(3):
                time.sleep(0.1)
                conn.send(b"x" * 10000)  # raises if the server has reset the connection

    def test_content_length_zero_is_fine(self):
        with Conn(self.daemon.port) as conn:
            response = conn.request("/healthz", headers=[("Content-Length", "0")])
            self.assertEqual((response.status, response.body), (200, HEALTH))
            # ... and the connection is still good
            response = conn.request("/healthz")
            self.assertEqual((response.status, response.body), (200, HEALTH))

    def test_missing_or_repeated_host(self):
        self.assertRejectedAndClosed(request_bytes("/healthz", host=None), (400,),
                                     "the Host header is missing")
        self.assertRejectedAndClosed(
            request_bytes("/healthz", headers=[("Host", "other.test")]), (400,),
            "the Host header is repeated")

    def test_repeated_authorization(self):
        # Whichever comes first, a repeated credential is refused: a gateway that
        # checks one and agentdl reading another would see different callers.
        target = "/v2/agent-releases/latest/download?platform=windows"
        for order in ((DEMO_TOKEN, "wrong"), ("wrong", DEMO_TOKEN), (DEMO_TOKEN, DEMO_TOKEN)):
            with self.subTest(order=order):
                headers = [("Authorization", f"Bearer {t}") for t in order]
                self.assertRejectedAndClosed(request_bytes(target, headers=headers), (400,),
                                             "the Authorization header is repeated")

    def test_invalid_host_values(self):
        for host in ("127.0.0.1, evil.test", "127.0.0.1,evil.test:80x", "user@agentdl.test",
                     "", ":8080", "a b", "agentdl.test/x", "[::1"):
            with self.subTest(host=host):
                self.assertRejectedAndClosed(
                    request_bytes("/healthz", host=host), (400,),
                    "the Host header is not a valid host[:port]")

    def test_an_invalid_host_after_a_valid_one_on_the_same_connection(self):
        # The daemon remembers the last valid Host per connection; a
        # different value, or an empty one, is checked again.
        for bad in ("agentdl.test, evil.test", ""):
            with self.subTest(host=bad):
                with Conn(self.daemon.port) as conn:
                    self.assertEqual(conn.request("/healthz", host="agentdl.test").status, 200)
                    self.assertEqual(conn.request("/healthz", host="agentdl.test").status, 200)
                    response = conn.request("/healthz", host=bad)
                    self.assertEqual(response.status, 400)
                    self.assertIn(b"the Host header is not a valid host[:port]", response.body)

    def test_valid_host_values(self):
        for host in ("agentdl.test", "127.0.0.1:8080", "[::1]:8080", "EXAMPLE.com", "a,b"):
            with self.subTest(host=host):
                with Conn(self.daemon.port) as conn:
                    self.assertEqual(conn.request("/healthz", host=host).status, 200)

    def test_http_1_0_may_omit_host(self):
        # A load balancer's classic health check: answered in HTTP/1.0, then closed.
        with Conn(self.daemon.port) as conn:
            conn.send(b"GET /healthz HTTP/1.0\r\n\r\n")
            response = conn.read_response()
            self.assertEqual(
                (response.status_line, response.header("Connection"), response.body),
                ("HTTP/1.0 200 OK", "close", b'{"status":"ok","releases":4}'))
            self.assertTrue(conn.closed_within(2)[0])
        # Keep-alive asked for is kept.
        with Conn(self.daemon.port) as conn:
            for _ in range(2):
                conn.send(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                response = conn.read_response()
                self.assertEqual((response.status_line, response.header("Connection")),
                                 ("HTTP/1.0 200 OK", "keep-alive"))
        # The redirect API too.
        with Conn(self.daemon.port) as conn:
            conn.send(b"GET /v2/agent-releases/latest/download?platform=windows HTTP/1.0\r\n"
                      b"Authorization: Bearer " + DEMO_TOKEN.encode() + b"\r\n\r\n")
            response = conn.read_response()
            self.assertEqual((response.status_line, response.header("Location")),
                             ("HTTP/1.0 302 Found",
                              "https://downloads.example.com/agent/windows/1.8.3/"
                              "ScalepadAgent-1.8.3.msi"))

    def test_http_1_0_with_a_repeated_host_is_refused_in_1_0(self):
        with Conn(self.daemon.port) as conn:
            conn.send(b"GET /healthz HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n")
            closed, raw = conn.closed_within(5)
        self.assertTrue(closed)
        body = b'{"error":{"code":"bad_request","message":"the Host header is repeated","details":{}}}'
        self.assertTrue(raw.startswith(b"HTTP/1.0 400 Bad Request\r\n"), msg=raw)
        self.assertTrue(raw.endswith(b"Connection: close\r\n\r\n" + body), msg=raw)

    def test_parameters_that_are_not_utf8(self):
        # The answer is valid UTF-8 JSON (RFC 8259) that names the parameter, and
        # echoes the bytes escaped.
        for query, echoed in (("platform=%FF", "\\xFF"), ("platform=%C0%AE", "\\xC0\\xAE"),
                              ("platform=%ED%A0%80", "\\xED\\xA0\\x80"),
                              ("channel=st%E9ble&platform=windows", "st\\xE9ble")):
            with self.subTest(query=query):
                with Conn(self.daemon.port) as conn:
                    response = conn.request("/v2/agent-releases/latest/download?" + query,
                                            token=DEMO_TOKEN)
                parameter = query.split("=")[0]
                self.assertEqual(response.status, 400)
                self.assertEqual(json.loads(response.body.decode("utf-8")), {"error": {
                    "code": "bad_request",
                    "message": f'parameter "{parameter}" is not valid UTF-8',
                    "details": {"parameter": parameter, "value": echoed}}})

    def test_malformed_http(self):
        for data in (b"GET /healthz\r\nHost: x\r\n\r\n",
                     b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
                     b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n",
                     b"GET /health z HTTP/1.1\r\nHost: x\r\n\r\n",
                     b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64 + b"\r\n\r\n"):
            with self.subTest(data=data):
                self.assertRejectedAndClosed(data, (400,))

    def test_no_cr_lf_or_nul_reaches_a_header(self):
        targets = [
            "/v2/agent-releases/latest?platform=x%0d%0aSet-Cookie:a",
            "/v2/agent-releases/latest/download?platform=x%0d%0aSet-Cookie:a",
            "/v2/agent-releases/latest/download?channel=x%0d%0aSet-Cookie:%20a&platform=windows",
            "/v2/agent-releases/latest/download?platform=macos&arch=x%0aSet-Cookie:a",
            "/v2/agent-releases/1.8.3%0d%0aSet-Cookie:a/download?platform=windows",
            "/v2/agent-releases/latest/download?platform=win%00dows",
            "/v2/agent-releases/latest/download?platform=windows%0d%0a%0d%0aHTTP/1.1%20200",
        ]
        for target in targets:
            for method in ("GET", "HEAD"):
                with self.subTest(target=target, method=method):
                    with Conn(self.daemon.port) as conn:
                        conn.send(request_bytes(target, method, DEMO_TOKEN,
                                                [("Connection", "close")]))
                        closed, raw = conn.closed_within(5)
                    self.assertTrue(closed)
                    head, sep, body = raw.partition(b"\r\n\r\n")
                    self.assertEqual(sep, b"\r\n\r\n", msg=raw)
                    lines = head.split(b"\r\n")
                    self.assertEqual(lines[0], b"HTTP/1.1 400 Bad Request", msg=raw)
                    for line in lines:
                        self.assertNotIn(b"\r", line, msg=raw)
                        self.assertNotIn(b"\n", line, msg=raw)
                        self.assertNotIn(b"\x00", line, msg=raw)
                        self.assertFalse(line.lower().startswith(b"set-cookie"), msg=raw)
                    # The value shows up JSON-escaped in the body only.
                    self.assertNotIn(b"\r", body)
                    self.assertNotIn(b"\n", body)
                    self.assertNotIn(b"\x00", body)
                    if method == "HEAD":
                        self.assertEqual(body, b"")

    def test_traversal_in_the_version_segment(self):
        for segment in ("..", "%2e%2e", ".%2E", "1.8%2F3", "..%2F..%2Fetc%2Fpasswd",
                        "1.8.3%2F..", "%2F", "1.8.3%00"):
            with self.subTest(segment=segment):
                response = self.get(self.daemon,
                                    f"/v2/agent-releases/{segment}/download?platform=windows")
                self.assertEqual(response.status, 400, msg=repr(response))
                self.assertEqual(response.header("Location"), None)


def big_catalog(releases, server):
    """Returns a catalog of `releases` releases of one artifact each, with `server` settings."""
    lines = ['[platforms.windows]\narchs = ["x86_64"]\ndefault_arch = "x86_64"\n'
             '[channels.stable]\n[storage]\nbase_url = "https://dl.example.com/agent/"\n'
             '[auth]\nmode = "none"\n', server]
    for i in range(releases):
        version = f"{i // 10000}.{i // 100 % 100}.{i % 100}"
        lines.append(f'[[releases]]\nversion = "{version}"\nchannels = ["stable"]\n'
                     f'published_at = 2026-10-01T12:00:00Z\n'
                     f'[[releases.artifacts]]\nplatform = "windows"\narch = "x86_64"\n'
                     f'path = "windows/{version}/ScalepadAgent-{version}.msi"\n'
                     f'sha256 = "{i:064x}"\nsize = {48213504 + i}\n')
    return "".join(lines)


def rss_bytes(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class StalledReaders(ServeTestCase):
    def test_stalled_readers_of_the_list_share_one_copy(self):
        # Readers that ask for a large release list and never read it hold a
        # reference to the one rendered list, not a copy each.
        config = self.write("big.toml", big_catalog(
            20000, server_section(idle_timeout="60s", threads=2)), dedent=False)
        daemon = self.start(config, timeout=120)  # 20,000 releases load slowly under ASan
        with Conn(daemon.port, timeout=60) as conn:
            size = len(conn.request("/v2/agent-releases").body)
        self.assertGreater(size, 5_000_000)
        time.sleep(0.3)
        before = rss_bytes(daemon.proc.pid)
        readers = []
        for _ in range(40):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", daemon.port))
            sock.sendall(request_bytes("/v2/agent-releases"))
            readers.append(sock)
            self.addCleanup(sock.close)
        time.sleep(1.0)  # every reader's response is being written, and stalls
        grown = rss_bytes(daemon.proc.pid) - before
        # A copy each would be 40 lists; allow one list and per-connection buffers.
        self.assertLess(grown, 2 * size, msg=f"RSS grew by {grown} bytes; the list is {size}")
        for sock in readers:
            sock.close()
        self.assertEqual(self.get(daemon, "/healthz", token=None).status, 200)


class Connections(ServeTestCase):
    def setUp(self):
        super().setUp()
        self.daemon = self.start_demo()

    def test_a_client_that_shuts_its_side_gets_its_answer_and_the_end_at_once(self):
        # The request and the FIN arrive together (printf ... | nc -N): the
        # daemon answers, then sees the end of the stream and closes, rather
        # than wait for idle_timeout.
        daemon = self.start_demo(idle_timeout="30s", header_timeout="30s")
        for data in (request_bytes("/healthz"),
                     request_bytes("/healthz") + request_bytes("/healthz")):
            with self.subTest(requests=data.count(b"GET")):
                with Conn(daemon.port) as conn:
                    conn.send(data)
                    conn.sock.shutdown(socket.SHUT_WR)
                    for _ in range(data.count(b"GET")):
                        self.assertEqual(conn.read_response().status, 200)
                    start = time.monotonic()
                    self.assertEqual(conn.closed_within(5), (True, b""))
                    self.assertLess(time.monotonic() - start, 1.0)

    def test_pipelined_requests_are_answered_in_order(self):
        targets = ["/v2/agent-releases/latest/download?platform=windows",
                   "/healthz",
                   "/v2/agent-releases/1.8.2/download?platform=macos&arch=arm64"]
        with Conn(self.daemon.port) as conn:
            conn.send(b"".join(request_bytes(t, token=DEMO_TOKEN) for t in targets))
            first = conn.read_response()
            second = conn.read_response()
            third = conn.read_response()
            # Two more, the second split in the middle of its header.
            data = (request_bytes("/v2/agent-releases/1.8.3/download?platform=windows",
                                  token=DEMO_TOKEN)
                    + request_bytes("/healthz", method="HEAD"))
            conn.send(data[:-10])
            time.sleep(0.2)
            conn.send(data[-10:])
            fourth = conn.read_response()
            fifth = conn.read_response(head_request=True)
            self.assertEqual(conn.closed_within(0.3), (False, b""))
        self.assertEqual(
            [(r.status, r.header("Location") or r.body) for r in (first, second, third, fourth)],
            [(302, "https://downloads.example.com/agent/windows/1.8.3/ScalepadAgent-1.8.3.msi"),
             (200, HEALTH),
             (302, "https://downloads.example.com/agent/macos/arm64/1.8.2/"
                   "ScalepadAgent-1.8.2.pkg"),
             (302, "https://downloads.example.com/agent/windows/1.8.3/"
                   "ScalepadAgent-1.8.3.msi")])
        self.assertEqual((fifth.status, fifth.body, fifth.header("Content-Length")),
                         (200, b"", str(len(HEALTH))))

    def test_many_pipelined_requests(self):
        versions = ["1.8.2", "1.8.3"] * 100
        with Conn(self.daemon.port) as conn:
            conn.send(b"".join(
                request_bytes(f"/v2/agent-releases/{v}/download?platform=windows",
                              token=DEMO_TOKEN) for v in versions))
            answers = [conn.read_response().header("X-Release-Version") for _ in versions]
        self.assertEqual(answers, versions)

    def test_keep_alive_reuse(self):
        with Conn(self.daemon.port) as conn:
            for i in range(20):
                response = conn.request("/v2/agent-releases/latest/download?platform=windows",
                                        token=DEMO_TOKEN)
                self.assertEqual((response.status, response.header("Connection")), (302, None))
            # An error answered by the API keeps the connection too.
            response = conn.request("/v2/agent-releases/latest/download?platform=linux",
                                    token=DEMO_TOKEN)
            self.assertEqual((response.status, response.header("Connection")), (400, None))
            response = conn.request("/healthz")
            self.assertEqual((response.status, response.body), (200, HEALTH))

    def test_connection_close_is_honoured(self):
        with Conn(self.daemon.port) as conn:
            response = conn.request("/healthz", headers=[("Connection", "close")])
            self.assertEqual((response.status, response.header("Connection")), (200, "close"))
            self.assertEqual(conn.closed_within(2), (True, b""))

    def test_the_last_response_carries_the_fin(self):
        # A connection's last response goes out with its FIN in the same
        # segment: the client of a closed connection receives no more
        # segments than that of one kept alive (the FIN alone would be one more).
        received = {}
        for close in (False, True):
            headers = [("Connection", "close")] if close else []
            with Conn(self.daemon.port) as conn:
                response = conn.request("/v2/agent-releases/latest/download?platform=windows",
                                        token=DEMO_TOKEN, headers=headers)
                self.assertEqual(response.status, 302)
                self.assertEqual(conn.closed_within(0.3 if not close else 2), (close, b""))
                received[close] = segments_received(conn.sock)
        self.assertEqual(received[True], received[False], msg=f"segments received: {received}")


class Timeouts(ServeTestCase):
    def test_trickling_client_is_cut_off_at_header_timeout(self):
        # idle_timeout is long, so only the whole-header deadline can cut the trickle.
        daemon = self.start_demo(header_timeout="2s", idle_timeout="20s")
        data = request_bytes("/healthz", headers=[("X-Pad", "p" * 40)])
        result = {}

        def trickle():
            with Conn(daemon.port) as conn:
                start = time.monotonic()
                try:
                    for byte in data[:-1]:  # never completes the header
                        conn.send(bytes([byte]))
                        closed, extra = conn.closed_within(0.5)
                        if closed:
                            result["closed"] = (time.monotonic() - start, extra)
                            return
                except (BrokenPipeError, ConnectionResetError):
                    result["closed"] = (time.monotonic() - start, b"")
                    return
                result["closed"] = None

        thread = threading.Thread(target=trickle)
        thread.start()
        try:
            time.sleep(0.7)
            # Meanwhile another client is served at once.
            for _ in range(3):
                start = time.monotonic()
                response = self.get(daemon, "/healthz")
                self.assertEqual((response.status, response.body), (200, HEALTH))
                self.assertLess(time.monotonic() - start, 1.0)
        finally:
            thread.join(timeout=30)
        self.assertIsNotNone(result.get("closed"), msg="the trickling client was never cut off")
        seconds, extra = result["closed"]
        self.assertGreaterEqual(seconds, 1.5)
        self.assertLess(seconds, 4.5)
        # Nothing but, at most, a 408 came back.
        self.assertTrue(extra == b"" or extra.startswith(b"HTTP/1.1 408 "), msg=extra)

    def test_idle_keep_alive_connection_is_closed(self):
        daemon = self.start_demo(idle_timeout="1s")
        with Conn(daemon.port) as conn:
            response = conn.request("/healthz")
            self.assertEqual(response.status, 200)
            start = time.monotonic()
            closed, extra = conn.closed_within(5)
            waited = time.monotonic() - start
        self.assertEqual((closed, extra), (True, b""))
        self.assertGreaterEqual(waited, 0.7)
        self.assertLess(waited, 3.0)

    def test_silent_connection_is_closed(self):
        daemon = self.start_demo(idle_timeout="1s", header_timeout="1s")
        with Conn(daemon.port) as conn:
            start = time.monotonic()
            closed, extra = conn.closed_within(5)
            waited = time.monotonic() - start
        self.assertEqual((closed, extra), (True, b""))
        self.assertLess(waited, 3.0)


class DeferredAccept(ServeTestCase):
    """[server] defer_accept: the kernel hands a connection over once its first bytes are in."""

    def open_connections(self, daemon):
        return self.metrics(daemon)["agentdl_open_connections"] - 1  # less the one asking

    def assertOpenSoon(self, daemon, count):
        """Waits up to 2 s for `count` connections open in the daemon (besides the one asking)."""
        deadline = time.monotonic() + 2
        while self.open_connections(daemon) != count:
            self.assertLess(time.monotonic(), deadline, msg="the silent connection is not open")
            time.sleep(0.05)

    def test_a_silent_connection_waits_in_the_kernel_then_gets_header_timeout(self):
        daemon = self.start_demo(defer_accept=True, header_timeout="1s", idle_timeout="5s")
        start = time.monotonic()
        silent = self.connect(daemon)
        time.sleep(0.4)
        self.assertEqual(self.open_connections(daemon), 0)
        closed, extra = silent.closed_within(8)
        waited = time.monotonic() - start
        self.assertEqual((closed, extra), (True, b""))
        # Handed over after the first SYN-ACK resent, about a second, then
        # cut off after header_timeout (1 s): later than header_timeout alone.
        self.assertGreaterEqual(waited, 1.5)
        self.assertLess(waited, 6.0)

    def test_without_it_a_silent_connection_is_open_at_once(self):
        daemon = self.start_demo(defer_accept=False)
        silent = self.connect(daemon)
        self.assertOpenSoon(daemon, 1)
        silent.close()

    def test_requests_are_served_as_without_it(self):
        daemon = self.start_demo(defer_accept=True)
        with Conn(daemon.port) as conn:
            # The first read takes part of the header; the rest comes once
            # the connection is watched.
            data = request_bytes("/healthz")
            conn.send(data[:12])
            time.sleep(0.2)
            conn.send(data[12:])
            self.assertEqual(conn.read_response().body, HEALTH)
            for _ in range(3):
                self.assertEqual(conn.request("/healthz").body, HEALTH)
            response = conn.request("/v2/agent-releases/latest/download?platform=windows",
                                    token=DEMO_TOKEN, headers=[("Connection", "close")])
            self.assertEqual((response.status, response.header("Connection")), (302, "close"))
            self.assertEqual(conn.closed_within(2), (True, b""))
        # A request answered and closed on a connection never watched.
        response = self.get(daemon, "/v2/agent-releases/1.8.2/download?platform=windows")
        self.assertEqual(response.header("Location"),
                         "https://downloads.example.com/agent/windows/1.8.2/"
                         "ScalepadAgent-1.8.2.msi")

    def test_changing_it_applies_after_a_restart(self):
        config = self.write("agentdl.toml", demo_catalog(defer_accept=False), dedent=False)
        daemon = self.start(config)
        self.write("agentdl.toml", demo_catalog(defer_accept=True), dedent=False)
        daemon.proc.send_signal(signal.SIGHUP)
        line = ("agentdl-serve: [server] defer_accept changed: it applies after a restart; "
                "still accepting without deferring\n")
        deadline = time.monotonic() + 5
        while line not in daemon.stderr():
            self.assertLess(time.monotonic(), deadline, msg=daemon.stderr())
            time.sleep(0.05)
        silent = self.connect(daemon)  # still not deferred
        self.assertOpenSoon(daemon, 1)
        silent.close()


class MaxConnections(ServeTestCase):
    BUSY = ('{"error":{"code":"unavailable","message":"too many connections, try again",'
            '"details":{}}}')

    def open_served(self, daemon):
        conn = self.connect(daemon)
        response = conn.request("/healthz")
        self.assertEqual(response.status, 200)
        return conn

    def assertRefused(self, conn, send_first):
        if send_first:
            try:
                conn.send(request_bytes("/healthz"))
            except (BrokenPipeError, ConnectionResetError):
                pass
        closed, raw = conn.closed_within(5)
        self.assertTrue(closed, msg=raw)
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.assertEqual(lines[0], "HTTP/1.1 503 Service Unavailable", msg=raw)
        self.assertIn("Connection: close", lines)
        self.assertIn("Content-Type: application/json", lines)
        self.assertEqual(body.decode(), self.BUSY)

    def test_third_connection_is_refused_until_one_closes(self):
        daemon = self.start_demo(max_connections=2)
        first = self.open_served(daemon)
        second = self.open_served(daemon)
        self.assertRefused(self.connect(daemon), send_first=False)
        self.assertRefused(self.connect(daemon), send_first=True)
        # The two served connections are unharmed.
        self.assertEqual(first.request("/healthz").status, 200)
        self.assertEqual(second.request("/healthz").status, 200)
        first.close()
        # Once the server has seen the close, a new connection is served.
        deadline = time.monotonic() + 3
        while True:
            conn = self.connect(daemon)
            conn.send(request_bytes("/healthz"))
            try:
                response = conn.read_response()
            except Exception:  # noqa: BLE001 - refused while the close is still in flight
                response = None
            if response is not None and response.status == 200:
                break
            self.assertLess(time.monotonic(), deadline, msg="no connection served after a close")
            conn.close()
            time.sleep(0.05)
        self.assertEqual(response.body, HEALTH)
        self.assertEqual(second.request("/healthz").status, 200)


class AcceptErrors(ServeTestCase):
    def test_emfile_does_not_stop_the_listener(self):
        # The daemon may open only a few files: most of 40 connections find the
        # file table full (EMFILE) when the daemon accepts them.
        def few_files():
            resource.setrlimit(resource.RLIMIT_NOFILE, (24, 24))

        config = self.write("agentdl.toml", demo_catalog(), dedent=False)
        daemon = self.start(config, preexec_fn=few_files)
        conns = [Conn(daemon.port) for _ in range(40)]
        try:
            for conn in conns:
                conn.send(request_bytes("/healthz"))
            daemon.wait_for_stderr(r"^agentdl-serve: accept failed: Too many open files; "
                                   r"retrying$")
        finally:
            for conn in conns:
                conn.close()
        # Once files are free again, connections are served.
        deadline = time.monotonic() + 5
        while True:
            try:
                with Conn(daemon.port, timeout=1) as conn:
                    response = conn.request("/healthz")
                break
            except (Closed, OSError):
                self.assertLess(time.monotonic(), deadline, msg=daemon.stderr()[-2000:])
                time.sleep(0.1)
        self.assertEqual((response.status, response.body), (200, HEALTH))
        self.assertIsNone(daemon.proc.poll())


class Listening(ServeTestCase):
    def test_port_in_use_fails_at_once(self):
        first = self.start_demo()
        config = self.write("second.toml", demo_catalog(), dedent=False)
        second = self.spawn(config, "--listen", f"127.0.0.1:{first.port}", name="second")
        code, waited = second.wait(timeout=2)
        self.assertEqual(
            (code, second.stderr()),
            (5, f"agentdl-serve: error: cannot listen on 127.0.0.1:{first.port}: "
                "Address already in use\n"))
        self.assertLess(waited, 2)
        # The first one is unharmed.
        self.assertEqual(self.get(first, "/healthz").body, HEALTH)

    def test_port_in_use_among_several_addresses(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            config = self.write("c.toml", demo_catalog(), dedent=False)
            daemon = self.spawn(config, "--listen", "127.0.0.1:0",
                                "--listen", f"127.0.0.1:{port}")
            code, _ = daemon.wait(timeout=2)
            self.assertEqual(code, 5)
            self.assertIn(f"agentdl-serve: error: cannot listen on 127.0.0.1:{port}: "
                          "Address already in use\n", daemon.stderr())

    def test_ipv6_loopback(self):
        if not has_ipv6_loopback():
            self.skipTest("no IPv6 loopback on this machine")
        config = self.write("c.toml", demo_catalog(), dedent=False)
        daemon = self.start(config, "--listen", "[::1]:0")
        self.assertEqual(len(daemon.addresses), 1)
        self.assertRegex(daemon.addresses[0], r"^\[::1\]:[0-9]+$")
        with Conn(daemon.port, host="::1") as conn:
            response = conn.request("/v2/agent-releases/latest/download?platform=windows",
                                    token=DEMO_TOKEN, host="[::1]")
        self.assertEqual(response.status, 302)
        # ... and only there: nothing on 127.0.0.1 at that port (unless by chance
        # something else listens there, which a refused connection rules out).
        with self.assertRaises(ConnectionRefusedError):
            Conn(daemon.port).close()

    def test_several_listen_addresses(self):
        config = self.write("c.toml", demo_catalog(), dedent=False)
        args = ["--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0"]
        hosts = ["127.0.0.1", "127.0.0.1"]
        if has_ipv6_loopback():
            args += ["--listen", "[::1]:0"]
            hosts.append("::1")
        daemon = self.start(config, *args, listeners=len(hosts))
        self.assertEqual(len(daemon.addresses), len(hosts), msg=daemon.stderr())
        self.assertEqual(len(set(daemon.addresses)), len(hosts))
        for host, port in zip(hosts, daemon.ports()):
            with self.subTest(host=host, port=port):
                with Conn(port, host=host) as conn:
                    self.assertEqual(conn.request("/healthz").body, HEALTH)

    def test_listen_option_replaces_the_catalog_listen(self):
        # The catalog names a port that is taken: serving there would fail.
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            taken = busy.getsockname()[1]
            config = self.write("c.toml", demo_catalog(listen=[f"127.0.0.1:{taken}"]),
                                dedent=False)
            daemon = self.start(config, "--listen", "127.0.0.1:0")
            time.sleep(0.2)  # a second listening line would have come by now
            self.assertEqual(len(daemon.addresses), 1, msg=daemon.stderr())
            self.assertNotEqual(daemon.port, taken)
            self.assertEqual(daemon.stderr(),
                             f"agentdl-serve: listening on 127.0.0.1:{daemon.port}\n")
            self.assertEqual(self.get(daemon, "/healthz").body, HEALTH)

    def test_catalog_listen_is_used_without_the_option(self):
        config = self.write("c.toml", demo_catalog(listen=["127.0.0.1:0", "127.0.0.1:0"]),
                            dedent=False)
        daemon = self.start(config, listeners=2)
        for port in daemon.ports():
            with Conn(port) as conn:
                self.assertEqual(conn.request("/healthz").body, HEALTH)


if __name__ == "__main__":
    runner.main()
