"""Black-box tests of `agentdl download` (CONTRACT section 7).

Artifacts are random bytes the test writes; the catalog names them with their
real (or deliberately wrong) sha256 and size. They are served by the fault
server of fileserver.py (to script failures and see every request), by a real
nginx, and, in remote mode, reached through a real agentdl-serve whose catalog's
`[storage] base_url` points at that file server.
"""

import hashlib
import os
import re
import resource
import signal
import subprocess
import time
import unittest
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner  # noqa: E402
from cli import AGENTDL, CliTestCase  # noqa: E402
from fileserver import (Corrupt, Drop, IgnoreRange, Redirect, Respond, Status,  # noqa: E402
                        Trickle, Unsized, WrongRange, closed_port, corrupted,
                        start_fault_server, start_nginx)
from serve import ServeTestCase, server_section, sha256_hex  # noqa: E402

PKG = "ScalepadAgent-1.8.3.pkg"
ART_PATH = "macos/arm64/" + PKG           # the artifact's path under base_url
ART = "/" + ART_PATH                      # ... as a URL path on the file server
TOKEN = "download-test-token"
PLATFORM = ("--platform", "macos", "--arch", "arm64")

NEEDS_TOKEN = ("the server requires a token: set AGENTDL_TOKEN or use --token-file "
               "(server said: Authentication required: send Authorization: Bearer <token>)")

_UNSET = object()


def sha(data):
    return hashlib.sha256(data).hexdigest()


def toml_str(value):
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def catalog(base="https://unused.example.org/", path=ART_PATH, url=None, sha256=None,
            size=None):
    """A catalog with one artifact (1.8.3, macos/arm64, channel stable), auth and
    [server] settings for agentdl-serve (which the CLI ignores)."""
    artifact = [f"url = {toml_str(url)}" if url else f"path = {toml_str(path)}"]
    if sha256 is not None:
        artifact.append(f"sha256 = {toml_str(sha256)}")
    if size is not None:
        artifact.append(f"size = {size}")
    return (
        "[platforms.macos]\n"
        'archs = ["arm64", "x86_64"]\n'
        "[channels.stable]\n"
        "[storage]\n"
        f"base_url = {toml_str(base)}\n"
        "[auth]\n"
        'mode = "required"\n'
        "[[auth.tokens]]\n"
        'name = "dl"\n'
        f'sha256 = "{sha256_hex(TOKEN)}"\n'
        'channels = ["*"]\n'
        "[[releases]]\n"
        'version = "1.8.3"\n'
        'channels = ["stable"]\n'
        "  [[releases.artifacts]]\n"
        '  platform = "macos"\n'
        '  arch = "arm64"\n'
        + "".join(f"  {line}\n" for line in artifact)
        + server_section())


class DownloadTestCase(CliTestCase, ServeTestCase):
    """Helpers shared by the download tests."""

    def setUp(self):
        super().setUp()
        self.out = self.mkdir("out")

    # ---- catalogs and runs

    def local(self, data=None, base=None, sha256=_UNSET, size=_UNSET, **kwargs):
        """Writes a local catalog for `data` (real sha256/size unless given); returns its path."""
        if sha256 is _UNSET:
            sha256 = sha(data) if data is not None else None
        if size is _UNSET:
            size = len(data) if data is not None else None
        text = catalog(base=base or "https://unused.example.org/", sha256=sha256, size=size,
                       **kwargs)
        return self.write("catalog.toml", text, dedent=False)

    def download(self, config, *args, cwd=None, env=None):
        return self.agentdl("download", "--config", config, *PLATFORM, *args, cwd=cwd, env=env)

    def target(self, name=PKG):
        return os.path.join(self.out, name)

    # ---- assertions

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()

    def listing(self, directory=None):
        return sorted(os.listdir(directory or self.out))

    def assertDownloaded(self, result, path, data, stderr=""):
        """Exit 0, the path on stdout, the file holds `data`, no .part left."""
        self.assertResult(result, 0, path + "\n", stderr)
        self.assertEqual(self.read(path), data, "the downloaded bytes differ")
        self.assertFalse(os.path.exists(path + ".part"), "a .part is left behind")

    def assertNothingSaved(self, directory=None):
        self.assertEqual(self.listing(directory), [], "files were left behind")

    def assertOneLineError(self, result, code, prefix=""):
        self.assertEqual((result.returncode, result.stdout), (code, ""), msg=repr(result))
        self.assertTrue(result.stderr.startswith("agentdl: error: " + prefix), msg=repr(result))
        self.assertTrue(result.stderr.endswith("\n"), msg=repr(result))
        self.assertEqual(result.stderr.count("\n"), 1, msg=repr(result))

    def ranges(self, server, path=ART):
        return [r.range for r in server.requests(path)]


class DownloadLocal(DownloadTestCase):
    """A local catalog whose artifact the fault server serves."""

    def setUp(self):
        super().setUp()
        self.fs = start_fault_server(self)
        self.data = os.urandom(300 * 1024 + 17)
        self.fs.route(ART, self.data)
        self.art_url = self.fs.url(ART)

    def config(self, **kwargs):
        return self.local(self.data, base=self.fs.base, **kwargs)

    # ---- targets

    def test_verified_download_to_o_file(self):
        path = os.path.join(self.out, "agent.pkg")
        self.assertDownloaded(self.download(self.config(), "-o", path), path, self.data)
        self.assertEqual(self.listing(), ["agent.pkg"])
        requests = self.fs.requests()
        self.assertEqual([(r.method, r.path, r.range, r.authorization) for r in requests],
                         [("GET", ART, None, None)], msg=requests)

    def test_verified_download_to_d_dir(self):
        self.assertDownloaded(self.download(self.config(), "-d", self.out), self.target(),
                              self.data)
        self.assertEqual(self.listing(), [PKG])

    def test_default_target_is_the_working_directory(self):
        result = self.download(self.config())
        self.assertEqual((result.returncode, result.stderr), (0, ""), msg=repr(result))
        self.assertIn(result.stdout, (f"./{PKG}\n", f"{PKG}\n"), msg=repr(result))
        self.assertEqual(self.read(os.path.join(self.work, PKG)), self.data)
        self.assertEqual(self.listing(self.work), [PKG])

    def test_version_and_channel_options(self):
        config = self.config()
        self.assertDownloaded(self.download(config, "--version", "1.8.3", "-d", self.out),
                              self.target(), self.data)
        os.remove(self.target())
        self.assertDownloaded(self.download(config, "--channel", "stable", "-d", self.out),
                              self.target(), self.data)

    def test_file_name_is_the_decoded_last_segment(self):
        path = "/dl/Agent%20Setup%231.pkg"
        self.fs.route(path, self.data)
        config = self.local(self.data, url=self.fs.url(path) + "?sig=abc%2F&x=1")
        self.assertDownloaded(self.download(config, "-d", self.out),
                              self.target("Agent Setup#1.pkg"), self.data)
        self.assertEqual([r.target for r in self.fs.requests()], [path + "?sig=abc%2F&x=1"])

    def test_catalog_url_is_fetched_verbatim(self):
        path = "/dl/x%2Fy/" + PKG
        self.fs.route(path, self.data)
        config = self.local(self.data, url=self.fs.url(path) + "?sig=a%2Fb")
        self.assertDownloaded(self.download(config, "-d", self.out, "--retries", "0"),
                              self.target(), self.data)
        self.assertEqual([r.target for r in self.fs.requests()], [path + "?sig=a%2Fb"])

    def test_unsafe_file_names_are_refused(self):
        # (A URL ending in "/" is refused by the catalog itself: see DownloadFakeServer.)
        for path in ("/dl/%2E%2E", "/dl/%2e", "/dl/a%2Fb.pkg", "/dl/a%00b.pkg", "/dl/.profile",
                     "/dl/a%0Ab.pkg", "/dl/a%5Cb.pkg", "/dl/a%1B%5B1m.pkg"):
            with self.subTest(path=path):
                self.fs.route(path, self.data)
                config = self.local(self.data, url=self.fs.url(path))
                self.assertOneLineError(self.download(config, "-d", self.out, "--retries", "0"),
                                        5)
                self.assertNothingSaved()
                self.assertNothingSaved(self.work)

    def test_redirect_to_a_closed_port_cannot_reach(self):
        self.fs.route("/hop", self.data, default=Redirect("http://127.0.0.1:1/x.pkg"))
        config = self.local(self.data, url=self.fs.url("/hop"))
        result = self.download(config, "-d", self.out, "--retries", "0")
        self.assertOneLineError(result, 5, "cannot reach http://127.0.0.1:1/x.pkg: ")
        self.assertNothingSaved()

    def test_a_signed_query_stays_out_of_messages(self):
        path = "/dl/" + PKG
        self.fs.route(path, self.data, default=Status(404))
        config = self.local(self.data, url=self.fs.url(path) + "?X-Amz-Signature=s3cr3t")
        result = self.download(config, "-d", self.out, "--retries", "0")
        self.assertError(result, 3, f"{self.fs.url(path)}?... answered HTTP 404 (Not Found)")

    def test_proxy_from_the_environment(self):
        # libcurl takes http_proxy from the environment: the fault server
        # plays the proxy and sees the absolute-form request.
        config = self.local(self.data, base="http://agent-downloads.invalid/")
        env = {"http_proxy": self.fs.base, "no_proxy": None, "NO_PROXY": None}
        self.assertDownloaded(self.download(config, "-d", self.out, "--retries", "0", env=env),
                              self.target(), self.data)
        self.assertEqual([r.target for r in self.fs.requests()],
                         ["http://agent-downloads.invalid" + ART])

    def test_no_proxy_from_the_environment(self):
        env = {"http_proxy": f"http://127.0.0.1:{closed_port()}/", "no_proxy": "127.0.0.1"}
        self.assertDownloaded(
            self.download(self.config(), "-d", self.out, "--retries", "0", env=env),
            self.target(), self.data)

    def test_tls_certificate_is_verified(self):
        # A self-signed certificate is not in the system's CA store: refused,
        # not retried, nothing saved.
        import ssl
        cert = os.path.join(self.tmp, "cert.pem")
        key = os.path.join(self.tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        tls = start_fault_server(self, tls_context=context)
        tls.route(ART, self.data)
        config = self.local(self.data, base=tls.base)
        result = self.download(config, "-d", self.out, "--retries", "2")
        self.assertOneLineError(result, 5, f"cannot reach {tls.url(ART)}: ")
        self.assertIn("certificate", result.stderr)
        self.assertEqual(tls.requests(), [])
        self.assertNothingSaved()

    def test_config_flag_beats_the_server_variable(self):
        # AGENTDL_SERVER names a server (a second fault server, which records
        # whether it was asked): --config reads the catalog all the same, and
        # the token goes nowhere.
        api = start_fault_server(self)
        env = {"AGENTDL_SERVER": api.url("/v2"), "AGENTDL_TOKEN": TOKEN}
        self.assertDownloaded(self.download(self.config(), "-d", self.out, env=env),
                              self.target(), self.data)
        self.assertEqual(api.requests(), [])
        self.assertEqual([(r.path, r.authorization) for r in self.fs.requests()],
                         [(ART, None)])

    def test_missing_directory_is_a_local_error(self):
        missing = os.path.join(self.tmp, "no", "such")
        result = self.download(self.config(), "-d", missing, "--retries", "0")
        self.assertOneLineError(result, 1)
        self.assertIn(missing, result.stderr)
        self.assertFalse(os.path.exists(missing))

    def test_write_error_keeps_the_part_and_saves_nothing(self):
        # A file size limit (or a full disk) cuts the .part short: the write
        # error is reported, never a short file taken as verified (the hash
        # and the size count bytes before they are written). The error comes
        # at the end (one block) or mid-transfer (several 1 MiB blocks).
        part = self.target() + ".part"

        def limit_file_size(limit):
            def preexec():
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() fails with EFBIG
            return preexec

        for size, limit in ((len(self.data), 100_000), (3 * 1024 * 1024 + 5, 1_500_000)):
            with self.subTest(size=size):
                data = os.urandom(size)
                self.fs.route(ART, data)
                self.fs.clear()
                config = self.local(data, base=self.fs.base)
                result = self.agentdl("download", "--config", config, *PLATFORM, "-d", self.out,
                                      "--retries", "0", preexec_fn=limit_file_size(limit))
                self.assertError(result, 1, f"cannot write {part}: File too large")
                self.assertEqual(self.listing(), [PKG + ".part"])
                self.assertEqual(self.read(part), data[:limit], "the .part is kept as written")
                # The next run continues it.
                self.assertDownloaded(self.download(config, "-d", self.out, "--retries", "0"),
                                      self.target(), data)
                self.assertEqual(self.ranges(self.fs), [None, f"bytes={limit}-"])
                os.remove(self.target())

    # ---- integrity

    def test_corrupted_artifact(self):
        self.fs.route(ART, self.data, default=Corrupt())
        result = self.download(self.config(), "-d", self.out)
        self.assertError(result, 6, f"sha256 mismatch for {PKG}: expected {sha(self.data)}, "
                                    f"got {sha(corrupted(self.data))}")
        self.assertNothingSaved()
        self.assertEqual(len(self.fs.requests()), 1, "an integrity failure is not retried")

    def test_mismatch_leaves_an_existing_target_untouched(self):
        old = b"the old installer\n"
        with open(self.target(), "wb") as f:
            f.write(old)
        os.utime(self.target(), (1_000_000_000, 1_000_000_000))
        self.fs.route(ART, self.data, default=Corrupt())
        result = self.download(self.config(), "-d", self.out, "--retries", "0")
        self.assertEqual(result.returncode, 6, msg=repr(result))
        self.assertEqual(self.read(self.target()), old)
        self.assertEqual(os.stat(self.target()).st_mtime, 1_000_000_000)
        self.assertEqual(self.listing(), [PKG])

    def test_size_larger_than_served(self):
        n = len(self.data)
        result = self.download(self.config(size=n + 100), "-d", self.out, "--retries", "0")
        self.assertError(result, 6, f"size mismatch for {PKG}: expected {n + 100} bytes, got {n}")
        self.assertNothingSaved()

    def test_size_smaller_than_served(self):
        n = len(self.data)
        result = self.download(self.config(size=n - 100), "-d", self.out, "--retries", "0")
        self.assertOneLineError(result, 6, f"size mismatch for {PKG}: expected {n - 100} bytes, "
                                           "got ")
        self.assertRegex(result.stderr, r"got \d+\n$")
        self.assertNothingSaved()

    def test_size_exceeded_without_content_length(self):
        # No Content-Length: the transfer is aborted once it passes the expected size.
        n = len(self.data)
        self.fs.route(ART, self.data, default=Unsized())
        result = self.download(self.config(size=n - 100), "-d", self.out, "--retries", "0")
        self.assertOneLineError(result, 6, f"size mismatch for {PKG}: expected {n - 100} bytes, "
                                           "got ")
        got = re.search(r"got (\d+)\n$", result.stderr)
        self.assertTrue(got, msg=repr(result))
        self.assertGreater(int(got.group(1)), n - 100)
        self.assertNothingSaved()

    def test_wrong_content_length_stops_before_the_body(self):
        # A 200 announcing another size than the catalog's cannot be the
        # artifact: the download stops at its first bytes (the server trickles
        # and pads its body to the false length, so fetching it would take long).
        n = len(self.data)
        claimed = 1000 * n
        trickle = Trickle(2048, 0.1, length=claimed)
        self.fs.route(ART, self.data, default=trickle)
        result = self.download(self.config(), "-d", self.out, "--retries", "0")
        self.assertError(result, 6, f"size mismatch for {PKG}: expected {n} bytes, "
                                    f"got {claimed}")
        self.assertLess(trickle.sent, n, "the body was fetched")
        self.assertEqual(self.ranges(self.fs), [None])
        self.assertNothingSaved()

    def test_size_short_without_content_length(self):
        n = len(self.data)
        self.fs.route(ART, self.data, default=Unsized())
        result = self.download(self.config(size=n + 100), "-d", self.out, "--retries", "0")
        self.assertError(result, 6, f"size mismatch for {PKG}: expected {n + 100} bytes, got {n}")
        self.assertNothingSaved()

    def test_unsized_answer_is_verified(self):
        self.fs.route(ART, self.data, default=Unsized())
        self.assertDownloaded(self.download(self.config(), "-d", self.out, "--retries", "0"),
                              self.target(), self.data)

    def test_no_sha256_known(self):
        config = self.config(sha256=None)
        self.assertDownloaded(
            self.download(config, "-d", self.out), self.target(), self.data,
            f"agentdl: warning: no sha256 known for {PKG}; saved without verifying its content\n")

    def test_no_sha256_but_size_is_checked(self):
        n = len(self.data)
        result = self.download(self.config(sha256=None, size=n + 1), "-d", self.out,
                               "--retries", "0")
        self.assertEqual((result.returncode, result.stdout), (6, ""), msg=repr(result))
        self.assertIn(f"agentdl: error: size mismatch for {PKG}: expected {n + 1} bytes, "
                      f"got {n}\n", result.stderr)
        self.assertNothingSaved()

    # ---- HTTP errors of the artifact fetch

    def test_404_is_exit_3_and_not_retried(self):
        url = self.fs.url("/missing/" + PKG)
        config = self.local(self.data, url=url)
        result = self.download(config, "-d", self.out, "--retries", "3")
        self.assertError(result, 3, f"{url} answered HTTP 404 (Not Found)")
        self.assertNothingSaved()
        self.assertEqual(len(self.fs.requests()), 1, "a 4xx is not retried")

    def test_410_is_exit_3(self):
        self.fs.route(ART, self.data, default=Status(410))
        result = self.download(self.config(), "-d", self.out, "--retries", "3")
        self.assertError(result, 3, f"{self.art_url} answered HTTP 410 (Gone)")
        self.assertNothingSaved()
        self.assertEqual(len(self.fs.requests()), 1)

    def test_401_and_403_are_exit_4_and_not_retried(self):
        for status, reason in ((401, "Unauthorized"), (403, "Forbidden")):
            with self.subTest(status=status):
                self.fs.route(ART, self.data, default=Status(status))
                self.fs.clear()
                result = self.download(self.config(), "-d", self.out, "--retries", "3")
                self.assertError(result, 4, f"{self.art_url} answered HTTP {status} ({reason})")
                self.assertNothingSaved()
                self.assertEqual(len(self.fs.requests()), 1, "a 4xx is not retried")

    def test_redirect_chain_to_404(self):
        gone = self.fs.url("/gone/" + PKG)
        self.fs.route("/hop1/" + PKG, default=Redirect(self.fs.url("/hop2/" + PKG)))
        self.fs.route("/hop2/" + PKG, default=Redirect(gone, status=301))
        config = self.local(self.data, url=self.fs.url("/hop1/" + PKG))
        result = self.download(config, "-d", self.out, "--retries", "0")
        self.assertError(result, 3, f"{gone} answered HTTP 404 (Not Found)")
        self.assertNothingSaved()

    def test_5xx_is_exit_5(self):
        self.fs.route(ART, self.data, default=Status(502))
        result = self.download(self.config(), "-d", self.out, "--retries", "0")
        self.assertError(result, 5, f"{self.art_url} answered HTTP 502 (Bad Gateway)")
        self.assertNothingSaved()
        self.assertEqual(len(self.fs.requests()), 1)

    def test_5xx_then_success_is_retried(self):
        self.fs.route(ART, self.data, actions=[Status(503)])
        start = time.monotonic()
        result = self.download(self.config(), "-d", self.out, "--retries", "1")
        elapsed = time.monotonic() - start
        self.assertDownloaded(result, self.target(), self.data)
        self.assertEqual(self.ranges(self.fs), [None, None])
        self.assertGreaterEqual(elapsed, 0.9, "the retry comes after a 1 s backoff")

    def test_connection_refused_is_exit_5(self):
        config = self.local(self.data, base=f"http://127.0.0.1:{closed_port()}/")
        self.assertOneLineError(self.download(config, "-d", self.out, "--retries", "0"), 5)
        self.assertNothingSaved()

    # ---- redirects

    def test_redirects_are_followed(self):
        self.fs.route("/r1/" + PKG, default=Redirect(self.fs.url("/r2/" + PKG), status=301))
        self.fs.route("/r2/" + PKG, default=Redirect(self.fs.url("/r3/" + PKG), status=307))
        self.fs.route("/r3/" + PKG, default=Redirect(self.art_url, status=302))
        config = self.local(self.data, url=self.fs.url("/r1/" + PKG))
        self.assertDownloaded(self.download(config, "-d", self.out, "--max-redirects", "3"),
                              self.target(), self.data)
        self.assertEqual([r.path for r in self.fs.requests()],
                         ["/r1/" + PKG, "/r2/" + PKG, "/r3/" + PKG, ART])

    def test_too_many_redirects(self):
        self.fs.route("/r1/" + PKG, default=Redirect(self.fs.url("/r2/" + PKG)))
        self.fs.route("/r2/" + PKG, default=Redirect(self.fs.url("/r3/" + PKG)))
        self.fs.route("/r3/" + PKG, default=Redirect(self.art_url))
        config = self.local(self.data, url=self.fs.url("/r1/" + PKG))
        result = self.download(config, "-d", self.out, "--max-redirects", "2", "--retries", "0")
        self.assertError(result, 5, f"transfer from {self.fs.url('/r3/' + PKG)} failed: "
                                    "more than 2 redirects")
        self.assertNothingSaved()
        self.assertEqual(self.fs.requests(ART), [], "the artifact is beyond the limit")

    def test_too_many_redirects_keeps_a_signed_query_out_of_the_message(self):
        self.fs.route("/r1/" + PKG, default=Redirect(self.fs.url("/r2/" + PKG) + "?sig=2"))
        self.fs.route("/r2/" + PKG, default=Redirect(self.art_url))
        config = self.local(self.data, url=self.fs.url("/r1/" + PKG) + "?sig=1")
        result = self.download(config, "-d", self.out, "--max-redirects", "1", "--retries", "0")
        self.assertError(result, 5, f"transfer from {self.fs.url('/r2/' + PKG)}?... failed: "
                                    "more than 1 redirects")
        self.assertNothingSaved()

    def test_redirect_to_a_non_http_scheme_is_refused(self):
        for location, scheme in (("ftp://127.0.0.1/" + PKG, "ftp"),
                                 ("file:///etc/passwd", "file")):
            with self.subTest(location=location):
                self.fs.route("/hop/" + PKG, default=Redirect(location))
                config = self.local(self.data, url=self.fs.url("/hop/" + PKG) + "?sig=1")
                result = self.download(config, "-d", self.out, "--retries", "0")
                self.assertError(result, 5, f"{self.fs.url('/hop/' + PKG)}?... redirected to a "
                                            f"{scheme}: URL; only http and https are fetched")
                self.assertNothingSaved()

    def test_only_301_302_303_307_and_308_are_followed(self):
        for status in (301, 302, 303, 307, 308):
            with self.subTest(status=status):
                self.fs.route("/hop/" + PKG, default=Redirect(self.art_url, status=status))
                config = self.local(self.data, url=self.fs.url("/hop/" + PKG))
                self.assertDownloaded(self.download(config, "-d", self.out, "--force"),
                                      self.target(), self.data)
        for status, shown in ((300, "HTTP 300"), (304, "HTTP 304 (Not Modified)"),
                              (305, "HTTP 305")):
            with self.subTest(status=status):
                self.fs.route("/hop/" + PKG, default=Respond(status, [("Location", ART)]))
                self.fs.clear()
                config = self.local(self.data, url=self.fs.url("/hop/" + PKG))
                result = self.download(config, "-o", os.path.join(self.out, "x.pkg"),
                                       "--retries", "0")
                self.assertError(result, 5,
                                 f"{self.fs.url('/hop/' + PKG)} answered {shown}")
                self.assertEqual(self.fs.requests(ART), [])

    # ---- resume

    def test_resume_a_truncated_part(self):
        k = 123_457
        with open(self.target() + ".part", "wb") as f:
            f.write(self.data[:k])
        self.assertDownloaded(self.download(self.config(), "-d", self.out), self.target(),
                              self.data)
        self.assertEqual(self.ranges(self.fs), [f"bytes={k}-"])
        self.assertEqual(self.listing(), [PKG])

    def test_resume_with_o_file(self):
        k = 4096
        path = os.path.join(self.out, "renamed.bin")
        with open(path + ".part", "wb") as f:
            f.write(self.data[:k])
        self.assertDownloaded(self.download(self.config(), "-o", path), path, self.data)
        self.assertEqual(self.ranges(self.fs), [f"bytes={k}-"])

    def test_part_with_a_garbage_prefix(self):
        # A .part an earlier run left may be another file's beginning: when the
        # continued file does not match, it is fetched whole, once.
        k = 50_000
        garbage = os.urandom(k)
        with open(self.target() + ".part", "wb") as f:
            f.write(garbage)
        self.assertDownloaded(self.download(self.config(), "-d", self.out, "--retries", "0"),
                              self.target(), self.data)
        self.assertEqual(self.ranges(self.fs), [f"bytes={k}-", None])

    def test_part_with_a_garbage_prefix_and_a_corrupt_artifact(self):
        k = 50_000
        with open(self.target() + ".part", "wb") as f:
            f.write(os.urandom(k))
        self.fs.route(ART, self.data, default=Corrupt())
        result = self.download(self.config(), "-d", self.out, "--retries", "0")
        self.assertError(result, 6, f"sha256 mismatch for {PKG}: expected {sha(self.data)}, "
                                    f"got {sha(corrupted(self.data))}")
        self.assertEqual(self.ranges(self.fs), [f"bytes={k}-", None])
        self.assertNothingSaved()

    def test_part_is_not_continued_without_a_sha256(self):
        # Nothing could tell a stale .part from a good one.
        with open(self.target() + ".part", "wb") as f:
            f.write(os.urandom(50_000))
        config = self.local(self.data, base=self.fs.base, sha256=None)
        result = self.download(config, "-d", self.out, "--retries", "0")
        self.assertDownloaded(result, self.target(), self.data, stderr=(
            f"agentdl: warning: no sha256 known for {PKG}; saved without verifying its content\n"))
        self.assertEqual(self.ranges(self.fs), [None])

    def test_force_with_a_first_connection_dropped_still_starts_over(self):
        with open(self.target() + ".part", "wb") as f:
            f.write(os.urandom(70_000))
        self.fs.route(ART, self.data, actions=[Drop(0)])
        self.assertDownloaded(
            self.download(self.config(), "-d", self.out, "--force", "--retries", "1"),
            self.target(), self.data)
        self.assertEqual(self.ranges(self.fs), [None, None])

    def test_part_locked_by_another_run(self):
        import fcntl
        part = self.target() + ".part"
        prefix = self.data[:50_000]
        with open(part, "wb") as f:
            f.write(prefix)
        with open(part, "rb+") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            for args in ((), ("--force",)):
                with self.subTest(args=args):
                    result = self.download(self.config(), "-d", self.out, "--retries", "0", *args)
                    self.assertError(result, 1, f"{part} is being downloaded by another agentdl; "
                                                "wait for it to finish")
        self.assertEqual(self.read(part), prefix)
        self.assertEqual(self.listing(), [PKG + ".part"])

    @unittest.skipUnless(os.geteuid() == 0, "needs root to give the .part to another user")
    def test_part_of_another_user_is_refused(self):
        part = self.target() + ".part"
        with open(part, "wb") as f:
            f.write(self.data[:1000])
        os.chown(part, 65534, 65534)
        result = self.download(self.config(), "-d", self.out, "--retries", "0")
        self.assertError(result, 1, f"{part} is not a plain file of this user's; "
                                    "remove it and run again")
        self.assertEqual(self.fs.requests(), [])

    def test_server_ignoring_range_restarts(self):
        k = 100_000
        self.fs.route(ART, self.data, default=IgnoreRange())
        with open(self.target() + ".part", "wb") as f:
            f.write(self.data[:k])
        self.assertDownloaded(self.download(self.config(), "-d", self.out, "--retries", "0"),
                              self.target(), self.data)
        self.assertEqual(self.ranges(self.fs)[0], f"bytes={k}-")

    def test_server_ignoring_range_with_a_garbage_part(self):
        # The 200 restarts from 0, so the garbage is dropped and the file verifies.
        k = 100_000
        self.fs.route(ART, self.data, default=IgnoreRange())
        with open(self.target() + ".part", "wb") as f:
            f.write(os.urandom(k))
        self.assertDownloaded(self.download(self.config(), "-d", self.out, "--retries", "0"),
                              self.target(), self.data)

    def test_range_not_at_the_requested_byte_refetches_whole(self):
        # A 206 that does not continue the .part (here: the file from byte 0)
        # is not appended: the file is fetched whole, once.
        k = 100_000
        with open(self.target() + ".part", "wb") as f:
            f.write(self.data[:k])
        self.fs.route(ART, self.data, actions=[WrongRange(0)])
        self.assertDownloaded(self.download(self.config(), "-d", self.out, "--retries", "0"),
                              self.target(), self.data)
        self.assertEqual(self.ranges(self.fs), [f"bytes={k}-", None])

    def test_range_never_at_the_requested_byte(self):
        # Even the request for the whole file gets a 206 from byte 1000: given
        # up, the .part kept as it was.
        k = 100_000
        part = self.target() + ".part"
        with open(part, "wb") as f:
            f.write(self.data[:k])
        self.fs.route(ART, self.data, default=WrongRange(1000))
        result = self.download(self.config(), "-d", self.out, "--retries", "3")
        self.assertError(result, 5, f"{self.art_url} answered a range that does not start at "
                                    "byte 0")
        self.assertEqual(self.ranges(self.fs), [f"bytes={k}-", None])
        self.assertEqual(self.listing(), [PKG + ".part"])
        self.assertEqual(self.read(part), self.data[:k])

    def test_416_restarts_without_range(self):
        # Size unknown: a whole .part is continued at its length, which is past the end.
        with open(self.target() + ".part", "wb") as f:
            f.write(self.data)
        self.assertDownloaded(
            self.download(self.config(size=None), "-d", self.out, "--retries", "0"),
            self.target(), self.data)
        self.assertEqual(self.ranges(self.fs), [f"bytes={len(self.data)}-", None])

    def test_part_as_long_as_expected(self):
        with open(self.target() + ".part", "wb") as f:
            f.write(self.data)
        self.assertDownloaded(self.download(self.config(), "-d", self.out, "--retries", "0"),
                              self.target(), self.data)
        self.assertNotIn(f"bytes={len(self.data)}-", self.ranges(self.fs))

    def test_part_longer_than_expected(self):
        with open(self.target() + ".part", "wb") as f:
            f.write(os.urandom(len(self.data) + 1000))
        self.assertDownloaded(self.download(self.config(), "-d", self.out, "--retries", "0"),
                              self.target(), self.data)
        self.assertEqual(self.ranges(self.fs), [None])

    def test_empty_artifact_with_a_longer_part(self):
        # The .part is longer than the (empty) artifact, so the whole file is
        # asked for; its empty body is the file, not what the .part held.
        with open(self.target() + ".part", "wb") as f:
            f.write(os.urandom(5000))
        self.fs.route(ART, b"")
        config = self.local(b"", base=self.fs.base)
        self.assertDownloaded(self.download(config, "-d", self.out, "--retries", "0"),
                              self.target(), b"")
        self.assertEqual(self.ranges(self.fs), [None])

    def test_force_discards_the_part(self):
        with open(self.target() + ".part", "wb") as f:
            f.write(os.urandom(70_000))
        self.assertDownloaded(
            self.download(self.config(), "-d", self.out, "--force", "--retries", "0"),
            self.target(), self.data)
        self.assertEqual(self.ranges(self.fs), [None])

    def test_cut_short_without_retries_then_resumed(self):
        k = 100_000
        self.fs.route(ART, self.data, actions=[Drop(k)])
        result = self.download(self.config(), "-d", self.out, "--retries", "0")
        self.assertOneLineError(result, 5)
        self.assertEqual(self.listing(), [PKG + ".part"])
        self.assertEqual(self.read(self.target() + ".part"), self.data[:k])
        # The next run resumes.
        self.assertDownloaded(self.download(self.config(), "-d", self.out, "--retries", "0"),
                              self.target(), self.data)
        self.assertEqual(self.ranges(self.fs), [None, f"bytes={k}-"])
        self.assertEqual(self.listing(), [PKG])

    def test_cut_short_with_a_retry(self):
        k = 100_000
        self.fs.route(ART, self.data, actions=[Drop(k)])
        self.assertDownloaded(self.download(self.config(), "-d", self.out, "--retries", "1"),
                              self.target(), self.data)
        self.assertEqual(self.ranges(self.fs), [None, f"bytes={k}-"])

    def test_cut_short_twice_with_two_retries(self):
        self.fs.route(ART, self.data, actions=[Drop(1000), Drop(2000)])
        self.assertDownloaded(self.download(self.config(), "-d", self.out, "--retries", "2"),
                              self.target(), self.data)
        self.assertEqual(self.ranges(self.fs), [None, "bytes=1000-", "bytes=3000-"])

    def test_too_slow_is_aborted(self):
        self.fs.route(ART, self.data, default=Trickle(200, 0.5))
        start = time.monotonic()
        result = self.download(self.config(), "-d", self.out, "--retries", "0",
                               "--speed-limit", "100000", "--speed-time", "1")
        self.assertOneLineError(result, 5)
        self.assertLess(time.monotonic() - start, 15)
        self.assertFalse(os.path.exists(self.target()))

    # ---- existing target

    def test_existing_verified_target_is_left_alone(self):
        with open(self.target(), "wb") as f:
            f.write(self.data)
        os.utime(self.target(), (1_000_000_000, 1_000_000_000))
        before = os.stat(self.target())
        result = self.download(self.config(), "-d", self.out)
        self.assertDownloaded(result, self.target(), self.data)
        after = os.stat(self.target())
        self.assertEqual((after.st_ino, after.st_mtime), (before.st_ino, before.st_mtime))
        self.assertEqual(self.fs.requests(), [], "nothing is downloaded")

    def test_force_downloads_anew(self):
        with open(self.target(), "wb") as f:
            f.write(self.data)
        os.utime(self.target(), (1_000_000_000, 1_000_000_000))
        result = self.download(self.config(), "-d", self.out, "--force")
        self.assertDownloaded(result, self.target(), self.data)
        self.assertNotEqual(os.stat(self.target()).st_mtime, 1_000_000_000)
        self.assertEqual(self.ranges(self.fs), [None])

    def test_existing_different_target_is_replaced(self):
        for old in (b"older installer", corrupted(self.data)):
            with self.subTest(size=len(old)):
                with open(self.target(), "wb") as f:
                    f.write(old)
                self.fs.clear()
                self.assertDownloaded(self.download(self.config(), "-d", self.out),
                                      self.target(), self.data)
                self.assertEqual(self.ranges(self.fs), [None])
                self.assertEqual(self.listing(), [PKG])

    # ---- progress bar

    def slow(self):
        """Makes the artifact take about 1.5 s: 768 KiB in 32 KiB steps."""
        self.data = os.urandom(768 * 1024)
        self.fs.route(ART, self.data, default=Trickle(32 * 1024, 0.06))

    def test_progress_bar_on_a_terminal(self):
        self.slow()
        code, out, term = self.run_pty("download", "--config", self.config(), *PLATFORM,
                                       "-d", self.out, "--retries", "0")
        self.assertEqual((code, out), (0, self.target() + "\n"), msg=term)
        self.assertEqual(self.read(self.target()), self.data)
        self.assertIn(b"%", term)
        self.assertIn(b"\r", term)
        self.assertNotIn(b"error", term)
        # Cleared at the end: what follows the last carriage return shows no bar.
        self.assertNotIn(b"%", term.rsplit(b"\r", 1)[1], msg=term[-300:])

    def test_quiet_draws_no_bar(self):
        self.slow()
        code, out, term = self.run_pty("download", "--config", self.config(), *PLATFORM,
                                       "-d", self.out, "--retries", "0", "--quiet")
        self.assertEqual((code, out, term), (0, self.target() + "\n", b""))
        self.assertEqual(self.read(self.target()), self.data)

    def test_no_bar_when_stderr_is_not_a_terminal(self):
        self.slow()
        self.assertDownloaded(self.download(self.config(), "-d", self.out, "--retries", "0"),
                              self.target(), self.data)

    # ---- interruption

    def interrupt(self, sig, code):
        self.data = os.urandom(1024 * 1024)
        trickle = Trickle(8192, 0.1)  # about 80 KB/s: 13 s for the whole
        self.fs.route(ART, self.data, actions=[trickle])
        config = self.config()
        part = self.target() + ".part"
        proc = subprocess.Popen([AGENTDL, "download", "--config", config, *PLATFORM,
                                 "-d", self.out, "--retries", "0"],
                                cwd=self.work, env=self.child_env(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        # Mid-download: some 40 KiB are on their way (agentdl may buffer before writing).
        deadline = time.monotonic() + 10
        while trickle.sent < 40 * 1024:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                out, err = proc.communicate()
                self.fail(f"the download did not start: exit {proc.returncode}, {out!r}, "
                          f"{err!r}")
            time.sleep(0.02)
        time.sleep(0.2)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)
        self.assertEqual((proc.returncode, out.decode(), err.decode()),
                         (code, "", f"agentdl: error: interrupted; {part} kept: run the same "
                                    "command again to resume\n"))
        self.assertFalse(os.path.exists(self.target()))
        self.assertEqual(self.listing(), [PKG + ".part"])
        k = os.path.getsize(part)
        self.assertGreater(k, 0, "the bytes received before the signal are kept")
        self.assertLess(k, len(self.data))
        self.assertEqual(self.read(part), self.data[:k])
        # The same command again resumes.
        self.assertDownloaded(self.download(config, "-d", self.out, "--retries", "0"),
                              self.target(), self.data)
        self.assertEqual(self.ranges(self.fs), [None, f"bytes={k}-"])

    def test_sigint_keeps_the_part(self):
        self.interrupt(signal.SIGINT, 130)

    def test_sigterm_keeps_the_part(self):
        self.interrupt(signal.SIGTERM, 143)

    # ---- usage

    def test_usage_errors(self):
        config = self.config()
        for args in (["-o", self.target(), "-d", self.out],
                     ["--channel", "stable", "--version", "1.8.3"],
                     ["--server", "http://127.0.0.1:1/v2"]):
            with self.subTest(args=args):
                result = self.download(config, *args)
                self.assertEqual((result.returncode, result.stdout), (2, ""), msg=repr(result))
                self.assertTrue(result.stderr.startswith("agentdl: error: "), msg=repr(result))
        self.assertEqual(self.fs.requests(), [])
        self.assertNothingSaved()


class DownloadNginx(DownloadTestCase):
    """A local catalog whose artifact a real nginx serves."""

    def setUp(self):
        super().setUp()
        self.root = self.mkdir("www")
        self.data = os.urandom(2 * 1024 * 1024 + 3)
        os.makedirs(os.path.join(self.root, "macos", "arm64"))
        with open(os.path.join(self.root, ART_PATH), "wb") as f:
            f.write(self.data)
        self.nginx = start_nginx(self, self.root)

    def config(self, **kwargs):
        return self.local(self.data, base=self.nginx.url, **kwargs)

    def nginx_log(self):
        return [(r.method, r.path, r.status, r.range) for r in self.nginx.requests()]

    def test_verified_download(self):
        path = os.path.join(self.out, "a.pkg")
        self.assertDownloaded(self.download(self.config(), "-o", path), path, self.data)
        self.assertEqual(self.nginx_log(), [("GET", ART, 200, None)])

    def test_resume(self):
        k = 1_000_001
        with open(self.target() + ".part", "wb") as f:
            f.write(self.data[:k])
        self.assertDownloaded(self.download(self.config(), "-d", self.out), self.target(),
                              self.data)
        self.assertEqual(self.nginx_log(), [("GET", ART, 206, f"bytes={k}-")])

    def test_corrupted(self):
        expected = os.urandom(len(self.data))
        result = self.download(self.local(expected, base=self.nginx.url), "-d", self.out)
        self.assertError(result, 6, f"sha256 mismatch for {PKG}: expected {sha(expected)}, "
                                    f"got {sha(self.data)}")
        self.assertNothingSaved()

    def test_404(self):
        os.remove(os.path.join(self.root, ART_PATH))
        result = self.download(self.config(), "-d", self.out, "--retries", "3")
        self.assertError(result, 3, f"{self.nginx.url}{ART_PATH} answered HTTP 404 (Not Found)")
        self.assertNothingSaved()
        self.assertEqual(self.nginx_log(), [("GET", ART, 404, None)])


class DownloadRemote(DownloadTestCase):
    """agentdl-serve resolves; its catalog's base_url points at nginx."""

    def setUp(self):
        super().setUp()
        self.root = self.mkdir("www")
        self.data = os.urandom(1024 * 1024 + 5)
        os.makedirs(os.path.join(self.root, "macos", "arm64"))
        with open(os.path.join(self.root, ART_PATH), "wb") as f:
            f.write(self.data)
        self.nginx = start_nginx(self, self.root)

    def serve(self, data=None, sha256=_UNSET, size=_UNSET, base=None):
        data = self.data if data is None else data
        if sha256 is _UNSET:
            sha256 = sha(data)
        if size is _UNSET:
            size = len(data)
        text = catalog(base=base or self.nginx.url, sha256=sha256, size=size)
        config = self.write("serve.toml", text, dedent=False)
        daemon = self.start(config)
        self.api = f"http://127.0.0.1:{daemon.port}/v2"
        return daemon

    def remote(self, *args, token=TOKEN, cwd=None):
        env = {"AGENTDL_TOKEN": token} if token is not None else {}
        return self.agentdl("download", "--server", self.api, *PLATFORM, *args, env=env,
                            cwd=cwd)

    def nginx_log(self):
        return [(r.method, r.path, r.status, r.range, r.authorization)
                for r in self.nginx.requests()]

    def test_verified_download(self):
        self.serve()
        self.assertDownloaded(self.remote("-d", self.out), self.target(), self.data)
        # The token goes to agentdl-serve only, never to the file server.
        self.assertEqual(self.nginx_log(), [("GET", ART, 200, None, None)])

    def test_default_target_and_version(self):
        self.serve()
        result = self.remote("--version", "1.8.3")
        self.assertEqual((result.returncode, result.stderr), (0, ""), msg=repr(result))
        self.assertIn(result.stdout, (f"./{PKG}\n", f"{PKG}\n"), msg=repr(result))
        self.assertEqual(self.read(os.path.join(self.work, PKG)), self.data)

    def test_token_file(self):
        self.serve()
        path = self.write("token.txt", f" {TOKEN} \n", dedent=False)
        result = self.agentdl("download", "--server", self.api, "--token-file", path,
                              *PLATFORM, "-d", self.out)
        self.assertDownloaded(result, self.target(), self.data)

    def test_server_from_the_environment(self):
        self.serve()
        result = self.agentdl("download", *PLATFORM, "-d", self.out,
                              env={"AGENTDL_SERVER": self.api, "AGENTDL_TOKEN": TOKEN})
        self.assertDownloaded(result, self.target(), self.data)

    def test_sha256_from_the_server(self):
        # The catalog's sha256 (sent as X-Artifact-Sha256) differs from the served bytes.
        expected = os.urandom(len(self.data))
        self.serve(data=expected)
        result = self.remote("-d", self.out, "--retries", "0")
        self.assertError(result, 6, f"sha256 mismatch for {PKG}: expected {sha(expected)}, "
                                    f"got {sha(self.data)}")
        self.assertNothingSaved()

    def test_size_from_the_server(self):
        n = len(self.data)
        self.serve(size=n + 10)
        result = self.remote("-d", self.out, "--retries", "0")
        self.assertError(result, 6, f"size mismatch for {PKG}: expected {n + 10} bytes, got {n}")
        self.assertNothingSaved()

    def test_no_sha256_known(self):
        self.serve(sha256=None)
        self.assertDownloaded(
            self.remote("-d", self.out), self.target(), self.data,
            f"agentdl: warning: no sha256 known for {PKG}; saved without verifying its content\n")

    def test_resume(self):
        self.serve()
        k = 300_000
        with open(self.target() + ".part", "wb") as f:
            f.write(self.data[:k])
        self.assertDownloaded(self.remote("-d", self.out), self.target(), self.data)
        self.assertEqual(self.nginx_log(), [("GET", ART, 206, f"bytes={k}-", None)])

    def test_existing_verified_target_is_left_alone(self):
        self.serve()
        with open(self.target(), "wb") as f:
            f.write(self.data)
        os.utime(self.target(), (1_000_000_000, 1_000_000_000))
        self.assertDownloaded(self.remote("-d", self.out), self.target(), self.data)
        self.assertEqual(os.stat(self.target()).st_mtime, 1_000_000_000)
        self.assertEqual(self.nginx_log(), [])

    def test_without_a_token(self):
        self.serve()
        self.assertError(self.remote("-d", self.out, token=None), 4, NEEDS_TOKEN)
        self.assertNothingSaved()
        self.assertEqual(self.nginx_log(), [])

    def test_wrong_token(self):
        self.serve()
        self.assertError(self.remote("-d", self.out, token="nope"), 4,
                         "the server rejected the token (server said: Invalid token)")
        self.assertNothingSaved()

    def test_not_found(self):
        self.serve()
        result = self.remote("--version", "9.9.9", "-d", self.out)
        self.assertError(result, 3, "no release 9.9.9")
        result = self.agentdl("download", "--server", self.api, "--platform", "macos",
                              "--arch", "x86_64", "-d", self.out, env={"AGENTDL_TOKEN": TOKEN})
        self.assertError(result, 3, 'no artifact for macos/x86_64 in release 1.8.3 '
                                    '(current release of channel "stable")')
        self.assertNothingSaved()

    def test_bad_platform(self):
        self.serve()
        result = self.agentdl("download", "--server", self.api, "--platform", "linux",
                              "-d", self.out, env={"AGENTDL_TOKEN": TOKEN})
        self.assertError(result, 2, 'unknown platform "linux" (allowed: macos)')
        self.assertNothingSaved()

    def test_artifact_missing_on_the_file_server(self):
        self.serve()
        os.remove(os.path.join(self.root, ART_PATH))
        result = self.remote("-d", self.out, "--retries", "2")
        self.assertError(result, 3, f"{self.nginx.url}{ART_PATH} answered HTTP 404 (Not Found)")
        self.assertNothingSaved()
        self.assertEqual(len(self.nginx_log()), 1)

    def test_server_unreachable(self):
        self.api = f"http://127.0.0.1:{closed_port()}/v2"
        self.assertOneLineError(self.remote("-d", self.out, "--retries", "0"), 5,
                                f"cannot reach {self.api}/")
        self.assertNothingSaved()

    def test_redirect_chain_and_no_token_to_the_file_server(self):
        # The Location is on the fault server, which redirects to nginx.
        fs = start_fault_server(self)
        fs.route("/via/" + ART_PATH, default=Redirect(self.nginx.url + ART_PATH))
        self.serve(base=fs.url("/via/"))
        self.assertDownloaded(self.remote("-d", self.out), self.target(), self.data)
        self.assertEqual([(r.path, r.authorization) for r in fs.requests()],
                         [("/via/" + ART_PATH, None)])
        self.assertEqual(self.nginx_log(), [("GET", ART, 200, None, None)])

    def test_server_with_config_is_a_usage_error(self):
        self.serve()
        config = self.local(self.data, base=self.nginx.url)
        result = self.agentdl("download", "--server", self.api, "--config", config, *PLATFORM,
                              "-d", self.out, env={"AGENTDL_TOKEN": TOKEN})
        self.assertEqual((result.returncode, result.stdout), (2, ""), msg=repr(result))
        self.assertTrue(result.stderr.startswith("agentdl: error: "), msg=repr(result))
        self.assertNothingSaved()


class DownloadFakeServer(DownloadTestCase):
    """The fault server stands in for agentdl-serve and serves the artifact too."""

    LATEST = "/v2/agent-releases/latest/download"

    def setUp(self):
        super().setUp()
        self.fs = start_fault_server(self)
        self.data = os.urandom(200 * 1024)
        self.fs.route(ART, self.data)
        self.api = self.fs.url("/v2")

    def answer(self, location, sha256=None, size=None):
        headers = [("Location", location), ("X-Release-Version", "1.8.3")]
        if sha256 is not None:
            headers.append(("X-Artifact-Sha256", sha256))
        if size is not None:
            headers.append(("X-Artifact-Size", str(size)))
        self.fs.route(self.LATEST, default=Respond(302, headers))

    def remote(self, *args):
        return self.agentdl("download", "--server", self.api, *PLATFORM, *args,
                            env={"AGENTDL_TOKEN": TOKEN})

    def test_headers_give_sha256_and_size(self):
        other = os.urandom(len(self.data))
        self.answer(self.fs.url(ART), sha(other), len(self.data))
        self.assertError(self.remote("-d", self.out, "--retries", "0"), 6,
                         f"sha256 mismatch for {PKG}: expected {sha(other)}, "
                         f"got {sha(self.data)}")
        self.answer(self.fs.url(ART), sha(self.data), len(self.data) + 1)
        self.assertError(self.remote("-d", self.out, "--retries", "0"), 6,
                         f"size mismatch for {PKG}: expected {len(self.data) + 1} bytes, "
                         f"got {len(self.data)}")
        self.assertNothingSaved()

    def test_no_headers_means_unverified(self):
        self.answer(self.fs.url(ART))
        self.assertDownloaded(
            self.remote("-d", self.out), self.target(), self.data,
            f"agentdl: warning: no sha256 known for {PKG}; saved without verifying its content\n")

    def test_location_without_a_file_name(self):
        for path in ("/dl/", "/dl/%2E%2E", "/dl/a%2Fb"):
            with self.subTest(path=path):
                self.fs.route(path, self.data)
                self.answer(self.fs.url(path), sha(self.data), len(self.data))
                self.assertOneLineError(self.remote("-d", self.out, "--retries", "0"), 5)
                self.assertNothingSaved()

    def test_location_is_fetched_verbatim(self):
        # Reserved characters stay percent-encoded: "%2F" inside a segment is not a "/".
        path = "/dl/x%2Fy/z%3Bw/" + PKG
        self.fs.route(path, self.data)
        query = "?X-Amz-Credential=AKIA%2F20261128%2Fus-east-1&X-Amz-Signature=ab%2Bc"
        self.answer(self.fs.url(path) + query, sha(self.data), len(self.data))
        self.assertDownloaded(self.remote("-d", self.out, "--retries", "0"), self.target(),
                              self.data)
        self.assertEqual([r.target for r in self.fs.requests()][1:], [path + query])

    def test_redirect_without_location(self):
        self.fs.route(self.LATEST, default=Respond(302, []))
        self.assertOneLineError(self.remote("-d", self.out, "--retries", "0"), 5)
        self.assertNothingSaved()

    def test_api_5xx(self):
        self.fs.route(self.LATEST, default=Status(502))
        self.assertError(self.remote("-d", self.out, "--retries", "0"), 5,
                         "server answered HTTP 502 (Bad Gateway)")
        self.assertNothingSaved()

    def test_api_5xx_is_retried(self):
        self.fs.route(self.LATEST, actions=[Status(503)], default=Respond(
            302, [("Location", self.fs.url(ART)), ("X-Artifact-Sha256", sha(self.data))]))
        self.assertDownloaded(self.remote("-d", self.out, "--retries", "1"), self.target(),
                              self.data)
        self.assertEqual([r.path for r in self.fs.requests()], [self.LATEST, self.LATEST, ART])


class DownloadTokenOrigin(DownloadTestCase):
    """Where the bearer token goes in remote mode (CONTRACT section 7): to the API,
    and to the artifact's URL and each redirect on the API's origin until the chain
    leaves that origin; never to another origin, nor back to the API's once left.

    One fault server plays the API and serves files on its own origin; a second
    one, on another port, is another origin. Both record each request's
    Authorization header."""

    LATEST = "/v2/agent-releases/latest/download"
    BEARER = f"Bearer {TOKEN}"

    def setUp(self):
        super().setUp()
        self.data = os.urandom(100 * 1024)
        self.api = start_fault_server(self)
        self.other = start_fault_server(self)
        for server in (self.api, self.other):
            server.route(ART, self.data)

    def locate(self, location):
        """Makes the API's /download answer a 302 to `location`, with the sha256 and size."""
        self.api.route(self.LATEST, default=Respond(302, [
            ("Location", location), ("X-Release-Version", "1.8.3"),
            ("X-Artifact-Sha256", sha(self.data)), ("X-Artifact-Size", str(len(self.data)))]))

    def remote(self, *args, api=None, env=None, retries=0):
        return self.agentdl("download", "--server", api or self.api.url("/v2"), *PLATFORM,
                            "-d", self.out, "--retries", str(retries), *args,
                            env={"AGENTDL_TOKEN": TOKEN, **(env or {})})

    @staticmethod
    def seen(server):
        return [(r.path, r.authorization) for r in server.requests()]

    def test_location_on_the_api_origin_gets_the_token(self):
        self.locate(self.api.url(ART))
        self.assertDownloaded(self.remote(), self.target(), self.data)
        self.assertEqual([(r.path, r.query, r.authorization) for r in self.api.requests()],
                         [(self.LATEST, {"platform": ["macos"], "arch": ["arm64"]}, self.BEARER),
                          (ART, {}, self.BEARER)])

    def test_location_on_another_port_gets_no_token(self):
        self.locate(self.other.url(ART))
        self.assertDownloaded(self.remote(), self.target(), self.data)
        self.assertEqual(self.seen(self.api), [(self.LATEST, self.BEARER)])
        self.assertEqual(self.seen(self.other), [(ART, None)])

    def test_same_origin_redirects_keep_the_token(self):
        # A relative Location and an absolute one, both on the API's origin.
        self.api.route("/hop1/" + PKG, default=Redirect("/hop2/" + PKG, status=307))
        self.api.route("/hop2/" + PKG, default=Redirect(self.api.url(ART), status=301))
        self.locate(self.api.url("/hop1/" + PKG))
        self.assertDownloaded(self.remote(), self.target(), self.data)
        self.assertEqual(self.seen(self.api), [(self.LATEST, self.BEARER),
                                               ("/hop1/" + PKG, self.BEARER),
                                               ("/hop2/" + PKG, self.BEARER),
                                               (ART, self.BEARER)])
        self.assertEqual(self.seen(self.other), [])

    def test_no_token_after_leaving_the_origin_even_back_on_it(self):
        self.api.route("/hop1/" + PKG, default=Redirect(self.other.url("/hop2/" + PKG)))
        self.other.route("/hop2/" + PKG, default=Redirect(self.api.url(ART)))
        self.locate(self.api.url("/hop1/" + PKG))
        self.assertDownloaded(self.remote(), self.target(), self.data)
        self.assertEqual(self.seen(self.api), [(self.LATEST, self.BEARER),
                                               ("/hop1/" + PKG, self.BEARER),
                                               (ART, None)])
        self.assertEqual(self.seen(self.other), [("/hop2/" + PKG, None)])

    def test_every_attempt_starts_the_chain_anew(self):
        # A transfer cut short is resumed from the artifact's URL: on the API's
        # origin, with the token again.
        self.api.route(ART, self.data, actions=[Drop(after=40_000)])
        self.locate(self.api.url(ART))
        self.assertDownloaded(self.remote(retries=1), self.target(), self.data)
        self.assertEqual([(r.path, r.range, r.authorization) for r in self.api.requests()],
                         [(self.LATEST, None, self.BEARER),
                          (ART, None, self.BEARER),
                          (ART, "bytes=40000-", self.BEARER)])

    def test_another_host_name_is_another_origin(self):
        # 127.0.0.1 and localhost reach the same server, but are not the same origin.
        cases = [
            (self.api.url("/v2"), f"http://localhost:{self.api.port}{ART}", None),
            (f"http://localhost:{self.api.port}/v2", self.api.url(ART), None),
            # The host is compared case-insensitively.
            (f"http://localhost:{self.api.port}/v2", f"http://LocalHost:{self.api.port}{ART}",
             self.BEARER),
        ]
        for api, location, authorization in cases:
            with self.subTest(api=api, location=location):
                self.api.clear()
                self.locate(location)
                self.assertDownloaded(self.remote("--force", api=api), self.target(), self.data)
                self.assertEqual(self.seen(self.api),
                                 [(self.LATEST, self.BEARER), (ART, authorization)])

    def test_default_port_and_scheme_case(self):
        # Through a proxy (the API fault server plays it and sees the absolute-form
        # targets), so that the API may be on port 80: ":80" is the default port
        # written out, ":8080" another port.
        env = {"http_proxy": self.api.base, "no_proxy": None, "NO_PROXY": None}
        api = "http://api.invalid/v2"
        cases = [
            ("http://api.invalid:80" + ART, self.BEARER),
            ("HTTP://API.invalid" + ART, self.BEARER),
            ("http://api.invalid:8080" + ART, None),
            ("http://cdn.invalid" + ART, None),
        ]
        for location, authorization in cases:
            with self.subTest(location=location):
                self.api.clear()
                self.locate(location)
                self.assertDownloaded(self.remote("--force", api=api, env=env), self.target(),
                                      self.data)
                requests = self.api.requests()
                self.assertEqual([r.authorization for r in requests],
                                 [self.BEARER, authorization], msg=requests)

    def test_local_catalog_sends_no_token(self):
        # Even with AGENTDL_TOKEN set, and an artifact on the origin that
        # AGENTDL_SERVER names (--config beats it).
        config = self.local(self.data, url=self.api.url(ART))
        env = {"AGENTDL_SERVER": self.api.url("/v2"), "AGENTDL_TOKEN": TOKEN}
        for extra_env in ({"AGENTDL_SERVER": None}, {}):
            with self.subTest(env=extra_env):
                self.api.clear()
                result = self.download(config, "-d", self.out, "--force",
                                       env={**env, **extra_env})
                self.assertDownloaded(result, self.target(), self.data)
                self.assertEqual(self.seen(self.api), [(ART, None)])

    def test_max_redirects_with_the_token(self):
        for hop in (1, 2, 3):
            self.api.route(f"/r{hop}/{PKG}", default=Redirect(
                self.api.url(f"/r{hop + 1}/{PKG}" if hop < 3 else ART)))
        self.locate(self.api.url(f"/r1/{PKG}"))
        self.assertError(self.remote("--max-redirects", "2"), 5,
                         f"transfer from {self.api.url(f'/r3/{PKG}')} failed: "
                         "more than 2 redirects")
        self.assertEqual(self.api.requests(ART), [], "the artifact is beyond the limit")
        self.assertError(self.remote("--max-redirects", "0"), 5,
                         f"transfer from {self.api.url(f'/r1/{PKG}')} failed: "
                         "more than 0 redirects")
        self.assertNothingSaved()
        self.api.clear()
        self.assertDownloaded(self.remote("--max-redirects", "3"), self.target(), self.data)
        self.assertEqual(self.seen(self.api), [(self.LATEST, self.BEARER),
                                               (f"/r1/{PKG}", self.BEARER),
                                               (f"/r2/{PKG}", self.BEARER),
                                               (f"/r3/{PKG}", self.BEARER),
                                               (ART, self.BEARER)])

    def test_redirect_to_another_scheme_is_refused(self):
        hop = self.api.url("/hop/" + PKG)
        self.locate(hop)
        for location, scheme in (("ftp://127.0.0.1/" + PKG, "ftp"),
                                 ("file:///etc/passwd", "file"),
                                 ("GOPHER://127.0.0.1/" + PKG, "gopher")):
            with self.subTest(location=location):
                self.api.route("/hop/" + PKG, default=Redirect(location))
                self.assertError(self.remote(), 5, f"{hop} redirected to a {scheme}: URL; "
                                                   "only http and https are fetched")
                self.assertNothingSaved()


if __name__ == "__main__":
    runner.main()
