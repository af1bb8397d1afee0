"""Hostile HTTP: the classics of the HTTP Garden and nginx-tests, one test per
class, each sent to an API route and to a mirror's /files/ on one daemon.

A request agentdl-serve refuses gets exactly one answer, a JSON 400 (431 for
a header too large) with `Connection: close`, and the connection is closed:
nothing pipelined after it is answered, so no byte of a refused request is
ever read as the next one. What HTTP allows (absolute-form targets) is
answered as its origin form would be.
"""

import hashlib
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner  # noqa: E402
from serve import Conn, ServeTestCase, server_section  # noqa: E402

FILE = "windows/1.8.3/ScalepadAgent-1.8.3.msi"
API = "/v2/agent-releases/latest/download?platform=windows"
FILES = "/files/" + FILE
TARGETS = (API, FILES)
VALID = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


def request(target, *fields, line_end=b"\r\n", version=b"HTTP/1.1", method=b"GET"):
    """The bytes of a request for `target` with Host: x and `fields` (bytes lines)."""
    lines = [method + b" " + target.encode() + b" " + version, b"Host: x", *fields]
    return line_end.join(lines) + line_end + line_end


class Hostile(ServeTestCase):
    def setUp(self):
        super().setUp()
        data = os.urandom(1000)
        path = self.path(os.path.join("files", FILE))
        os.makedirs(os.path.dirname(path))
        with open(path, "wb") as f:
            f.write(data)
        config = self.write("agentdl.toml", f'''
            default_channel = "stable"
            [platforms.windows]
            archs = ["x86_64"]
            default_arch = "x86_64"
            [channels.stable]
            [storage]
            base_url = "https://downloads.example.com/agent/"
            [mirror]
            root = "files"
            [auth]
            mode = "none"
            {server_section(access_log="off")}
            [[releases]]
            version = "1.8.3"
            channels = ["stable"]
              [[releases.artifacts]]
              platform = "windows"
              arch = "x86_64"
              path = "{FILE}"
              sha256 = "{hashlib.sha256(data).hexdigest()}"
              size = 1000
            ''')
        self.daemon = self.start(config)

    def exchange(self, data):
        """Sends `data` on a new connection; returns (closed, every byte answered)."""
        with Conn(self.daemon.port) as conn:
            try:
                conn.send(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer and close before reading it all
            return conn.closed_within(5)

    def assertRefused(self, data, status=400):
        """`data` gets one JSON `status` with Connection: close, then the close; a
        valid request pipelined after it is never answered."""
        closed, raw = self.exchange(data + VALID)
        self.assertTrue(closed, msg=f"the connection stayed open after {raw!r}")
        self.assertEqual(raw.count(b"HTTP/1."), 1, msg=raw)
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.assertEqual(int(lines[0].split(" ")[1]), status, msg=raw)
        self.assertIn("Connection: close", lines, msg=raw)
        self.assertIn("Content-Type: application/json", lines, msg=raw)
        self.assertIn(f"Content-Length: {len(body)}", lines, msg=raw)
        self.assertTrue(body.startswith(b'{"error":{"code":"'), msg=raw)

    def answer(self, data):
        """Sends `data` and a valid request after it; returns the first response's
        status line and its headers but Date, checking the second was answered."""
        with Conn(self.daemon.port) as conn:
            conn.send(data + VALID)
            first = conn.read_response()
            second = conn.read_response()
        self.assertEqual(second.status, 200)
        return first.status_line, first.header_dict()

    # ----------------------------------------------------------------- framing

    def test_content_length_repeated_listed_or_signed(self):
        for target in TARGETS:
            for fields in ([b"Content-Length: 0", b"Content-Length: 0"],
                           [b"Content-Length: 0, 0"],
                           [b"Content-Length: 0", b"Content-Length: 5"],
                           [b"Content-Length: +0"],
                           [b"Content-Length: -1"],
                           [b"Content-Length: 0x0"],
                           [b"Content-Length: 1e0"],
                           [b"Content-Length: 18446744073709551616"]):
                with self.subTest(target=target, fields=fields):
                    self.assertRefused(request(target, *fields))

    def test_every_transfer_encoding_spelling(self):
        for target in TARGETS:
            for name in (b"Transfer-Encoding", b"transfer-encoding", b"TRANSFER-ENCODING"):
                for value in (b"chunked", b"Chunked", b"CHUNKED", b" chunked", b"chunked ",
                              b"\tchunked", b"identity", b"gzip, chunked", b"chunked, identity",
                              b"x", b""):
                    with self.subTest(target=target, name=name, value=value):
                        self.assertRefused(request(target, name + b":" + value) + b"0\r\n\r\n")
            for fields in ([b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked"],
                           [b"Content-Length: 0", b"Transfer-Encoding: chunked"],
                           [b"Transfer-Encoding : chunked"],
                           [b"Transfer-Encoding:\x0bchunked"]):
                with self.subTest(target=target, fields=fields):
                    self.assertRefused(request(target, *fields) + b"0\r\n\r\n")

    def test_obs_fold(self):
        for target in TARGETS:
            for fields in ([b"X-A: a", b" b"],
                           [b"X-A: a", b"\tb"],
                           [b"X-A:", b" b"],
                           [b"User-Agent: curl", b"  /8"],
                           [b"If-None-Match: \"x\"", b" , \"y\""]):
                with self.subTest(target=target, fields=fields):
                    self.assertRefused(request(target, *fields))

    def test_bare_cr_and_bare_lf(self):
        for target in TARGETS:
            for data in (request(target, b"X-A: a\rb"),
                         request(target, b"X-A: a\r"),
                         request(target, line_end=b"\n"),
                         request(target, b"X-A: a").replace(b"Host: x\r\n", b"Host: x\n"),
                         request(target).replace(b" HTTP/1.1\r\n", b" HTTP/1.1\r\r\n")):
                with self.subTest(target=target, data=data):
                    self.assertRefused(data)

    def test_nul_anywhere(self):
        for target in TARGETS:
            for data in (request(target[:5] + "\x00" + target[5:]),
                         request(target, b"X-A: a\x00b"),
                         request(target, b"X-\x00A: a"),
                         request(target, method=b"G\x00ET")):
                with self.subTest(target=target, data=data):
                    self.assertRefused(data)

    # ----------------------------------------------------------------- request line

    def test_absolute_form_is_answered_as_its_origin_form(self):
        for target in TARGETS:
            origin = self.answer(request(target))
            for prefix in ("http://x", "HTTP://x", "https://another.example:8443"):
                with self.subTest(target=target, prefix=prefix):
                    self.assertEqual(self.answer(request(prefix + target)), origin)

    def test_asterisk_authority_and_other_schemes(self):
        for data in (b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
                     b"GET * HTTP/1.1\r\nHost: x\r\n\r\n",
                     b"GET x:80 HTTP/1.1\r\nHost: x\r\n\r\n",
                     b"GET ftp://x" + FILES.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                     # The authority form is CONNECT's, and names no resource here
                     # (as nginx, 400 rather than 405).
                     b"CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n"):
            with self.subTest(data=data):
                status, headers = self.answer(data)
                self.assertEqual(status, "HTTP/1.1 400 Bad Request")
                self.assertEqual(headers["Content-Type"], "application/json")
        for method in (b"OPTIONS", b"TRACE", b"PUT", b"DELETE", b"PATCH", b"CONNECT", b"BREW"):
            for target in TARGETS:
                with self.subTest(method=method, target=target):
                    status, headers = self.answer(request(target, method=method))
                    self.assertEqual((status, headers["Allow"]),
                                     ("HTTP/1.1 405 Method Not Allowed", "GET, HEAD"))

    def test_unknown_versions(self):
        for target in TARGETS:
            for version in (b"HTTP/2.0", b"HTTP/1.2", b"HTTP/1.10", b"HTTP/3", b"http/1.1",
                            b"HTTP/1.1 x", b"HTTP/01.1", b"HTTP/1.1\t", b"HTTPS/1.1"):
                with self.subTest(target=target, version=version):
                    self.assertRefused(request(target, version=version))
            with self.subTest(target=target, version="HTTP/0.9"):
                self.assertRefused(b"GET " + target.encode() + b"\r\n\r\n")
        with self.subTest(version="the HTTP/2 preface"):
            self.assertRefused(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

    # ----------------------------------------------------------------- sizes

    def test_a_request_line_of_64_KiB(self):
        for target in TARGETS:
            with self.subTest(target=target):
                self.assertRefused(request(target + "?x=" + "a" * 65536), status=431)

    def test_1001_header_fields(self):
        for target in TARGETS:
            with self.subTest(target=target, size="under 8 KiB"):
                # No limit on the count, only on the bytes (as nginx).
                status, _ = self.answer(request(target, *[b"a: b"] * 1001))
                self.assertIn(status, ("HTTP/1.1 200 OK", "HTTP/1.1 302 Found"))
            with self.subTest(target=target, size="over 8 KiB"):
                fields = [b"x-%04d: value" % i for i in range(1001)]
                self.assertRefused(request(target, *fields), status=431)

    # ----------------------------------------------------------------- pipelining

    def test_nothing_after_a_refused_request_is_answered(self):
        # assertRefused pipelines a valid request after each refused one; here
        # the one after smuggles a request of its own in a body.
        smuggled = request(FILES)
        for target in TARGETS:
            with self.subTest(target=target):
                self.assertRefused(
                    request(target, b"Content-Length: %d" % len(smuggled)) + smuggled)
                self.assertRefused(
                    request(target, b"Transfer-Encoding: chunked")
                    + b"%x\r\n" % len(smuggled) + smuggled + b"\r\n0\r\n\r\n")

    def test_answers_in_order_after_an_error_that_keeps_the_connection(self):
        for target in TARGETS:
            with self.subTest(target=target):
                with Conn(self.daemon.port) as conn:
                    conn.send(request("/nope") + request(target) + request(target, method=b"HEAD"))
                    self.assertEqual([conn.read_response().status,
                                      conn.read_response().status,
                                      conn.read_response(head_request=True).status],
                                     [404, 302 if target == API else 200,
                                      302 if target == API else 200])


if __name__ == "__main__":
    runner.main()
