"""File servers for the black-box tests of `agentdl download` and remote mode.

Two kinds, both bound to 127.0.0.1 on an ephemeral port, both started per test
and stopped by the test's cleanup:

- `start_nginx(test, root)`: the real nginx (Debian's /usr/sbin/nginx) serving
  the files under `root` as static files (Range requests included), with its
  config, pid, logs and temp folders in a private folder, in the foreground, one
  process, as the current user. `Nginx.requests()` parses its access log.
  With `secure_link=SECRET` it serves only links signed for
  ngx_http_secure_link_module (`secure_link_query` makes them): 403 for a
  missing or bad md5, 410 for an expired link.

- `start_s3rver(test, bucket, access_key_id, secret_access_key)`: s3rver, an
  S3-compatible server on node that checks SigV4 signatures of presigned URLs
  (path-style only), with one bucket and one key pair; objects are put by
  writing files. The test is skipped when node (>= 20) or s3rver is missing.

- `start_fault_server(test)`: a Python HTTP/1.1 server that serves payloads
  registered per path and can be told, request by request, to misbehave:
  drop the connection after K bytes, ignore Range, answer a range other than
  the one asked for, answer a given status with an HTML body, redirect, corrupt
  a byte, trickle slowly (optionally under a false Content-Length), send no
  Content-Length, or answer anything at all.
  It records every request (method, target, Range and Authorization headers) so
  that a test can assert what the client asked for (e.g. a resume's `bytes=K-`).
"""

import base64
import hashlib
import http.server
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse

from serve import stop_process  # noqa: E402

NGINX = "/usr/sbin/nginx"


def free_port():
    """Returns a TCP port that was free on 127.0.0.1 a moment ago (bind port 0, release)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port():
    """Returns a port on 127.0.0.1 on which nothing listens (connections are refused)."""
    return free_port()


# ----------------------------------------------------------------------------- nginx

_NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{
    worker_connections 128;
}}
http {{
    log_format agentdl_test '$request_method $request_uri $status "$http_range" "$http_authorization"';
    access_log {prefix}/access.log agentdl_test;
    client_body_temp_path {prefix}/tmp/client_body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    default_type application/octet-stream;
    sendfile on;
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        root {root};
        location / {{{location}
        }}
    }}
}}
"""

# The location's directives with `start_nginx(secure_link=SECRET)`: nginx's own
# check of `md5` and `expires` (ngx_http_secure_link_module), as CONTRACT
# section 5 says a signing = "nginx-secure-link" site configures it.
_SECURE_LINK = """
            secure_link $arg_md5,$arg_expires;
            secure_link_md5 "$secure_link_expires$uri {secret}";
            if ($secure_link = "") {{
                return 403;
            }}
            if ($secure_link = "0") {{
                return 410;
            }}"""


def secure_link_query(decoded_path, secret, expires):
    """Returns the query `md5=...&expires=...` that nginx's secure_link accepts for
    `decoded_path` (the URL path after percent-decoding, nginx's $uri) until the
    unix time `expires`: md5 is the unpadded base64url MD5 of
    "{expires}{decoded_path} {secret}" (CONTRACT section 5)."""
    text = f"{expires}{decoded_path} {secret}".encode("utf-8")
    md5 = base64.urlsafe_b64encode(hashlib.md5(text).digest()).decode("ascii").rstrip("=")
    return f"md5={md5}&expires={expires}"

_ACCESS = re.compile(r'^(\S+) (\S+) (\d+) "([^"]*)" "([^"]*)"$')


class Request:
    """One request as a server saw it."""

    def __init__(self, method, target, range_header, authorization, status=None):
        self.method = method
        self.target = target          # path and query, as sent
        self.range = range_header     # the Range header, or None
        self.authorization = authorization
        self.status = status          # the status answered (nginx only)

    @property
    def path(self):
        return urllib.parse.urlsplit(self.target).path

    @property
    def query(self):
        """The query as {name: [values]}."""
        return urllib.parse.parse_qs(urllib.parse.urlsplit(self.target).query,
                                     keep_blank_values=True)

    def __repr__(self):
        return (f"<{self.method} {self.target} Range={self.range!r} "
                f"Authorization={self.authorization!r} status={self.status!r}>")


class Nginx:
    def __init__(self, proc, prefix, port, root):
        self.proc = proc
        self.prefix = prefix
        self.port = port
        self.root = root

    @property
    def url(self):
        """The base URL, with a trailing slash."""
        return f"http://127.0.0.1:{self.port}/"

    def error_log(self):
        try:
            with open(os.path.join(self.prefix, "error.log"), encoding="utf-8",
                      errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def requests(self):
        """Every request in the access log, oldest first."""
        try:
            with open(os.path.join(self.prefix, "access.log"), encoding="utf-8",
                      errors="replace") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            m = _ACCESS.match(line)
            if not m:
                continue
            method, target, status, rng, auth = m.groups()
            out.append(Request(method, target, None if rng == "-" else rng,
                               None if auth == "-" else auth, int(status)))
        return out

    def stop(self):
        stop_process(self.proc)


def start_nginx(test, root, prefix=None, attempts=5, secure_link=None):
    """Starts nginx serving `root` on 127.0.0.1:<ephemeral>; stopped in test's cleanup.

    With `secure_link` (a secret), a file is served only through a link made
    by `secure_link_query` with that secret: 403 when md5 or expires is
    missing or md5 is wrong, 410 when the link has expired.
    """
    location = ""
    if secure_link is not None:
        if re.search(r'["\\$\x00-\x1f]', secure_link):
            raise ValueError(f"secret {secure_link!r} cannot be written in nginx.conf as is")
        location = _SECURE_LINK.format(secret=secure_link)
    if prefix is None:
        prefix = os.path.join(test.tmp, "nginx")
    for sub in ("", "tmp", "logs"):
        os.makedirs(os.path.join(prefix, sub), exist_ok=True)
    conf = os.path.join(prefix, "nginx.conf")
    errlog = os.path.join(prefix, "error.log")
    last_error = ""
    for _ in range(attempts):
        port = free_port()
        with open(conf, "w", encoding="utf-8") as f:
            f.write(_NGINX_CONF.format(prefix=prefix, port=port, root=os.path.abspath(root),
                                       location=location))
        if os.path.exists(errlog):
            os.remove(errlog)
        out = open(os.path.join(prefix, "stdout+stderr"), "ab")
        try:
            proc = subprocess.Popen([NGINX, "-p", prefix, "-c", conf, "-e", errlog],
                                    cwd=prefix, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT)
        finally:
            out.close()
        server = Nginx(proc, prefix, port, root)
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                last_error = server.error_log()
                break
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    pass
            except OSError:
                if time.monotonic() > deadline:
                    server.stop()
                    test.fail(f"nginx is not listening after 10 s:\n{server.error_log()}")
                time.sleep(0.02)
                continue
            test.addCleanup(server.stop)
            return server
        if "Address already in use" not in last_error:
            test.fail(f"nginx exited with {proc.returncode}:\n{last_error}")
    test.fail(f"nginx could not bind a port in {attempts} attempts:\n{last_error}")


# --------------------------------------------------------------------------- s3rver

# The installed @20minutes/s3rver: AGENTDL_S3RVER (tests/blackbox/CMakeLists.txt
# sets it), else where scripts/npm_tools.sh installs it in the source tree.
S3RVER_PACKAGE = os.environ.get("AGENTDL_S3RVER") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build-deps", "s3rver",
    "node_modules", "@20minutes", "s3rver")
_S3RVER_JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "s3rver.js")
_S3RVER_NODE_MAJOR = 20  # the package's engines: node >= 20


def s3rver_missing():
    """Returns why s3rver cannot run here (for a skip), or None when it can."""
    node = shutil.which("node")
    if node is None:
        return "node is not installed (scripts/deps.sh installs it)"
    version = subprocess.run([node, "--version"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True).stdout.strip()
    m = re.match(r"^v(\d+)\.", version)
    if not m or int(m.group(1)) < _S3RVER_NODE_MAJOR:
        return f"s3rver needs node >= {_S3RVER_NODE_MAJOR}, this one is {version or '?'}"
    if not os.path.isfile(os.path.join(S3RVER_PACKAGE, "lib", "s3rver.js")):
        return (f"s3rver is not installed in {os.path.normpath(S3RVER_PACKAGE)} "
                "(scripts/npm_tools.sh installs it)")
    return None


class S3rver:
    def __init__(self, proc, directory, port, bucket, log):
        self.proc = proc
        self.log = log  # the file s3rver.js's stdout and stderr go to
        self.directory = directory  # DATA_DIR: an object is DATA_DIR/BUCKET/KEY._S3rver_object
        self.port = port
        self.bucket = bucket

    @property
    def endpoint(self):
        """The endpoint URL, without a trailing slash (botocore's endpoint_url)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def bucket_url(self):
        """The path-style URL of the bucket, with a trailing slash (a `base_url`)."""
        return f"{self.endpoint}/{self.bucket}/"

    def put(self, key, data):
        """Stores the object `key` (bytes `data`) in the bucket."""
        *dirs, name = key.split("/")
        folder = os.path.join(self.directory, self.bucket, *dirs)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, name + "._S3rver_object"), "wb") as f:
            f.write(data)

    def output(self):
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self):
        return stop_process(self.proc)


def start_s3rver(test, bucket, access_key_id, secret_access_key):
    """Starts s3rver on 127.0.0.1:<ephemeral> with `bucket` and one key pair;
    stopped in test's cleanup. Skips the test when it cannot run here."""
    why = s3rver_missing()
    if why is not None:
        test.skipTest(why)
    prefix = os.path.join(test.tmp, "s3rver")
    directory = os.path.join(prefix, "data")
    os.makedirs(directory, exist_ok=True)
    out_path = os.path.join(prefix, "s3rver.out")
    env = dict(os.environ, S3RVER_SECRET_ACCESS_KEY=secret_access_key)
    with open(out_path, "wb") as out:
        proc = subprocess.Popen(["node", _S3RVER_JS, S3RVER_PACKAGE, directory, bucket,
                                 access_key_id],
                                cwd=prefix, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT)
    server = S3rver(proc, directory, None, bucket, out_path)
    test.addCleanup(server.stop)
    deadline = time.monotonic() + 20
    while True:
        m = re.search(r"^port (\d+)$", server.output(), re.M)
        if m:
            server.port = int(m.group(1))
            return server
        if proc.poll() is not None:
            test.fail(f"s3rver exited with {proc.returncode}:\n{server.output()}")
        if time.monotonic() > deadline:
            test.fail(f"s3rver is not listening after 20 s:\n{server.output()}")
        time.sleep(0.05)


# ------------------------------------------------------------------- fault server

class Action:
    """What the fault server does with one request; see the subclasses."""


class Serve(Action):
    """Serves the payload, honouring a single Range (206 + Content-Range, 416)."""
    honour_range = True

    def body(self, payload):
        return payload


class IgnoreRange(Serve):
    """Answers 200 with the whole payload whatever the Range header says."""
    honour_range = False


class Corrupt(Serve):
    """Serves the payload with one byte flipped (see `corrupted`), Range honoured."""

    def body(self, payload):
        return corrupted(payload)


class Drop(Serve):
    """Sends the headers with the full Content-Length, then `after` bytes, then closes."""

    def __init__(self, after):
        self.after = after


class Unsized(Serve):
    """Answers 200 with the payload but no Content-Length: the body ends when the
    connection closes (Range ignored)."""
    honour_range = False


class Trickle(Serve):
    """Serves slowly: `chunk` bytes, then a pause of `delay` seconds, and so on.

    With `length`, it lies about the size: it sends `Content-Length: length`
    and pads the body with zero bytes up to it."""

    def __init__(self, chunk, delay, length=None):
        self.chunk = chunk
        self.delay = delay
        self.length = length
        self.sent = 0  # body bytes written so far (by every request this action served)


class WrongRange(Serve):
    """Answers 206 with `Content-Range: bytes FIRST-LAST/SIZE` and the payload from
    byte `first`, whatever the Range header asks for, and also without one."""

    def __init__(self, first):
        self.first = first


class Status(Action):
    """Answers `status` with an HTML body (not a JSON error)."""

    def __init__(self, status, body=None, headers=()):
        self.status = status
        self.body = body
        self.headers = list(headers)


class Redirect(Action):
    """Answers `status` (302) with `Location: location`."""

    def __init__(self, location, status=302):
        self.location = location
        self.status = status


class Respond(Action):
    """Answers exactly this status, these headers and this body (bytes or str)."""

    def __init__(self, status, headers=(), body=b"", reason=None):
        self.status = status
        self.headers = list(headers)
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.reason = reason


def corrupted(payload):
    """`payload` with the byte in its middle flipped (what Corrupt serves)."""
    if not payload:
        return payload
    i = len(payload) // 2
    return payload[:i] + bytes([payload[i] ^ 0xFF]) + payload[i + 1:]


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _parse_range(header, size):
    """Returns (start, end inclusive), "unsatisfiable", or None (no usable range)."""
    if header is None:
        return None
    m = _RANGE.match(header.strip())
    if not m or (m.group(1) == "" and m.group(2) == ""):
        return None
    first, last = m.group(1), m.group(2)
    if first == "":
        n = int(last)
        if n == 0:
            return "unsatisfiable"
        return (max(0, size - n), size - 1)
    start = int(first)
    if start >= size:
        return "unsatisfiable"
    end = size - 1 if last == "" else min(int(last), size - 1)
    if end < start:
        return None
    return (start, end)


class _Route:
    def __init__(self, payload, actions, default):
        self.payload = payload
        self.actions = list(actions)
        self.default = default


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "faultserver"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002 - silence the default stderr log
        pass

    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            pass  # the client went away: agentdl stops a transfer it refuses

    def do_HEAD(self):
        self._handle(head=True)

    def do_GET(self):
        self._handle(head=False)

    def _handle(self, head):
        fault = self.server.fault
        path = urllib.parse.urlsplit(self.path).path
        fault._record(Request(self.command, self.path, self.headers.get("Range"),
                              self.headers.get("Authorization")))
        action, payload = fault._next(path)
        try:
            if action is None:
                self._simple(404, "text/html", b"<html><body>404 Not Found</body></html>\n",
                             head)
            elif isinstance(action, Status):
                body = action.body
                if body is None:
                    reason = self.responses.get(action.status, ("",))[0]
                    body = f"<html><body><h1>{action.status} {reason}</h1></body></html>\n"
                if isinstance(body, str):
                    body = body.encode("utf-8")
                self._simple(action.status, "text/html", body, head, action.headers)
            elif isinstance(action, Redirect):
                self._simple(action.status, "text/html", b"", head,
                             [("Location", action.location)])
            elif isinstance(action, Respond):
                self.send_response(action.status, action.reason)
                names = {n.lower() for n, _ in action.headers}
                for name, value in action.headers:
                    self.send_header(name, value)
                if "content-length" not in names:
                    self.send_header("Content-Length", str(len(action.body)))
                self.end_headers()
                if not head:
                    self.wfile.write(action.body)
            else:
                self._serve(action, payload, head)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True

    def _simple(self, status, content_type, body, head, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _serve(self, action, payload, head):
        data = action.body(payload)
        size = len(data)
        rng = _parse_range(self.headers.get("Range"), size) if action.honour_range else None
        if rng == "unsatisfiable":
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Type", "text/html")
            body = b"<html><body>416 Range Not Satisfiable</body></html>\n"
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)
            return
        if isinstance(action, WrongRange):
            rng = (action.first, size - 1)
        if rng is None:
            self.send_response(200)
            part = data
        else:
            start, end = rng
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            part = data[start:end + 1]
        self.send_header("Content-Type", "application/octet-stream")
        if isinstance(action, Unsized):
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            if not head:
                self.wfile.write(part)
            return
        length = len(part)
        if isinstance(action, Trickle) and action.length is not None:
            length = action.length
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if head:
            return
        if isinstance(action, Drop):
            self.wfile.write(part[:action.after])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        elif isinstance(action, Trickle):
            for i in range(0, length, action.chunk):
                n = min(action.chunk, length - i)
                chunk = part[i:i + n]
                chunk += bytes(n - len(chunk))  # zeros past the payload
                self.wfile.write(chunk)
                self.wfile.flush()
                action.sent += len(chunk)
                if i + action.chunk < length:
                    if self.server.fault._stopping.wait(action.delay):
                        self.close_connection = True
                        return
        else:
            self.wfile.write(part)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False


class FaultServer:
    """A scriptable HTTP server on 127.0.0.1:<ephemeral> (see the module's docstring)."""

    def __init__(self, tls_context=None):
        self._lock = threading.Lock()
        self._routes = {}
        self._requests = []
        self._stopping = threading.Event()
        self.scheme = "https" if tls_context else "http"
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        if tls_context:
            self.httpd.socket = tls_context.wrap_socket(self.httpd.socket, server_side=True)
        self.httpd.fault = self
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def base(self):
        """The base URL, with a trailing slash."""
        return f"{self.scheme}://127.0.0.1:{self.port}/"

    def url(self, path):
        """The absolute URL of `path` (which starts with '/')."""
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def route(self, path, payload=b"", actions=(), default=None):
        """Registers `path` (the URL path, percent-encoded as sent, no query).

        Each request to `path` takes the next action of `actions`; once they are
        used up, every request gets `default` (Serve() when None).
        """
        with self._lock:
            self._routes[path] = _Route(payload, actions, default or Serve())

    def plan(self, path, *actions):
        """Appends actions for the next requests to an existing route."""
        with self._lock:
            self._routes[path].actions.extend(actions)

    def requests(self, path=None):
        """The requests recorded so far (to `path` only, when given), oldest first."""
        with self._lock:
            return [r for r in self._requests if path is None or r.path == path]

    def clear(self):
        with self._lock:
            self._requests.clear()

    def _record(self, request):
        with self._lock:
            self._requests.append(request)

    def _next(self, path):
        with self._lock:
            route = self._routes.get(path)
            if route is None:
                return None, b""
            action = route.actions.pop(0) if route.actions else route.default
            return action, route.payload

    def stop(self):
        self._stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)


def start_fault_server(test, tls_context=None):
    """Starts a FaultServer (HTTPS with `tls_context`); stopped in test's cleanup."""
    server = FaultServer(tls_context)
    test.addCleanup(server.stop)
    return server
