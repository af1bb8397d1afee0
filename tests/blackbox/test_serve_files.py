"""Black-box tests of agentdl-serve's mirror files (CONTRACT section 6):
`GET/HEAD /files/{path}` with `[mirror] root`.

Real files in a temporary root, the real daemon, raw bytes over real
sockets: headers and bodies are compared whole. The path safety tests send
each hostile path as raw bytes and check that nothing outside root is ever
served, nor even opened (inotify watches a canary file beside the root).
"""

import base64
import ctypes
import email.utils
import hashlib
import hmac
import json
import os
import select
import shutil
import signal
import socket
import stat
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner  # noqa: E402
from serve import Conn, ServeTestCase, request_bytes, server_section  # noqa: E402

SECRET = "mirror-link-secret"
ALL_TOKEN = "token-for-everything"
STABLE_TOKEN = "token-for-stable"
CANARY = b"CANARY: this file is outside the mirror's root and must never be served\n"

# A name that is not ASCII, and its path as a client sends it.
WINDOWS_FILE = "1.0.0/windows/x86_64/Agent Setup \u00e9.msi"
WINDOWS_TARGET = "/files/1.0.0/windows/x86_64/Agent%20Setup%20%C3%A9.msi"


def error_body(code, message, details=None):
    """Returns the daemon's JSON error body, byte for byte."""
    return json.dumps({"error": {"code": code, "message": message, "details": details or {}}},
                      separators=(",", ":"), ensure_ascii=False)


def etag_of(path):
    st = os.stat(path)
    return f'"{st.st_size:x}-{st.st_mtime_ns:x}-{st.st_ino:x}"'


def last_modified_of(path):
    return email.utils.formatdate(os.stat(path).st_mtime_ns // 1_000_000_000, usegmt=True)


def link(path, expires, secret=SECRET):
    """Returns an hmac link's query for the decoded `path` (CONTRACT section 5)."""
    mac = hmac.new(secret.encode(), f"{expires}:{path}".encode(), hashlib.sha256).digest()
    sig = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    return f"expires={expires}&sig={sig}"


def read_body(conn, length, digest, timeout=60):
    """Reads `length` body bytes from `conn` into `digest` without keeping them;
    returns how many came before the server closed (or `length`)."""
    got = min(len(conn.buffer), length)
    digest.update(conn.buffer[:got])
    conn.buffer = conn.buffer[got:]
    conn.sock.settimeout(timeout)
    chunk = bytearray(1 << 20)
    while got < length:
        try:
            n = conn.sock.recv_into(chunk, min(len(chunk), length - got))
        except ConnectionResetError:
            n = 0
        if n == 0:
            break
        digest.update(memoryview(chunk)[:n])
        got += n
    return got


class Inotify:
    """Watches one file for being opened or read (inotify(7), through libc)."""

    IN_ACCESS = 0x1
    IN_OPEN = 0x20
    IN_NONBLOCK = 0o4000

    def __init__(self, path):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(self.IN_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if self.libc.inotify_add_watch(self.fd, os.fsencode(path),
                                       self.IN_OPEN | self.IN_ACCESS) < 0:
            raise OSError(ctypes.get_errno(), "inotify_add_watch")

    def events(self, wait=0.0):
        """Returns the event masks that arrived, waiting up to `wait` seconds for one."""
        masks = []
        if select.select([self.fd], [], [], wait)[0]:
            data = os.read(self.fd, 4096)
            while data:
                _, mask, _, length = struct.unpack_from("iIII", data)
                masks.append(mask)
                data = data[16 + length:]
        return masks

    def close(self):
        os.close(self.fd)


class MirrorTestCase(ServeTestCase):
    """A root folder `files/` beside the catalog, and a catalog that lists files in it."""

    def setUp(self):
        super().setUp()
        self.root = self.path("files")
        os.makedirs(self.root)

    def put(self, relative, data):
        """Writes `data` to the file `relative` under root; returns its full path."""
        full = os.path.join(self.root, relative)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)
        return full

    def catalog(self, files, auth="none", storage="", root="files", name="agentdl.toml",
                **server):
        """Writes the catalog `name` listing `files` ({path: channel}), one release
        each (0.1.0, 0.2.0, ... in the order given), for windows/x86_64, with `root`
        on line 14 (column 8) when `storage` is empty; returns its path."""
        releases = []
        for i, (path, channel) in enumerate(files.items(), start=1):
            releases.append(f"""
[[releases]]
version = "0.{i}.0"
channels = ["{channel}"]
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = {json.dumps(path, ensure_ascii=False)}
""")
        if auth == "none":
            auth_table = '[auth]\nmode = "none"\n'
        else:
            auth_table = "[auth]\n"
            for name, token, channels in (("all", ALL_TOKEN, ["*"]),
                                          ("stable-only", STABLE_TOKEN, ["stable"])):
                digest = hashlib.sha256(token.encode()).hexdigest()
                auth_table += (f'[[auth.tokens]]\nname = "{name}"\nsha256 = "{digest}"\n'
                               f"channels = {json.dumps(channels)}\n")
        text = ('[platforms.windows]\narchs = ["x86_64"]\ndefault_arch = "x86_64"\n'
                "[channels.stable]\n[channels.beta]\n"
                + server_section(**server) + (f"[storage]\n{storage}" if storage else "")
                + auth_table + f'[mirror]\nroot = "{root}"\n' + "".join(releases))
        return self.write(name, text, dedent=False)

    def assertFileAnswer(self, response, status, headers, body):
        """Checks the status line, every header but Date, and the body."""
        expected = {"Server": "agentdl"}
        expected.update(headers)
        self.assertEqual((response.status_line, response.header_dict(), response.body),
                         (f"HTTP/1.1 {status}", expected, body), msg=f"\n{response!r}"[:3000])

    def assertError(self, response, status, body, extra=None):
        headers = {"Content-Type": "application/json",
                   "Content-Length": str(len(body.encode()))}
        headers.update(extra or {})
        self.assertFileAnswer(response, status, headers, body.encode())

    def raw(self, daemon, target, headers=(), method="GET"):
        """Sends the request line with `target` as raw bytes; returns the response."""
        with Conn(daemon.port) as conn:
            conn.send(request_bytes(target, method, headers=headers))
            return conn.read_response(head_request=(method == "HEAD"))


class Serving(MirrorTestCase):
    def setUp(self):
        super().setUp()
        self.data = os.urandom(100_000)
        self.file = self.put(WINDOWS_FILE, self.data)
        self.types = {
            "t/agent.pkg": "application/octet-stream",
            "t/agent.exe": "application/vnd.microsoft.portable-executable",
            "t/agent.dmg": "application/x-apple-diskimage",
            "t/agent.zip": "application/zip",
            "t/agent-1.0.tar.gz": "application/gzip",
            "t/agent_1.0_amd64.deb": "application/vnd.debian.binary-package",
            "t/agent-1.0.x86_64.rpm": "application/x-rpm",
            "t/AGENT.MSI": "application/x-msi",
            "t/agent.txt": "application/octet-stream",
        }
        for name in self.types:
            self.put(name, b"x")
        self.daemon = self.start(self.catalog({WINDOWS_FILE: "stable",
                                               **{n: "stable" for n in self.types}}))

    def whole_headers(self, length=None):
        return {
            "Content-Type": "application/x-msi",
            "ETag": etag_of(self.file),
            "Last-Modified": last_modified_of(self.file),
            "Accept-Ranges": "bytes",
            "Content-Disposition": "attachment; filename=\"Agent Setup _.msi\"; "
                                   "filename*=UTF-8''Agent%20Setup%20%C3%A9.msi",
            "Content-Length": str(len(self.data) if length is None else length),
        }

    def test_get_sends_the_file_with_its_headers(self):
        response = self.get(self.daemon, WINDOWS_TARGET, token=None)
        self.assertFileAnswer(response, "200 OK", self.whole_headers(), self.data)

    def test_head_sends_the_head_only(self):
        with Conn(self.daemon.port) as conn:
            response = conn.request(WINDOWS_TARGET, method="HEAD")
            self.assertFileAnswer(response, "200 OK", self.whole_headers(), b"")
            # No body came after the head: the next answer on the connection is whole.
            response = conn.request(WINDOWS_TARGET)
            self.assertFileAnswer(response, "200 OK", self.whole_headers(), self.data)

    def test_content_type_by_extension(self):
        for name, content_type in self.types.items():
            with self.subTest(name=name):
                response = self.get(self.daemon, "/files/" + name, token=None)
                self.assertEqual((response.status, response.header("Content-Type"),
                                  response.header("Content-Disposition")),
                                 (200, content_type,
                                  f'attachment; filename="{os.path.basename(name)}"'))

    def test_if_none_match_answers_304(self):
        etag = etag_of(self.file)
        # No Content-Length: clients built on http_parser would wait for that body.
        not_modified = {"ETag": etag, "Last-Modified": last_modified_of(self.file)}
        for value in (etag, f'"other", {etag}', f"W/{etag}", "*"):
            for method in ("GET", "HEAD"):
                with self.subTest(value=value, method=method), Conn(self.daemon.port) as conn:
                    conn.send(request_bytes(WINDOWS_TARGET, method,
                                            headers=[("If-None-Match", value)]))
                    response = conn.read_response(head_request=True)  # a 304 has no body
                    self.assertFileAnswer(response, "304 Not Modified", not_modified, b"")
                    self.assertEqual(conn.request("/healthz").status, 200)  # nothing left over
        response = self.get(self.daemon, WINDOWS_TARGET, token=None,
                            headers=[("If-None-Match", '"other"')])
        self.assertFileAnswer(response, "200 OK", self.whole_headers(), self.data)

    def test_if_modified_since_answers_304(self):
        modified = os.stat(self.file).st_mtime_ns // 1_000_000_000
        for since, status in ((modified, 304), (modified + 3600, 304), (modified - 1, 200)):
            with self.subTest(since=since), Conn(self.daemon.port) as conn:
                conn.send(request_bytes(WINDOWS_TARGET, headers=[
                    ("If-Modified-Since", email.utils.formatdate(since, usegmt=True))]))
                response = conn.read_response(head_request=(status == 304))
                self.assertEqual((response.status, response.header("ETag")),
                                 (status, etag_of(self.file)))
                self.assertEqual(response.body, b"" if status == 304 else self.data)
        # If-None-Match, when sent, decides alone.
        response = self.get(self.daemon, WINDOWS_TARGET, token=None, headers=[
            ("If-None-Match", '"other"'),
            ("If-Modified-Since", email.utils.formatdate(modified, usegmt=True))])
        self.assertEqual(response.status, 200)

    def test_range(self):
        size = len(self.data)
        for value, first, last in (("bytes=0-99", 0, 99), ("bytes=1000-", 1000, size - 1),
                                   ("bytes=-500", size - 500, size - 1),
                                   ("bytes=99990-200000", 99990, size - 1)):
            with self.subTest(range=value):
                response = self.get(self.daemon, WINDOWS_TARGET, token=None,
                                    headers=[("Range", value)])
                headers = self.whole_headers(last - first + 1)
                headers["Content-Range"] = f"bytes {first}-{last}/{size}"
                headers["Content-Length"] = headers.pop("Content-Length")  # comes last
                self.assertFileAnswer(response, "206 Partial Content", headers,
                                      self.data[first:last + 1])

    def test_range_past_the_end_is_416(self):
        response = self.get(self.daemon, WINDOWS_TARGET, token=None,
                            headers=[("Range", "bytes=100000-")])
        self.assertError(response, "416 Range Not Satisfiable", error_body(
            "range_not_satisfiable",
            'range "bytes=100000-" starts past the end of the file (100000 bytes)',
            {"range": "bytes=100000-", "size": "100000"}),
            {"Content-Range": "bytes */100000"})

    def test_several_or_malformed_ranges_send_the_whole_file(self):
        for value in ("bytes=0-9,20-29", "bytes=0-9, 200000-", "bytes=9-0", "bytes=x-",
                      "lines=0-9"):
            with self.subTest(range=value):
                response = self.get(self.daemon, WINDOWS_TARGET, token=None,
                                    headers=[("Range", value)])
                self.assertFileAnswer(response, "200 OK", self.whole_headers(), self.data)

    def test_if_range(self):
        etag = etag_of(self.file)
        for value, status in ((etag, 206), (last_modified_of(self.file), 206),
                              ('"other"', 200), (f"W/{etag}", 200)):
            with self.subTest(if_range=value):
                response = self.get(self.daemon, WINDOWS_TARGET, token=None,
                                    headers=[("Range", "bytes=0-9"), ("If-Range", value)])
                self.assertEqual(response.status, status)
                self.assertEqual(response.body, self.data[:10] if status == 206 else self.data)

    def test_head_ignores_range(self):
        response = self.get(self.daemon, WINDOWS_TARGET, method="HEAD", token=None,
                            headers=[("Range", "bytes=0-9")])
        self.assertFileAnswer(response, "200 OK", self.whole_headers(), b"")

    def test_keep_alive_across_files_and_routes(self):
        with Conn(self.daemon.port) as conn:
            for _ in range(3):
                self.assertEqual(conn.request(WINDOWS_TARGET).body, self.data)
                self.assertEqual(conn.request("/healthz").status, 200)
                self.assertEqual(conn.request(WINDOWS_TARGET, headers=[("Range", "bytes=-3")])
                                 .body, self.data[-3:])

    def test_unlisted_and_missing_files_are_404(self):
        self.put("t/not-listed.msi", b"on disk, but the catalog does not list it")
        os.remove(os.path.join(self.root, "t/agent.zip"))
        for path in ("t/not-listed.msi", "t/agent.zip", "t/nothing.msi"):
            with self.subTest(path=path):
                response = self.get(self.daemon, "/files/" + path, token=None)
                self.assertError(response, "404 Not Found", error_body(
                    "not_found", f'no file "{path}" in the mirror', {"path": path}))
        response = self.get(self.daemon, "/files/", token=None)
        self.assertError(response, "404 Not Found", error_body(
            "not_found", "no file at /files/ (a folder is not listed)", {"path": ""}))

    def test_access_log_counts_the_bytes_sent(self):
        self.get(self.daemon, WINDOWS_TARGET, token=None, headers=[("Range", "bytes=0-9")])
        self.get(self.daemon, WINDOWS_TARGET, method="HEAD", token=None)
        self.get(self.daemon, WINDOWS_TARGET, token=None)
        deadline = time.monotonic() + 3
        while True:
            lines = [json.loads(line) for line in self.daemon.stdout().splitlines()]
            if len(lines) >= 3 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        # Each line is written when its response is, which may be after the
        # client has read it and sent the next request: sorted, not in order.
        self.assertEqual(sorted((e["method"], e["status"], e["bytes"], e["route"]) for e in lines),
                         [("GET", 200, len(self.data), "files"), ("GET", 206, 10, "files"),
                          ("HEAD", 200, 0, "files")])

    def test_metrics_count_files_and_bytes(self):
        before = self.metrics(self.daemon)
        self.get(self.daemon, WINDOWS_TARGET, token=None)
        self.get(self.daemon, WINDOWS_TARGET, token=None, headers=[("Range", "bytes=0-9")])
        self.get(self.daemon, WINDOWS_TARGET, method="HEAD", token=None)
        with Conn(self.daemon.port) as conn:
            conn.send(request_bytes(WINDOWS_TARGET,
                                    headers=[("If-None-Match", etag_of(self.file))]))
            self.assertEqual(conn.read_response(head_request=True).status, 304)
        keys = {"agentdl_files_served_total": 2,
                "agentdl_file_bytes_sent_total": len(self.data) + 10,
                'agentdl_requests_total{route="files",status="200"}': 2,  # GET and HEAD
                'agentdl_requests_total{route="files",status="206"}': 1,
                'agentdl_requests_total{route="files",status="304"}': 1}
        deadline = time.monotonic() + 3
        while True:
            after = self.metrics(self.daemon)
            moved = {k: after.get(k, 0) - before.get(k, 0) for k in keys}
            if moved == keys or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(moved, keys)


class Access(MirrorTestCase):
    def setUp(self):
        super().setUp()
        self.stable = "1.0.0/windows/x86_64/agent.msi"
        self.beta = "2.0.0-beta.1/windows/x86_64/agent.msi"
        self.put(self.stable, b"stable bytes")
        self.put(self.beta, b"beta bytes")
        self.files = {self.stable: "stable", self.beta: "beta"}

    def test_hmac_links(self):
        daemon = self.start(self.catalog(self.files, auth="none",
                                         storage='signing = "hmac"\nsecret_env = "LINK_SECRET"\n'),
                            env={"LINK_SECRET": SECRET})
        path = "/files/" + self.stable
        future = int(time.time()) + 600
        good = link(path, future)
        response = self.get(daemon, f"{path}?{good}", token=None)
        self.assertEqual((response.status, response.body), (200, b"stable bytes"))

        def refused(target, message):
            response = self.get(daemon, target, token=ALL_TOKEN)
            self.assertError(response, "403 Forbidden",
                             error_body("forbidden", message, {"path": self.stable}))

        refused(path, "the link is not signed (no expires and sig)")
        refused(f"{path}?expires={future}", "the link is not signed (no expires and sig)")
        refused(f"{path}?{good.replace(f'expires={future}', f'expires={future + 1}')}",
                "the link's signature does not match")
        refused(f"{path}?{link(path, future, secret='another-secret')}",
                "the link's signature does not match")
        refused(f"{path}?{link(path, int(time.time()) - 10)}", "the link has expired")
        refused(f"{path}?expires=tomorrow&sig=x", "the link's expires or sig is malformed")
        # A link for one file does not open another.
        response = self.get(daemon, f"/files/{self.beta}?{good}", token=None)
        self.assertError(response, "403 Forbidden", error_body(
            "forbidden", "the link's signature does not match", {"path": self.beta}))

    def test_hmac_redirect_then_file(self):
        # The redirect hands out a signed link to this mirror; following its
        # path and query on this server gets the file.
        daemon = self.start(self.catalog({self.stable: "stable"}, auth="none",
                                         storage='signing = "hmac"\nsecret_env = "LINK_SECRET"\n'),
                            env={"LINK_SECRET": SECRET})
        response = self.get(daemon, "/v2/agent-releases/latest/download?platform=windows",
                            token=None)
        self.assertEqual(response.status, 302)
        location = response.header("Location")
        target = location[location.index("/files/"):]
        self.assertRegex(target, r"^/files/1\.0\.0/windows/x86_64/agent\.msi"
                                 r"\?expires=\d+&sig=[A-Za-z0-9_-]{43}$")
        response = self.get(daemon, target, token=None)
        self.assertEqual((response.status, response.body), (200, b"stable bytes"))

    def test_hmac_link_behind_a_proxy_prefix(self):
        # public_url "https://downloads.example.com/agent mirror" is a proxy that
        # strips "/agent mirror" before the request reaches this server: the
        # link is signed on the path this server sees.
        daemon = self.start(self.catalog({self.stable: "stable"}, auth="none",
                                         storage='signing = "hmac"\nsecret_env = "LINK_SECRET"\n',
                                         public_url="https://downloads.example.com/agent%20mirror/"),
                            env={"LINK_SECRET": SECRET})
        response = self.get(daemon, "/v2/agent-releases/latest/download?platform=windows",
                            token=None)
        self.assertEqual(response.status, 302)
        location = response.header("Location")
        prefix = "https://downloads.example.com/agent%20mirror/files/"
        self.assertTrue(location.startswith(prefix), location)
        response = self.get(daemon, location[len("https://downloads.example.com/agent%20mirror"):],
                            token=None)
        self.assertEqual((response.status, response.body), (200, b"stable bytes"))

    def test_bearer_token(self):
        daemon = self.start(self.catalog(self.files, auth="required"))
        stable, beta = "/files/" + self.stable, "/files/" + self.beta
        response = self.get(daemon, stable, token=None)
        self.assertError(response, "401 Unauthorized",
                         error_body("unauthorized", "Authentication required: send "
                                    "Authorization: Bearer <token>"),
                         {"WWW-Authenticate": 'Bearer realm="agentdl"'})
        response = self.get(daemon, stable, token="wrong")
        self.assertEqual((response.status, response.header("WWW-Authenticate")),
                         (401, 'Bearer realm="agentdl", error="invalid_token"'))
        for token, target, body in ((ALL_TOKEN, stable, b"stable bytes"),
                                    (ALL_TOKEN, beta, b"beta bytes"),
                                    (STABLE_TOKEN, stable, b"stable bytes")):
            with self.subTest(token=token, target=target):
                response = self.get(daemon, target, token=token)
                self.assertEqual((response.status, response.body), (200, body))
        response = self.get(daemon, beta, token=STABLE_TOKEN)
        self.assertError(response, "403 Forbidden", error_body(
            "forbidden", f'this token may not read file "{self.beta}" (release 0.2.0)',
            {"path": self.beta, "version": "0.2.0"}),
            {"WWW-Authenticate": 'Bearer realm="agentdl", error="insufficient_scope"'})

    def test_public_when_auth_is_off(self):
        daemon = self.start(self.catalog(self.files, auth="none"))
        for path, body in ((self.stable, b"stable bytes"), (self.beta, b"beta bytes")):
            response = self.get(daemon, "/files/" + path, token=None)
            self.assertEqual((response.status, response.body), (200, body))

    def test_no_mirror_no_files_route(self):
        self.write("agentdl.toml", '[platforms.windows]\narchs = ["x86_64"]\n'
                   '[channels.stable]\n' + server_section() + '[auth]\nmode = "none"\n',
                   dedent=False)
        daemon = self.start(self.path("agentdl.toml"))
        response = self.get(daemon, "/files/" + self.stable, token=None)
        self.assertError(response, "404 Not Found", error_body("not_found", "no such route"))


class PathSafety(MirrorTestCase):
    """Hostile paths, each sent as raw bytes; a canary beside root is never opened."""

    wrapper = ()

    def setUp(self):
        super().setUp()
        self.canary = self.path("secret.txt")  # beside root: files/../secret.txt
        with open(self.canary, "wb") as f:
            f.write(CANARY)
        self.real = self.put("1.0/real.msi", b"the real file")
        self.put("%2e%2e/odd.msi", b"a folder named %2e%2e")
        os.symlink(self.canary, os.path.join(self.root, "1.0/abs-link-out.msi"))
        os.symlink("../../secret.txt", os.path.join(self.root, "1.0/rel-link-out.msi"))
        os.symlink("/dev/null", os.path.join(self.root, "1.0/dev-null.msi"))
        os.symlink("real.msi", os.path.join(self.root, "1.0/link-in.msi"))
        os.symlink("1.0", os.path.join(self.root, "latest"))
        os.makedirs(os.path.join(self.root, "1.0/folder.msi"))
        os.mkfifo(os.path.join(self.root, "1.0/fifo.msi"))
        self.listed = ["1.0/real.msi", "%2e%2e/odd.msi", "1.0/abs-link-out.msi",
                       "1.0/rel-link-out.msi", "1.0/dev-null.msi", "1.0/link-in.msi",
                       "latest/real.msi", "1.0/folder.msi", "1.0/fifo.msi", "1.0/device.msi",
                       "../secret.txt"]
        if os.geteuid() == 0:
            os.mknod(os.path.join(self.root, "1.0/device.msi"), stat.S_IFCHR | 0o600,
                     os.makedev(1, 3))
        config = self.catalog({path: "stable" for path in self.listed if ".." not in path})
        self.daemon = self.start(config, **self.start_options())

    def start_options(self):
        return {}

    def bad_path(self, target, message):
        raw_path = target[len("/files/"):]
        response = self.raw(self.daemon, target)
        self.assertError(response, "400 Bad Request", error_body(
            "bad_request", f'file path "{raw_path}" {message}', {"path": raw_path}))

    def test_dot_dot(self):
        self.bad_path("/files/../secret.txt", 'has a ".." segment')
        self.bad_path("/files/1.0/../../secret.txt", 'has a ".." segment')

    def test_encoded_dot_dot(self):
        self.bad_path("/files/%2e%2e/secret.txt", 'has a ".." segment')
        self.bad_path("/files/1.0/%2E%2E/%2e%2e/secret.txt", 'has a ".." segment')
        self.bad_path("/files/1.0/.%2e/.%2e/secret.txt", 'has a ".." segment')
        self.bad_path("/files/./1.0/real.msi", 'has a "." segment')

    def test_encoded_slash(self):
        self.bad_path("/files/..%2Fsecret.txt", "has an encoded '/' (%2F)")
        self.bad_path("/files/1.0%2freal.msi", "has an encoded '/' (%2F)")

    def test_encoded_backslash(self):
        self.bad_path("/files/..%5Csecret.txt", "has an encoded backslash (%5C)")

    def test_nul(self):
        self.bad_path("/files/1.0/real.msi%00.txt", "contains a control character")

    def test_double_encoding_is_a_name(self):
        # %252e%252e decodes once, to the name "%2e%2e": a folder of that name.
        response = self.raw(self.daemon, "/files/%252e%252e/odd.msi")
        self.assertEqual((response.status, response.body), (200, b"a folder named %2e%2e"))
        response = self.raw(self.daemon, "/files/%252e%252e/secret.txt")
        self.assertEqual(response.status, 404)

    def test_backslash(self):
        # Not a character of a URL path: the target itself is malformed.
        response = self.raw(self.daemon, "/files/..\\secret.txt")
        self.assertError(response, "400 Bad Request",
                         error_body("bad_request", "malformed request target"))

    def test_absolute_path(self):
        self.bad_path("/files//etc/passwd", "must be relative (no leading '/')")
        self.bad_path("/files/%2Fetc/passwd", "has an encoded '/' (%2F)")
        self.bad_path("/files/1.0//real.msi", "has an empty segment")

    def test_symbolic_link_out_of_root_is_403(self):
        for name in ("abs-link-out.msi", "rel-link-out.msi", "dev-null.msi"):
            with self.subTest(name=name):
                response = self.raw(self.daemon, f"/files/1.0/{name}")
                self.assertError(response, "403 Forbidden", error_body(
                    "forbidden", f'file "1.0/{name}" is a symbolic link that leads out of the '
                    f"mirror", {"path": f"1.0/{name}"}))

    def test_symbolic_link_inside_root_is_followed(self):
        # Links that stay inside root are served (openat2 checks every step).
        for target in ("/files/1.0/link-in.msi", "/files/latest/real.msi"):
            with self.subTest(target=target):
                response = self.raw(self.daemon, target)
                self.assertEqual((response.status, response.body), (200, b"the real file"))

    def not_a_file(self, relative):
        started = time.monotonic()
        response = self.raw(self.daemon, "/files/" + relative)
        self.assertError(response, "404 Not Found", error_body(
            "not_found", f'no file "{relative}" in the mirror', {"path": relative}))
        self.assertLess(time.monotonic() - started, 3)  # never waits on the file
        self.assertEqual(self.raw(self.daemon, "/files/1.0/real.msi").status, 200)

    def test_folder_is_404(self):
        self.not_a_file("1.0/folder.msi")

    def test_fifo_is_404_and_does_not_hang(self):
        self.not_a_file("1.0/fifo.msi")

    def test_device_is_404(self):
        if os.geteuid() != 0:
            self.skipTest("making a device node needs root")
        self.not_a_file("1.0/device.msi")

    def test_nothing_outside_root_is_opened(self):
        watch = Inotify(self.canary)
        self.addCleanup(watch.close)
        targets = ["/files/../secret.txt", "/files/%2e%2e/secret.txt", "/files/..%2Fsecret.txt",
                   "/files/..%5Csecret.txt", "/files/%252e%252e/secret.txt",
                   "/files/..\\secret.txt", "/files//" + self.canary.lstrip("/"),
                   "/files/%2F" + self.canary.lstrip("/").replace("/", "%2F"),
                   "/files/1.0/abs-link-out.msi", "/files/1.0/rel-link-out.msi",
                   "/files/1.0/%2e%2e/%2e%2e/secret.txt", "/files/1.0/real.msi%00/../../secret.txt"]
        for target in targets:
            with self.subTest(target=target):
                response = self.raw(self.daemon, target)
                self.assertIn(response.status, (400, 403, 404))
                self.assertNotIn(b"CANARY", response.head + response.body)
        self.assertEqual(watch.events(wait=0.2), [], msg="the daemon opened the canary")
        # The watch works: a read of the canary is seen.
        with open(self.canary, "rb") as f:
            f.read()
        self.assertNotEqual(watch.events(wait=1.0), [])


@unittest.skipUnless(shutil.which("strace"), "strace is not installed (it stands in for a "
                                               "kernel without openat2)")
class PathSafetyWithoutOpenat2(PathSafety):
    """The same paths on a daemon whose openat2 answers ENOSYS (strace injects it), as
    on a kernel before 5.6: it opens one component at a time and follows no link."""

    def start_options(self):
        return {
            "wrapper": ["strace", "-f", "-qq", "--seccomp-bpf", "-o", "/dev/null",
                        "-e", "trace=openat2", "-e", "inject=openat2:error=ENOSYS"],
            # LeakSanitizer cannot stop the world under ptrace.
            "env": {"ASAN_OPTIONS": "detect_leaks=0"},
        }

    def start(self, config, **options):
        daemon = super().start(config, **options)
        strace = daemon.proc.pid
        with open(f"/proc/{strace}/task/{strace}/children") as f:
            child = int(f.read().split()[0])

        def stop():
            # SIGTERM to strace would leave the daemon running: stop the daemon itself.
            if daemon.proc.poll() is None:
                os.kill(child, signal.SIGTERM)
                code, _ = daemon.wait(10)
                self.assertEqual(code, 0, msg=daemon.stderr()[-4000:])

        self.addCleanup(stop)
        return daemon

    def test_symbolic_link_inside_root_is_followed(self):
        # Without openat2 no link is followed, not even one that stays inside.
        for target in ("1.0/link-in.msi", "latest/real.msi"):
            with self.subTest(target=target):
                response = self.raw(self.daemon, "/files/" + target)
                self.assertError(response, "403 Forbidden", error_body(
                    "forbidden", f'file "{target}" is a symbolic link that leads out of the '
                    f"mirror", {"path": target}))


class LargeFiles(MirrorTestCase):
    SIZE = 64 * 1024 * 1024

    def setUp(self):
        super().setUp()
        block = os.urandom(1024 * 1024)
        digest = hashlib.sha256()
        with open(os.path.join(self.root, "big.bin"), "wb") as f:
            for i in range(self.SIZE // len(block)):
                chunk = bytes([i % 256]) + block[1:]
                f.write(chunk)
                digest.update(chunk)
        self.sha256 = digest.hexdigest()
        self.put("small.msi", b"small")
        self.daemon = self.start(self.catalog({"big.bin": "stable", "small.msi": "stable"},
                                              idle_timeout="2s"))

    def download(self, headers=()):
        """Returns (response, sha256 of the body, bytes received)."""
        with Conn(self.daemon.port, timeout=60) as conn:
            conn.send(request_bytes("/files/big.bin", headers=headers))
            response = conn.read_response(head_request=True)
            digest = hashlib.sha256()
            got = read_body(conn, int(response.header("Content-Length")), digest)
            return response, digest.hexdigest(), got

    def test_a_large_file_arrives_whole(self):
        response, sha256, got = self.download()
        self.assertEqual((response.status, response.header("Content-Length"), got, sha256),
                         (200, str(self.SIZE), self.SIZE, self.sha256))

    def test_a_range_of_a_large_file(self):
        with open(os.path.join(self.root, "big.bin"), "rb") as f:
            f.seek(10_000_000)
            expected = hashlib.sha256(f.read(30_000_001)).hexdigest()
        response, sha256, got = self.download([("Range", "bytes=10000000-40000000")])
        self.assertEqual((response.status, response.header("Content-Range"), got, sha256),
                         (206, f"bytes 10000000-40000000/{self.SIZE}", 30_000_001, expected))

    def test_a_stalled_reader_is_cut_off_while_others_are_served(self):
        slow = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(slow.close)
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        slow.connect(("127.0.0.1", self.daemon.port))
        slow.sendall(request_bytes("/files/big.bin"))
        started = time.monotonic()
        # Others are served meanwhile, the large file too.
        for _ in range(3):
            response = self.get(self.daemon, "/files/small.msi", token=None)
            self.assertEqual((response.status, response.body), (200, b"small"))
        _, sha256, got = self.download()
        self.assertEqual((got, sha256), (self.SIZE, self.sha256))
        # The stalled reader: cut off after idle_timeout (2 s) without progress.
        time.sleep(max(0.0, started + 4 - time.monotonic()))
        slow.settimeout(10)
        received = 0
        while True:
            try:
                chunk = slow.recv(1 << 20)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += len(chunk)
        self.assertLess(received, self.SIZE)
        deadline = time.monotonic() + 3
        while True:
            lines = [json.loads(line) for line in self.daemon.stdout().splitlines()]
            cut = [e for e in lines if e["target"] == "/files/big.bin" and e["bytes"] < self.SIZE]
            if cut or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual([(e["status"], e["bytes"] > 0) for e in cut], [(200, True)])
        metrics = self.metrics(self.daemon)
        self.assertEqual(metrics["agentdl_files_served_total"], 4)  # three small, one big
        self.assertEqual(metrics["agentdl_file_bytes_sent_total"],
                         3 * len(b"small") + self.SIZE + cut[0]["bytes"])

    def test_a_slow_reader_that_keeps_reading_is_not_cut_off(self):
        # About 640 KB/s for 5 s, over twice idle_timeout, behind megabytes of
        # socket buffers: the sender must see that progress, not only the
        # buffers' draining. Then the rest at full speed: all of it arrives.
        with Conn(self.daemon.port, timeout=60) as conn:
            conn.send(request_bytes("/files/big.bin"))
            self.assertEqual(conn.read_response(head_request=True).status, 200)
            digest = hashlib.sha256()
            got = 0
            stop = time.monotonic() + 5
            while time.monotonic() < stop and got % (64 * 1024) == 0:
                got += read_body(conn, 64 * 1024, digest)
                time.sleep(0.1)
            got += read_body(conn, self.SIZE - got, digest)
        self.assertEqual((got, digest.hexdigest()), (self.SIZE, self.sha256))

    def test_a_file_replaced_during_a_download_keeps_its_bytes(self):
        path = os.path.join(self.root, "big.bin")
        with Conn(self.daemon.port, timeout=60) as conn:
            conn.send(request_bytes("/files/big.bin"))
            response = conn.read_response(head_request=True)
            digest = hashlib.sha256()
            got = read_body(conn, 1024 * 1024, digest)
            # Replaced as a sync does it: written beside, then renamed over.
            with open(path + ".part", "wb") as f:
                f.write(b"\0" * self.SIZE)
            os.rename(path + ".part", path)
            got += read_body(conn, self.SIZE - got, digest)
        self.assertEqual((response.status, got, digest.hexdigest()),
                         (200, self.SIZE, self.sha256))
        # The next download is the new file, with a new ETag.
        response, sha256, _ = self.download()
        self.assertEqual((sha256, response.header("ETag")),
                         (hashlib.sha256(b"\0" * self.SIZE).hexdigest(), etag_of(path)))


class Root(MirrorTestCase):
    def test_root_is_taken_from_the_catalog_folder(self):
        # As a synced mirror has it: root = "." in DIR/agentdl.toml, whatever
        # folder the daemon runs in (this test's folder, which has no a.msi).
        self.catalog({"a.msi": "stable"}, root=".", name="mirror/agentdl.toml")
        self.write("mirror/a.msi", "from the catalog's folder")
        daemon = self.start("mirror/agentdl.toml")
        response = self.get(daemon, "/files/a.msi", token=None)
        self.assertEqual((response.status, response.body), (200, b"from the catalog's folder"))

    def test_a_missing_root_stops_the_start(self):
        config = self.catalog({"a.msi": "stable"}, root="missing")
        expected = (f"agentdl-serve: error: {config}:14:8: cannot open mirror root \"missing\" "
                    f"({self.path('missing')}): No such file or directory\n")
        for args in ((), ("--check",)):
            with self.subTest(args=args):
                result = self.run_serve("--config", config, *args)
                self.assertEqual((result.returncode, result.stdout, result.stderr.decode()),
                                 (7, b"", expected))

    def test_a_root_that_is_a_file_stops_the_start(self):
        config = self.catalog({"a.msi": "stable"}, root="agentdl.toml")
        result = self.run_serve("--config", config)
        self.assertEqual((result.returncode, result.stderr.decode()),
                         (7, f"agentdl-serve: error: {config}:14:8: cannot open mirror root "
                             f"\"agentdl.toml\" ({config}): Not a directory\n"))

    def test_reload_with_a_missing_root_keeps_the_old_catalog(self):
        self.put("a.msi", b"old root")
        config = self.catalog({"a.msi": "stable"})
        daemon = self.start(config)
        self.catalog({"a.msi": "stable", "b.msi": "stable"}, root="gone")
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_stderr("reload failed")
        self.assertIn(f"agentdl-serve: reload failed, still serving the previous catalog: "
                      f"{config}:14:8: cannot open mirror root \"gone\" ({self.path('gone')}): "
                      f"No such file or directory\n", daemon.stderr())
        response = self.get(daemon, "/files/a.msi", token=None)
        self.assertEqual((response.status, response.body), (200, b"old root"))
        # A reload to an existing root moves the mirror there.
        os.makedirs(self.path("gone"))
        with open(self.path("gone/b.msi"), "wb") as f:
            f.write(b"new root")
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_stderr("reloaded the catalog")
        response = self.get(daemon, "/files/b.msi", token=None)
        self.assertEqual((response.status, response.body), (200, b"new root"))
        self.assertEqual(self.get(daemon, "/files/a.msi", token=None).status, 404)


if __name__ == "__main__":
    runner.main()
