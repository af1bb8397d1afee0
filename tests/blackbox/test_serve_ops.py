"""Black-box tests of operating agentdl-serve (CONTRACT section 4, "Operations").

--check, SIGHUP reload under load, SIGTERM/SIGINT drain, and the access log.
"""

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner  # noqa: E402
from serve import (  # noqa: E402
    AGENTDL_SERVE, BASE, DEMO_TOKEN, Conn, ServeTestCase, demo_catalog, request_bytes,
    sha256_hex)

HEALTH = b'{"status":"ok","releases":4}'
WIN_183 = BASE + "windows/1.8.3/ScalepadAgent-1.8.3.msi"
WIN_185 = BASE + "windows/1.8.5/ScalepadAgent-1.8.5.msi"
LATEST_WINDOWS = "/v2/agent-releases/latest/download?platform=windows"

# A release that makes 1.8.5 stable's current release.
RELEASE_185 = """
[[releases]]
version = "1.8.5"
channels = ["stable"]
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "windows/1.8.5/ScalepadAgent-1.8.5.msi"
"""


def replace_file(path, text):
    """Writes `text` to `path` atomically, as an operator's deploy tool would."""
    with open(path + ".new", "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    os.replace(path + ".new", path)


class Check(ServeTestCase):
    def test_good_catalog(self):
        config = self.write("agentdl.toml", demo_catalog(), dedent=False)
        result = self.run_serve("--config", config, "--check")
        self.assertEqual((result.returncode, result.stdout.decode(), result.stderr.decode()),
                         (0, f"{config}: ok (4 releases)\n", ""))

    def test_check_does_not_listen(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            config = self.write("agentdl.toml", demo_catalog(listen=[f"127.0.0.1:{port}"]),
                                dedent=False)
            result = self.run_serve("--config", config, "--check")
        self.assertEqual((result.returncode, result.stdout.decode(), result.stderr.decode()),
                         (0, f"{config}: ok (4 releases)\n", ""))

    def test_bad_catalog(self):
        text = demo_catalog().replace('default_arch = "x86_64"',
                                      'default_arch = "x86_64"\ndefault-arch = "x86_64"', 1)
        config = self.write("agentdl.toml", text, dedent=False)
        line = next(i for i, x in enumerate(text.splitlines(), 1) if x.startswith("default-arch"))
        message = (f'{config}:{line}:1: unknown key "default-arch" in [platforms.windows] '
                   "(expected one of: archs, default_arch)")
        result = self.run_serve("--config", config, "--check")
        self.assertEqual((result.returncode, result.stdout.decode(), result.stderr.decode()),
                         (7, "", f"agentdl-serve: error: {message}\n"))
        # Without --check, the daemon does not start either.
        result = self.run_serve("--config", config)
        self.assertEqual((result.returncode, result.stdout.decode(), result.stderr.decode()),
                         (7, "", f"agentdl-serve: error: {message}\n"))

    def test_bad_server_setting(self):
        text = demo_catalog(header_timeout="soon")
        config = self.write("agentdl.toml", text, dedent=False)
        line = text.splitlines().index('header_timeout = "soon"') + 1
        result = self.run_serve("--config", config, "--check")
        self.assertEqual(result.returncode, 7)
        self.assertTrue(result.stderr.decode().startswith(
            f"agentdl-serve: error: {config}:{line}:"), msg=result.stderr)


class Hammer(threading.Thread):
    """Sends requests as fast as it can until stopped; records every answer."""

    def __init__(self, port, allowed):
        super().__init__(daemon=True)
        self.port = port
        self.allowed = allowed  # the Locations that are right
        self.stopping = threading.Event()
        self.seen = {}
        self.errors = []

    def run(self):
        conn = None
        count = 0
        while not self.stopping.is_set():
            try:
                if conn is None or count % 10 == 0:  # keep-alive, and new connections too
                    if conn is not None:
                        conn.close()
                    conn = Conn(self.port)
                response = conn.request(LATEST_WINDOWS, token=DEMO_TOKEN)
                location = response.header("Location")
                if response.status != 302 or location not in self.allowed:
                    self.errors.append(repr(response))
                self.seen[location] = self.seen.get(location, 0) + 1
            except Exception as e:  # noqa: BLE001 - every failure is a finding
                self.errors.append(f"{type(e).__name__}: {e}")
                if conn is not None:
                    conn.close()
                conn = None
            count += 1
        if conn is not None:
            conn.close()


class Reload(ServeTestCase):
    def test_sighup_under_load(self):
        config = self.write("agentdl.toml", demo_catalog(), dedent=False)
        daemon = self.start(config)
        hammer = Hammer(daemon.port, {WIN_183, WIN_185})
        hammer.start()
        self.addCleanup(hammer.stopping.set)
        time.sleep(0.3)

        # A good new file changes the answers.
        replace_file(config, demo_catalog() + RELEASE_185)
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_stderr(r"^agentdl-serve: reloaded the catalog: 5 releases$")
        self.assertEqual(self.get(daemon, LATEST_WINDOWS).header("Location"), WIN_185)
        self.assertEqual(self.get(daemon, "/healthz").body, b'{"status":"ok","releases":5}')
        time.sleep(0.3)

        # A broken file is rejected with its error; the previous catalog keeps serving.
        broken = demo_catalog() + RELEASE_185.replace('channels = ["stable"]',
                                                      'channels = ["nightly"]')
        replace_file(config, broken)
        line = broken.splitlines().index('channels = ["nightly"]') + 1
        daemon.signal(signal.SIGHUP)
        failure = daemon.wait_for_stderr(r"^agentdl-serve: reload failed.*$")
        self.assertEqual(failure, [
            f"agentdl-serve: reload failed, still serving the previous catalog: "
            f'{config}:{line}:13: release 1.8.5 names undeclared channel "nightly" '
            "(declared: latest, stable)"])
        time.sleep(0.3)
        hammer.stopping.set()
        hammer.join(timeout=10)

        self.assertEqual(self.get(daemon, LATEST_WINDOWS).header("Location"), WIN_185)
        self.assertEqual(hammer.errors, [])
        self.assertGreater(hammer.seen.get(WIN_183, 0), 0)
        self.assertGreater(hammer.seen.get(WIN_185, 0), 0)

        metrics = self.metrics(daemon)
        self.assertEqual(
            (metrics['agentdl_catalog_reloads_total{result="ok"}'],
             metrics['agentdl_catalog_reloads_total{result="error"}'],
             metrics["agentdl_releases"]),
            (1, 1, 5))

        # A fixed file loads again.
        replace_file(config, demo_catalog())
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_stderr(r"^agentdl-serve: reloaded the catalog: 4 releases$")
        self.assertEqual(self.get(daemon, LATEST_WINDOWS).header("Location"), WIN_183)
        self.assertEqual(self.metrics(daemon)['agentdl_catalog_reloads_total{result="ok"}'], 2)

    def test_reload_revokes_a_token(self):
        config = self.write("agentdl.toml", demo_catalog(), dedent=False)
        daemon = self.start(config)
        with Conn(daemon.port) as conn:  # a keep-alive connection across the reload
            self.assertEqual(conn.request(LATEST_WINDOWS, token=DEMO_TOKEN).status, 302)
            revoked = demo_catalog().replace(
                "94d5550935517edc9fa5d056a94ea014853309056192232222d392a678671cbb",
                sha256_hex("the-new-token"))
            self.assertNotEqual(revoked, demo_catalog())
            replace_file(config, revoked)
            daemon.signal(signal.SIGHUP)
            daemon.wait_for_stderr(r"^agentdl-serve: reloaded the catalog: 4 releases$")
            response = conn.request(LATEST_WINDOWS, token=DEMO_TOKEN)
            self.assertEqual((response.status, response.header("WWW-Authenticate")),
                             (401, 'Bearer realm="agentdl", error="invalid_token"'))
            self.assertEqual(conn.request(LATEST_WINDOWS, token="the-new-token").status, 302)

    def test_missing_file_on_reload(self):
        config = self.write("agentdl.toml", demo_catalog(), dedent=False)
        daemon = self.start(config)
        os.remove(config)
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_stderr(r"^agentdl-serve: reload failed, still serving the previous "
                               r"catalog: .*$")
        self.assertEqual(self.get(daemon, LATEST_WINDOWS).header("Location"), WIN_183)
        self.assertIsNone(daemon.proc.poll())


class SignalsAtStartup(ServeTestCase):
    """A signal sent as soon as the daemon says it is listening is handled."""

    def start_and_signal(self, config, sig):
        """Starts the daemon, sends `sig` the moment the listening line is out."""
        proc = subprocess.Popen([AGENTDL_SERVE, "--config", config], cwd=self.tmp,
                                env=self.env(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.addCleanup(self.kill, proc)
        err = b""
        deadline = time.monotonic() + 10
        while b"agentdl-serve: listening on " not in err:
            ready, _, _ = select.select([proc.stderr], [], [], 0.5)
            if ready:
                chunk = os.read(proc.stderr.fileno(), 4096)
                self.assertTrue(chunk, msg=f"agentdl-serve exited: {err!r}")
                err += chunk
            self.assertLess(time.monotonic(), deadline, msg=err)
        proc.send_signal(sig)
        # What it says from now on is read as it comes (a stderr pipe left
        # unread could fill and stall it), to be shown if it does not exit.
        proc.said = [err]
        proc.reader = threading.Thread(target=lambda: proc.said.extend(iter(
            lambda: os.read(proc.stderr.fileno(), 4096), b"")), daemon=True)
        proc.reader.start()
        return proc

    def wait_for_exit(self, proc):
        """Returns the exit code of `proc`, which must exit within 5 s."""
        try:
            return proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.fail("agentdl-serve did not exit within 5 s of SIGTERM; it said:\n"
                      + b"".join(proc.said).decode("utf-8", "replace")[-4000:])

    @staticmethod
    def kill(proc):
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if hasattr(proc, "reader"):
            proc.reader.join(timeout=5)  # it reads until the daemon's end closes the pipe
        proc.stderr.close()

    # The signal handlers must be in place before "listening on" is printed:
    # a signal sent at once is handled (reload or drain), never fatal.
    def test_signal_right_after_listening(self):
        config = self.write("agentdl.toml", demo_catalog(), dedent=False)
        outcomes = []
        for i in range(8):
            sig = signal.SIGHUP if i % 2 == 0 else signal.SIGTERM
            proc = self.start_and_signal(config, sig)
            if sig == signal.SIGHUP:
                time.sleep(0.3)
                alive = proc.poll() is None
                proc.send_signal(signal.SIGTERM)
                outcomes.append(("SIGHUP", alive, self.wait_for_exit(proc)))
            else:
                outcomes.append(("SIGTERM", True, self.wait_for_exit(proc)))
        self.assertEqual(outcomes, [("SIGHUP", True, 0), ("SIGTERM", True, 0)] * 4)


class Drain(ServeTestCase):
    def served_conn(self, daemon):
        conn = self.connect(daemon)
        response = conn.request("/healthz")
        self.assertEqual((response.status, response.header("Connection")), (200, None))
        return conn

    def check_in_flight_finishes(self, sig, name):
        daemon = self.start_demo(drain_timeout="3s")
        conn = self.served_conn(daemon)
        idle = self.served_conn(daemon)
        # A request in flight: its header is half sent when the signal comes.
        data = request_bytes(LATEST_WINDOWS, token=DEMO_TOKEN)
        conn.send(data[:20])
        time.sleep(0.3)
        start = time.monotonic()
        daemon.signal(sig)
        daemon.wait_for_stderr(rf"^agentdl-serve: {name}: draining connections \(up to 3s\)$")
        # The idle connection is closed at once.
        self.assertEqual(idle.closed_within(1), (True, b""))
        # No new connection is accepted.
        time.sleep(0.1)
        with self.assertRaises(ConnectionRefusedError):
            Conn(daemon.port).close()
        # The request in flight gets its answer, with Connection: close.
        conn.send(data[20:])
        response = conn.read_response()
        self.assertEqual(
            (response.status, response.header("Location"), response.header("Connection")),
            (302, WIN_183, "close"))
        self.assertEqual(conn.closed_within(2), (True, b""))
        code, _ = daemon.wait(timeout=5)
        self.assertEqual(code, 0, msg=daemon.stderr())
        self.assertLess(time.monotonic() - start, 3.5)
        self.assertTrue(daemon.stderr().endswith("agentdl-serve: stopped\n"), msg=daemon.stderr())

    def test_sigterm_finishes_in_flight_requests(self):
        self.check_in_flight_finishes(signal.SIGTERM, "SIGTERM")

    def test_sigint_finishes_in_flight_requests(self):
        self.check_in_flight_finishes(signal.SIGINT, "SIGINT")

    def test_idle_connections_do_not_delay_the_exit(self):
        daemon = self.start_demo(drain_timeout="5s", idle_timeout="30s")
        conns = [self.served_conn(daemon) for _ in range(3)]
        silent = self.connect(daemon)  # connected, never sent a byte
        time.sleep(0.1)
        start = time.monotonic()
        daemon.signal(signal.SIGTERM)
        code, _ = daemon.wait(timeout=8)
        self.assertEqual(code, 0, msg=daemon.stderr())
        self.assertLess(time.monotonic() - start, 1.5)
        for conn in conns + [silent]:
            self.assertEqual(conn.closed_within(1), (True, b""))

    def test_pipelined_requests_during_drain_end_with_close(self):
        daemon = self.start_demo()
        conn = self.connect(daemon)
        self.assertEqual(conn.request("/healthz").status, 200)
        data = request_bytes("/healthz") + request_bytes("/healthz")
        conn.send(data[:10])
        time.sleep(0.3)
        daemon.signal(signal.SIGTERM)
        daemon.wait_for_stderr(r"^agentdl-serve: SIGTERM: draining")
        conn.send(data[10:])
        response = conn.read_response()
        self.assertEqual((response.status, response.header("Connection")), (200, "close"))
        # The pipelined second request is not answered: the connection closes.
        closed, extra = conn.closed_within(2)
        self.assertEqual((closed, extra), (True, b""))
        self.assertEqual(daemon.wait(timeout=5)[0], 0)

    def test_stuck_client_is_dropped_at_drain_timeout(self):
        daemon = self.start_demo(drain_timeout="2s", header_timeout="30s", idle_timeout="30s")
        conn = self.connect(daemon)
        conn.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never more
        time.sleep(0.3)
        start = time.monotonic()
        daemon.signal(signal.SIGTERM)
        code, _ = daemon.wait(timeout=6)
        waited = time.monotonic() - start
        self.assertEqual(code, 0, msg=daemon.stderr())
        self.assertGreaterEqual(waited, 1.5)  # it did wait for the request in flight
        self.assertLess(waited, 3.5)


class AccessLog(ServeTestCase):
    SECRETS = ["demo-token-do-not-use-in-production", "SIGSECRET1", "MD5SECRET2",
               "AMZSECRET3", "TOKSECRET4", "ACCSECRET5", "wrong-token-SECRET6", "SIGSECRET7"]

    def wait_for_lines(self, path, count):
        deadline = time.monotonic() + 3
        while True:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
            if len(lines) >= count or time.monotonic() > deadline:
                return lines
            time.sleep(0.02)

    def test_one_json_line_per_request_without_secrets(self):
        log = self.path("access.log")
        daemon = self.start_demo(access_log=log)
        requests = [
            # (target, token, extra headers, status, route)
            (LATEST_WINDOWS + "&sig=SIGSECRET1", DEMO_TOKEN, [], 302, "download_latest"),
            ("/v2/agent-releases/1.8.3/download?platform=windows&md5=MD5SECRET2&expires=1",
             DEMO_TOKEN, [], 302, "download_version"),
            ("/v2/agent-releases/latest?platform=windows&X-Amz-Signature=AMZSECRET3",
             DEMO_TOKEN, [], 200, "latest"),
            ("/v2/agent-releases/1.8.3?token=TOKSECRET4&access_token=ACCSECRET5",
             DEMO_TOKEN, [], 200, "version"),
            ("/v2/agent-releases?channel=stable", "wrong-token-SECRET6", [], 401, "releases"),
            ("/healthz?SIG=SIGSECRET7", None, [("User-Agent", "bb-test/1.0")], 200, "healthz"),
            ("/v2/agent-releases/7.0.0/download?platform=windows", DEMO_TOKEN, [], 404,
             "download_version"),
            ("/nowhere", None, [], 401, "unknown"),  # unknown routes are 404 only after auth
        ]
        for target, token, headers, status, _ in requests:
            with Conn(daemon.port) as conn:
                response = conn.request(target, token=token, headers=headers)
                self.assertEqual(response.status, status, msg=f"{target}\n{response!r}")
        # A request rejected by the transport is logged too.
        with Conn(daemon.port) as conn:
            conn.send(request_bytes("/healthz?sig=SIGSECRET1", token=DEMO_TOKEN,
                                    headers=[("Content-Length", "3")]) + b"abc")
            self.assertEqual(conn.read_response().status, 400)

        lines = self.wait_for_lines(log, len(requests) + 1)
        self.assertEqual(len(lines), len(requests) + 1, msg="\n".join(lines))
        entries = [json.loads(line) for line in lines]
        by_status_route = [(e["method"], e["status"], e["route"]) for e in entries]
        self.assertEqual(
            sorted(by_status_route),
            sorted([("GET", s, r) for _, _, _, s, r in requests] + [("GET", 400, "unknown")]))
        for entry in entries:
            self.assertLessEqual({"time", "remote", "method", "target", "status", "route"},
                                 set(entry), msg=entry)
            self.assertRegex(entry["remote"], r"^127\.0\.0\.1:[0-9]+$")
            self.assertRegex(entry["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        first = next(e for e in entries if e["route"] == "download_latest")
        self.assertEqual(
            {k: first[k] for k in ("method", "target", "status", "bytes", "token")},
            {"method": "GET", "target": LATEST_WINDOWS + "&sig=REDACTED", "status": 302,
             "bytes": 0, "token": "demo"})
        health = next(e for e in entries if e["route"] == "healthz")
        self.assertEqual((health["target"], health["user_agent"], health["bytes"]),
                         ("/healthz?SIG=REDACTED", "bb-test/1.0", len(HEALTH)))

        with open(log, encoding="utf-8") as f:
            text = f.read()
        for secret in self.SECRETS:
            self.assertNotIn(secret, text)
        self.assertNotIn("Bearer", text)
        self.assertNotIn("Authorization", text)
        self.assertNotIn("authorization", text)

    def test_every_line_is_utf8_json_whatever_the_request_bytes(self):
        log = self.path("access.log")
        daemon = self.start_demo(access_log=log)
        with Conn(daemon.port) as conn:  # a User-Agent that is not UTF-8
            response = conn.request("/healthz", headers=[("User-Agent", "agent \xff\xfe/1")])
            self.assertEqual(response.status, 200)
        with Conn(daemon.port) as conn:  # a target with raw bytes: not a URL
            conn.send(b"GET /v2/agent-releases/\xc3\xa9\xff HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(conn.read_response().status, 400)
        with Conn(daemon.port) as conn:  # an encoded byte is left as the client wrote it
            self.assertEqual(conn.request("/healthz?q=%FF").status, 200)
        lines = self.wait_for_lines(log, 3)
        with open(log, "rb") as f:
            raw = f.read()
        raw.decode("utf-8")  # strict: fails on any byte that is not UTF-8
        entries = [json.loads(line) for line in lines]
        self.assertEqual(len(entries), 3)
        # Lines are written as responses finish, not always in the order sent.
        self.assertEqual(
            sorted((e["status"], e["target"], e.get("user_agent")) for e in entries),
            [(200, "/healthz", "agent \\xFF\\xFE/1"), (200, "/healthz?q=%FF", None),
             (400, "/v2/agent-releases/\u00e9\\xFF", None)])

    def test_lines_from_concurrent_requests_never_interleave(self):
        log = self.path("access.log")
        daemon = self.start_demo(access_log=log, threads=4)

        def client():
            with Conn(daemon.port) as conn:
                for _ in range(50):
                    conn.request(LATEST_WINDOWS + "&sig=SIGSECRET1&pad=" + "x" * 500,
                                 token=DEMO_TOKEN)

        threads = [threading.Thread(target=client) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        lines = self.wait_for_lines(log, 300)
        self.assertEqual(len(lines), 300)
        for line in lines:
            entry = json.loads(line)
            self.assertEqual((entry["status"], entry["route"]), (302, "download_latest"))
            self.assertTrue(entry["target"].endswith("&sig=REDACTED&pad=" + "x" * 500))

    def test_signatures_are_redacted_however_written(self):
        log = self.path("access.log")
        daemon = self.start_demo(access_log=log)
        targets = ["/healthz?%73ig=SIGSECRET1", "/healthz?Sig=SIGSECRET1&sig=SIGSECRET7",
                   "/healthz?x=%zz&sig=SIGSECRET1", "/healthz?MD5=MD5SECRET2",
                   "/healthz?x-amz-signature=AMZSECRET3"]
        for target in targets:
            # The malformed one (%zz) is a 400; it is logged all the same.
            self.assertIn(self.get(daemon, target).status, (200, 400))
        lines = self.wait_for_lines(log, len(targets))
        self.assertEqual(len(lines), len(targets))
        for line in lines:
            self.assertRegex(json.loads(line)["target"], r"^/healthz\?(.*=)?REDACTED$")
        with open(log, encoding="utf-8") as f:
            text = f.read()
        for secret in self.SECRETS:
            self.assertNotIn(secret, text)

    def test_access_log_on_stdout(self):
        daemon = self.start_demo(access_log="-")
        for _ in range(3):
            self.assertEqual(self.get(daemon, LATEST_WINDOWS).status, 302)
        lines = self.wait_for_lines(daemon.stdout_path, 3)
        self.assertEqual([(json.loads(x)["status"], json.loads(x)["route"]) for x in lines],
                         [(302, "download_latest")] * 3)
        self.assertNotIn(DEMO_TOKEN, daemon.stdout())

    def test_access_log_off(self):
        daemon = self.start_demo(access_log="off")
        self.assertEqual(self.get(daemon, LATEST_WINDOWS).status, 302)
        self.assertEqual(self.get(daemon, "/healthz").status, 200)
        daemon.stop()
        self.assertEqual(daemon.stdout(), "")


class SecondSignal(ServeTestCase):
    """A second SIGTERM or SIGINT during a drain ends the daemon at once, with exit 1."""

    def check_second_signal(self, first, second, name):
        daemon = self.start_demo(drain_timeout="30s", header_timeout="30s", idle_timeout="30s")
        # Two requests in flight, which the drain would wait 30 s for.
        stuck = []
        for _ in range(2):
            conn = self.connect(daemon)
            conn.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            stuck.append(conn)
        time.sleep(0.3)
        daemon.signal(first)
        daemon.wait_for_stderr(r"^agentdl-serve: SIG(TERM|INT): draining connections \(up to 30s\)$")
        start = time.monotonic()
        daemon.signal(second)
        code, _ = daemon.wait(timeout=5)
        self.assertEqual(code, 1, msg=daemon.stderr())
        self.assertLess(time.monotonic() - start, 2)
        self.assertTrue(daemon.stderr().endswith(
            f"agentdl-serve: {name} during the drain: exiting now, cutting 2 connections\n"
            "agentdl-serve: stopped before the drain ended\n"), msg=daemon.stderr())
        for conn in stuck:
            self.assertTrue(conn.closed_within(2)[0])

    def test_sigterm_then_sigterm(self):
        self.check_second_signal(signal.SIGTERM, signal.SIGTERM, "SIGTERM")

    def test_sigterm_then_sigint(self):
        self.check_second_signal(signal.SIGTERM, signal.SIGINT, "SIGINT")

    def test_sigint_then_sigint(self):
        self.check_second_signal(signal.SIGINT, signal.SIGINT, "SIGINT")

    def test_drain_timeout_says_how_many_it_closed(self):
        daemon = self.start_demo(drain_timeout="1s", header_timeout="30s", idle_timeout="30s")
        conn = self.connect(daemon)
        conn.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.3)
        daemon.signal(signal.SIGTERM)
        code, _ = daemon.wait(timeout=5)
        self.assertEqual(code, 0, msg=daemon.stderr())
        self.assertTrue(daemon.stderr().endswith(
            "agentdl-serve: drain_timeout reached: closing 1 connection\n"
            "agentdl-serve: stopped\n"), msg=daemon.stderr())


class ReloadSettings(ServeTestCase):
    """SIGHUP re-reads the [server] settings that can change without a restart."""

    def test_settings_that_need_no_restart_apply(self):
        first_log = self.path("first.log")
        second_log = self.path("second.log")
        config = self.write("agentdl.toml",
                            demo_catalog(access_log=first_log, idle_timeout="30s",
                                         header_timeout="30s"), dedent=False)
        daemon = self.start(config)
        self.assertEqual(self.get(daemon, "/metrics", token=None).status, 200)
        before = self.connect(daemon)
        self.assertEqual(before.request("/healthz").status, 200)

        replace_file(config, demo_catalog(access_log=second_log, idle_timeout="1s",
                                          header_timeout="1s", drain_timeout="4s",
                                          max_connections=2, metrics=False))
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_stderr(r"^agentdl-serve: reloaded the catalog: 4 releases$")
        daemon.wait_for_stderr(
            r"^agentdl-serve: \[server\] header_timeout, idle_timeout, drain_timeout, "
            r"max_connections, access_log, metrics changed: applied$")
        self.assertNotIn("restart", daemon.stderr())

        # metrics = false
        self.assertEqual(self.get(daemon, "/metrics", token=None).status, 404)
        # idle_timeout = 1s, for new waits on old connections too
        self.assertEqual(before.request("/healthz").status, 200)
        closed, _ = before.closed_within(2.5)
        self.assertTrue(closed)
        # header_timeout = 1s
        slow = self.connect(daemon)
        slow.send(b"GET /healthz HTTP/1.1\r\n")
        self.assertTrue(slow.closed_within(2.5)[0])
        # max_connections = 2: the third connection is refused. The connections
        # closed above may still count for a moment after the client saw the close.
        def served():
            deadline = time.monotonic() + 3
            while True:
                conn = self.connect(daemon)
                if conn.request("/healthz").status == 200 or time.monotonic() > deadline:
                    return conn
                time.sleep(0.05)

        one = served()
        self.assertEqual(one.request("/healthz").status, 200)
        two = served()
        self.assertEqual(two.request("/healthz").status, 200)
        three = self.connect(daemon)
        self.assertEqual(three.read_response().status, 503)
        one.close()
        two.close()
        # access_log: the new file gets the lines from now on, the old one none
        time.sleep(0.3)
        with open(first_log, encoding="utf-8") as f:
            first_count = len(f.read().splitlines())
        self.assertEqual(self.get(daemon, "/healthz?after=reload").status, 200)
        wait_for_text(second_log, "after=reload")
        with open(first_log, encoding="utf-8") as f:
            self.assertEqual(len(f.read().splitlines()), first_count)
        # drain_timeout = 4s
        daemon.signal(signal.SIGTERM)
        daemon.wait_for_stderr(r"^agentdl-serve: SIGTERM: draining connections \(up to 4s\)$")
        self.assertEqual(daemon.wait(timeout=10)[0], 0, msg=daemon.stderr())

    def test_listen_and_threads_need_a_restart(self):
        config = self.write("agentdl.toml", demo_catalog(threads=1), dedent=False)
        daemon = self.start(config)
        address = daemon.addresses[0]
        replace_file(config, demo_catalog(threads=3, listen=["127.0.0.1:1"], idle_timeout="9s"))
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_stderr(r"^agentdl-serve: reloaded the catalog: 4 releases$")
        lines = daemon.wait_for_stderr(r"^agentdl-serve: \[server\] .*$", count=3)
        self.assertEqual(lines, [
            "agentdl-serve: [server] idle_timeout changed: applied",
            "agentdl-serve: [server] listen changed: it applies after a restart; "
            f"still listening on {address}",
            "agentdl-serve: [server] threads changed: it applies after a restart; "
            "still running 1 thread",
        ])
        self.assertEqual(self.get(daemon, "/healthz").status, 200)

    def test_listen_from_the_command_line_is_not_reported(self):
        config = self.write("agentdl.toml", demo_catalog(), dedent=False)
        daemon = self.start(config, "--listen", "127.0.0.1:0")
        replace_file(config, demo_catalog(listen=["127.0.0.1:1"]))
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_stderr(r"^agentdl-serve: reloaded the catalog: 4 releases$")
        time.sleep(0.2)
        self.assertNotIn("[server]", daemon.stderr())

    def test_sighup_reopens_a_rotated_log(self):
        log = self.path("access.log")
        config = self.write("agentdl.toml", demo_catalog(access_log=log), dedent=False)
        daemon = self.start(config)
        self.assertEqual(self.get(daemon, "/healthz?n=1").status, 200)
        wait_for_text(log, "n=1")
        os.rename(log, log + ".1")  # as logrotate does
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_stderr(r"^agentdl-serve: reloaded the catalog: 4 releases$")
        self.assertEqual(self.get(daemon, "/healthz?n=2").status, 200)
        wait_for_text(log, "n=2")
        with open(log + ".1", encoding="utf-8") as f:
            self.assertNotIn("n=2", f.read())

    def test_an_access_log_that_cannot_be_opened_rejects_the_reload(self):
        log = self.path("access.log")
        config = self.write("agentdl.toml", demo_catalog(access_log=log), dedent=False)
        daemon = self.start(config)
        replace_file(config, demo_catalog(access_log=self.tmp, metrics=False) + RELEASE_185)
        daemon.signal(signal.SIGHUP)
        failure = daemon.wait_for_stderr(r"^agentdl-serve: reload failed.*$")
        self.assertEqual(failure, [
            "agentdl-serve: reload failed, still serving the previous catalog: "
            f'cannot open access_log "{self.tmp}": Is a directory'])
        # Nothing of the new file applies: catalog, metrics and log stay as they were.
        self.assertEqual(self.get(daemon, LATEST_WINDOWS).header("Location"), WIN_183)
        self.assertEqual(self.get(daemon, "/metrics", token=None).status, 200)
        self.assertEqual(self.get(daemon, "/healthz?still=logged").status, 200)
        wait_for_text(log, "still=logged")


def wait_for_text(path, text, timeout=3):
    """Waits until the file at `path` exists and holds `text`."""
    deadline = time.monotonic() + timeout
    while True:
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                if text in f.read():
                    return
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} has no {text!r} after {timeout}s")
        time.sleep(0.02)


class Workers(ServeTestCase):
    """[server] threads = 4: four workers, each with its own listening socket
    (the kernel spreads connections over them), sessions and deadline sweeper."""

    CONNECTIONS = 32  # all four workers get some: (3/4)^32 leaves one out 1 time in 10,000

    def test_every_worker_answers_and_sweeps_its_connections(self):
        daemon = self.start_demo(threads=4, header_timeout="1s", idle_timeout="2s")
        served = [self.connect(daemon) for _ in range(self.CONNECTIONS)]
        for conn in served:  # a worker that did not answer would hang here
            response = conn.request("/v2/agent-releases/latest/download?platform=windows",
                                    token=DEMO_TOKEN)
            self.assertEqual((response.status, response.header("Location")), (302, WIN_183))
        silent = [self.connect(daemon) for _ in range(self.CONNECTIONS)]
        start = time.monotonic()
        for conn in silent:  # header_timeout, from each worker's own sweeper
            self.assertEqual(conn.closed_within(3), (True, b""))
        self.assertLess(time.monotonic() - start, 2.0)
        for conn in served:  # idle_timeout
            self.assertEqual(conn.closed_within(3), (True, b""))
        self.assertLess(time.monotonic() - start, 3.0)
        self.assertEqual(self.get(daemon, "/healthz", token=None).status, 200)

    def test_drain_reaches_every_worker(self):
        daemon = self.start_demo(threads=4, drain_timeout="5s", idle_timeout="30s")
        idle = [self.served_conn(daemon) for _ in range(self.CONNECTIONS)]
        busy = self.connect(daemon)
        busy.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # a request in flight
        time.sleep(0.2)
        daemon.signal(signal.SIGTERM)
        daemon.wait_for_stderr(r"^agentdl-serve: SIGTERM: draining")
        for conn in idle:
            self.assertEqual(conn.closed_within(1), (True, b""))
        busy.send(b"\r\n")
        response = busy.read_response()
        self.assertEqual((response.status, response.header("Connection")), (200, "close"))
        code, _ = daemon.wait(timeout=5)
        self.assertEqual(code, 0, msg=daemon.stderr())
        self.assertTrue(daemon.stderr().endswith("agentdl-serve: stopped\n"), msg=daemon.stderr())

    def served_conn(self, daemon):
        conn = self.connect(daemon)
        self.assertEqual(conn.request("/healthz").status, 200)
        return conn


if __name__ == "__main__":
    runner.main()
