"""Shared helpers for the black-box tests of the `agentdl-serve` daemon.

Each test starts the real daemon on a catalog it writes into a temporary
folder, with `listen = ["127.0.0.1:0"]` (an ephemeral port), learns the port
from the daemon's `listening on` lines on stderr, and talks to it over raw
sockets so that status lines, headers and bodies can be compared byte for byte.

The daemon's stdout and stderr go to files in the temporary folder (never to
pipes, which a chatty daemon could fill), and every daemon a test starts is
stopped by the test's cleanup: SIGTERM, then SIGKILL if it does not exit.
"""

import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

try:
    AGENTDL_SERVE = os.environ["AGENTDL_SERVE"]
    SOURCE_DIR = os.environ["AGENTDL_SOURCE_DIR"]
except KeyError as missing:
    sys.exit(f"environment variable {missing} is not set (run these tests through ctest)")

DEMO = os.path.join(SOURCE_DIR, "agentdl.toml")
DEMO_TOKEN = "demo-token-do-not-use-in-production"
BASE = "https://downloads.example.com/agent/"

# Short timeouts, so that the tests that wait for them stay quick.
DEFAULT_SERVER = {
    "listen": ["127.0.0.1:0"],
    "header_timeout": "2s",
    "idle_timeout": "3s",
    "drain_timeout": "3s",
}

# The variables that steer which catalog agentdl-serve uses.
_STEERING_VARS = ("AGENTDL_CONFIG", "AGENTDL_SERVER", "AGENTDL_TOKEN", "XDG_CONFIG_HOME")

_LISTENING = re.compile(r"^agentdl-serve: listening on (\S+)$", re.M)


def sha256_hex(token):
    """Returns the hex SHA-256 of `token`, as [[auth.tokens]] sha256 wants it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def server_section(**settings):
    """Returns a `[server]` table: DEFAULT_SERVER updated with `settings`."""
    values = dict(DEFAULT_SERVER)
    values.update(settings)
    lines = ["[server]"]
    for key, value in values.items():
        if value is not None:
            lines.append(f"{key} = {toml_value(value)}")
    return "\n".join(lines) + "\n"


def demo_catalog(**settings):
    """Returns the demo catalog's text with its [server] table replaced by `server_section`."""
    with open(DEMO, encoding="utf-8") as f:
        text = f.read()
    old = ('[server]\nlisten = ["127.0.0.1:8080"]\napi_prefix = "/v2"\n'
           'public_url = "http://127.0.0.1:8080"\n')
    if old not in text:
        raise RuntimeError("the demo catalog's [server] table is not the expected one")
    return text.replace(old, server_section(**settings))


def stop_process(proc):
    """Stops `proc`: SIGTERM, then SIGKILL after 5 s. Returns its exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class Response:
    """One HTTP response as it came over the wire."""

    def __init__(self, head, body):
        self.head = head  # the raw bytes of the status line and headers, with the blank line
        self.body = body  # bytes
        lines = head.decode("latin-1").split("\r\n")
        self.status_line = lines[0]
        parts = self.status_line.split(" ", 2)
        self.version = parts[0]
        self.status = int(parts[1])
        self.reason = parts[2] if len(parts) > 2 else ""
        self.headers = []
        for line in lines[1:]:
            if line == "":
                continue
            name, _, value = line.partition(":")
            self.headers.append((name, value.strip(" \t")))

    def header(self, name):
        """Returns the one value of header `name`, or None; fails if it is repeated."""
        values = self.header_all(name)
        if len(values) > 1:
            raise AssertionError(f"header {name} is repeated: {values}")
        return values[0] if values else None

    def header_all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def header_dict(self, *, without=("Date",)):
        """Returns {name: value} of every header but those in `without`."""
        skip = {w.lower() for w in without}
        return {n: v for n, v in self.headers if n.lower() not in skip}

    def text(self):
        return self.body.decode("utf-8")

    def __repr__(self):
        return (self.head + self.body).decode("latin-1")


class Closed(Exception):
    """The server closed the connection before a whole response arrived."""


class Conn:
    """A raw TCP connection to the daemon."""

    def __init__(self, port, host="127.0.0.1", timeout=5.0):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect((host, port))
        except OSError:
            self.sock.close()
            raise
        self.buffer = b""
        self.timeout = timeout

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("no response in time")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise Closed(f"connection closed; received so far: {self.buffer!r}")
        self.buffer += chunk

    def read_response(self, head_request=False, timeout=None):
        """Reads one response; `head_request` says it answers a HEAD (no body follows)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\r\n\r\n" not in self.buffer:
            self._fill(deadline)
        end = self.buffer.index(b"\r\n\r\n") + 4
        head, self.buffer = self.buffer[:end], self.buffer[end:]
        response = Response(head, b"")
        length = 0 if head_request else int(response.header("Content-Length") or 0)
        while len(self.buffer) < length:
            self._fill(deadline)
        response.body, self.buffer = self.buffer[:length], self.buffer[length:]
        return response

    def closed_within(self, seconds):
        """Waits up to `seconds` for the server to close; returns (closed, extra bytes read)."""
        deadline = time.monotonic() + seconds
        data = self.buffer
        self.buffer = b""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False, data
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False, data
            except ConnectionResetError:
                return True, data
            if not chunk:
                return True, data
            data += chunk

    def request(self, target, method="GET", token=None, headers=(), host="agentdl.test"):
        """Sends one request and returns its response."""
        self.send(request_bytes(target, method, token, headers, host))
        return self.read_response(head_request=(method == "HEAD"))


def request_bytes(target, method="GET", token=None, headers=(), host="agentdl.test"):
    """Returns the bytes of a request; `headers` is a list of (name, value)."""
    lines = [f"{method} {target} HTTP/1.1"]
    if host is not None:
        lines.append(f"Host: {host}")
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    for name, value in headers:
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class Daemon:
    """One running agentdl-serve."""

    def __init__(self, proc, stdout_path, stderr_path):
        self.proc = proc
        self.stdout_path = stdout_path
        self.stderr_path = stderr_path
        self.addresses = []  # "127.0.0.1:PORT", "[::1]:PORT", in the order printed

    @property
    def port(self):
        return int(self.addresses[0].rsplit(":", 1)[1])

    def ports(self):
        return [int(a.rsplit(":", 1)[1]) for a in self.addresses]

    def stderr(self):
        with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stdout(self):
        with open(self.stdout_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def wait_for_stderr(self, pattern, timeout=5.0, count=1):
        """Waits until `pattern` (a regex) occurs `count` times in stderr; returns the matches."""
        deadline = time.monotonic() + timeout
        while True:
            matches = re.findall(pattern, self.stderr(), re.M)
            if len(matches) >= count:
                return matches
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"stderr has no {count} x {pattern!r} after {timeout}s:\n{self.stderr()}")
            time.sleep(0.02)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        """Waits for the exit; returns (exit code, seconds waited), or (None, timeout)."""
        start = time.monotonic()
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, timeout
        return code, time.monotonic() - start

    def stop(self):
        """Stops the daemon: SIGTERM, then SIGKILL after 5 s. Returns the exit code."""
        return stop_process(self.proc)


class ServeTestCase(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="agentdl-serve-bb-")
        self.addCleanup(self._tmp.cleanup)
        self.tmp = self._tmp.name

    def path(self, relative):
        return os.path.join(self.tmp, relative)

    def write(self, relative, text, dedent=True):
        """Writes `text` to a file under the test's temporary folder; returns its path."""
        path = self.path(relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(textwrap.dedent(text).lstrip("\n") if dedent else text)
        return path

    def run_serve(self, *args, timeout=10, env_extra=None):
        """Runs agentdl-serve to completion (for --check), with the variables of
        `env_extra` added to its environment; returns the CompletedProcess."""
        env = self.env()
        env.update(env_extra or {})
        return subprocess.run([AGENTDL_SERVE, *args], cwd=self.tmp, env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)

    def env(self):
        env = {k: v for k, v in os.environ.items() if k not in _STEERING_VARS}
        env["HOME"] = self.tmp
        return env

    def spawn(self, config, *args, name="serve", preexec_fn=None, env=None, wrapper=()):
        """Starts agentdl-serve without waiting for it (on catalog file `config`, or
        with None on what `args` say, --catalog-url), with the variables of `env`
        added to its environment, under the command `wrapper` if given (strace, say);
        returns the Daemon."""
        stdout_path = self.path(f"{name}.stdout")
        stderr_path = self.path(f"{name}.stderr")
        child_env = self.env()
        child_env.update(env or {})
        with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
            source = ["--config", config] if config is not None else []
            proc = subprocess.Popen([*wrapper, AGENTDL_SERVE, *source, *args],
                                    cwd=self.tmp,
                                    env=child_env, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=err, preexec_fn=preexec_fn)
        daemon = Daemon(proc, stdout_path, stderr_path)
        self.addCleanup(self._stop_cleanly, daemon)
        return daemon

    def _stop_cleanly(self, daemon):
        """Stops a daemon still running at the end of a test; it must exit 0 (a
        LeakSanitizer report at exit, say, makes it 1). A test that ended the
        daemon itself has checked its exit code."""
        running = daemon.proc.poll() is None
        code = daemon.stop()
        if running:
            self.assertEqual(code, 0, msg=f"agentdl-serve exited with {code} when stopped at the "
                                          f"end of the test:\n{daemon.stderr()[-4000:]}")

    def start(self, config, *args, listeners=1, name="serve", preexec_fn=None, timeout=10,
              env=None, wrapper=()):
        """Starts agentdl-serve on `config` (with `env` added to its environment, under
        `wrapper`) and waits up to `timeout` seconds for its `listening on` lines."""
        daemon = self.spawn(config, *args, name=name, preexec_fn=preexec_fn, env=env,
                            wrapper=wrapper)
        deadline = time.monotonic() + timeout
        while True:
            found = _LISTENING.findall(daemon.stderr())
            if len(found) >= listeners:
                daemon.addresses = found
                return daemon
            if daemon.proc.poll() is not None:
                self.fail(f"agentdl-serve exited with {daemon.proc.returncode}:\n"
                          f"{daemon.stderr()}")
            if time.monotonic() > deadline:
                self.fail(f"agentdl-serve is not listening after {timeout} s:\n"
                          f"{daemon.stderr()}")
            time.sleep(0.01)

    def start_demo(self, **settings):
        """Starts agentdl-serve on the demo catalog with test server settings."""
        config = self.write("agentdl.toml", demo_catalog(**settings), dedent=False)
        return self.start(config)

    def connect(self, daemon, host="127.0.0.1", port=None, timeout=5.0):
        conn = Conn(port or daemon.port, host=host, timeout=timeout)
        self.addCleanup(conn.close)
        return conn

    def get(self, daemon, target, method="GET", token=DEMO_TOKEN, headers=(), host="127.0.0.1"):
        """Sends one request on a new connection; returns the response."""
        with Conn(daemon.port, host=host) as conn:
            return conn.request(target, method=method, token=token, headers=headers)

    def metrics(self, daemon):
        """Returns /metrics as {"name{labels}": value}."""
        response = self.get(daemon, "/metrics", token=None)
        self.assertEqual(response.status, 200, msg=repr(response))
        values = {}
        for line in response.text().splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                values[key] = float(value)
        return values

    def assertJsonError(self, response, status, reason, body, extra_headers=None):
        """Checks an error response: status line, headers (but Date) and the exact body."""
        expected = {
            "Server": "agentdl",
            "Content-Type": "application/json",
            "Content-Length": str(len(body.encode("utf-8"))),
        }
        expected.update(extra_headers or {})
        self.assertEqual(
            (response.status_line, response.header_dict(), response.text()),
            (f"HTTP/1.1 {status} {reason}", expected, body),
            msg=f"\n{response!r}")
