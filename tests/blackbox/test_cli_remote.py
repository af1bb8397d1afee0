"""Black-box tests of `agentdl resolve` and `agentdl list` in remote mode.

The source of truth is an agentdl server (`--server URL`, or AGENTDL_SERVER
when no `--config FILE` is given): either a real agentdl-serve started on a
catalog the test writes, or the fault server of fileserver.py standing in for
one, to see exactly what agentdl asks and how it takes odd answers (CONTRACT
section 7; section 4 for the server).
"""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner  # noqa: E402
from cli import DEMO, CliTestCase  # noqa: E402
from fileserver import Respond, Status, closed_port, start_fault_server  # noqa: E402
from serve import (DEMO_TOKEN, Conn, ServeTestCase, demo_catalog, server_section,  # noqa: E402
                   sha256_hex)

BASE = "https://downloads.example.com/agent/"
WIN_183 = BASE + "windows/1.8.3/ScalepadAgent-1.8.3.msi"
MAC_ARM_183 = BASE + "macos/arm64/1.8.3/ScalepadAgent-1.8.3.pkg"
MAC_X86_183 = BASE + "macos/x86_64/1.8.3/ScalepadAgent-1.8.3.pkg"
WIN_182 = BASE + "windows/1.8.2/ScalepadAgent-1.8.2.msi"
WIN_BETA = BASE + "windows/1.9.0-beta.2/ScalepadAgent-1.9.0-beta.2.msi"
MAC_ARM_BETA = BASE + "macos/arm64/1.9.0-beta.2/ScalepadAgent-1.9.0-beta.2.pkg"

NEEDS_TOKEN = ("the server requires a token: set AGENTDL_TOKEN or use --token-file "
               "(server said: Authentication required: send Authorization: Bearer <token>)")
REJECTED = "the server rejected the token (server said: Invalid token)"

# Channels "stable" and "beta" (beta includes stable, and is the default channel);
# one token per channel. Beta's current release, 2.0.0, has no macOS artifact.
SCOPED = """\
default_channel = "beta"
[platforms.windows]
archs = ["x86_64"]
default_arch = "x86_64"
[platforms.macos]
archs = ["arm64", "x86_64"]
[channels.stable]
[channels.beta]
includes = ["stable"]
[storage]
base_url = "https://dl.example.org/a/"
[auth]
mode = "required"
[[auth.tokens]]
name = "stable-reader"
sha256 = "{stable}"
channels = ["stable"]
[[auth.tokens]]
name = "beta-reader"
sha256 = "{beta}"
channels = ["beta"]
[[releases]]
version = "2.0.0"
channels = ["beta"]
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "w/2.0.0.msi"
[[releases]]
version = "1.5.0"
channels = ["stable"]
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "w/1.5.0.msi"
  [[releases.artifacts]]
  platform = "macos"
  arch = "arm64"
  path = "m/1.5.0.pkg"
"""


def compact(obj):
    return json.dumps(obj, separators=(",", ":")) + "\n"


class RemoteTestCase(CliTestCase, ServeTestCase):
    """A CliTestCase that can also start agentdl-serve (ServeTestCase's start())."""

    def start_serve(self, text, name="serve"):
        """Starts agentdl-serve on the catalog `text`; returns the daemon."""
        config = self.write(f"{name}.toml", text, dedent=False)
        return self.start(config, name=name)

    @staticmethod
    def api(daemon):
        return f"http://127.0.0.1:{daemon.port}/v2"

    def server_json(self, daemon, target, token=DEMO_TOKEN):
        """GETs `target` from the daemon directly; returns the parsed JSON body."""
        with Conn(daemon.port) as conn:
            response = conn.request(target, token=token, host="127.0.0.1")
        self.assertEqual(response.status, 200, msg=repr(response))
        return json.loads(response.text())

    def assertOneLineError(self, result, code, prefix=""):
        """Exit `code`, nothing on stdout, one line `agentdl: error: PREFIX...` on stderr."""
        self.assertEqual((result.returncode, result.stdout), (code, ""), msg=repr(result))
        self.assertTrue(result.stderr.startswith("agentdl: error: " + prefix), msg=repr(result))
        self.assertTrue(result.stderr.endswith("\n"), msg=repr(result))
        self.assertEqual(result.stderr.count("\n"), 1, msg=repr(result))

    def assertUsageErrorLine(self, result, message=None, contains=()):
        """Exit 2, nothing on stdout; the first stderr line is the error (a usage hint
        may follow)."""
        self.assertEqual((result.returncode, result.stdout), (2, ""), msg=repr(result))
        first = result.stderr.split("\n", 1)[0]
        if message is not None:
            self.assertEqual(first, f"agentdl: error: {message}", msg=repr(result))
        self.assertTrue(first.startswith("agentdl: error: "), msg=repr(result))
        for word in contains:
            self.assertIn(word, first, msg=repr(result))
        rest = result.stderr.split("\n", 1)[1] if "\n" in result.stderr else ""
        self.assertIn(rest, ("", "Run 'agentdl --help' or 'agentdl COMMAND --help' for usage.\n"),
                      msg=repr(result))


class RemoteDemo(RemoteTestCase):
    """Against agentdl-serve on the demo catalog (token DEMO_TOKEN reads every channel)."""

    def setUp(self):
        super().setUp()
        self.daemon = self.start_serve(demo_catalog())
        self.url = self.api(self.daemon)

    def remote(self, command, *args, token=DEMO_TOKEN, env=None):
        child_env = {"AGENTDL_TOKEN": token}
        child_env.update(env or {})
        return self.agentdl(command, "--server", self.url, *args, env=child_env)

    # ---- resolve

    def test_resolve_prints_the_location(self):
        cases = [
            (["--channel", "stable", "--platform", "windows"], WIN_183),
            (["--channel", "stable", "--platform", "macos", "--arch", "arm64"], MAC_ARM_183),
            (["--platform", "windows"], WIN_183),
            (["--channel", "latest", "--platform", "windows"], WIN_BETA),
            (["--channel", "latest", "--platform", "macos", "--arch", "arm64"], MAC_ARM_BETA),
            (["--platform", "darwin", "--arch", "amd64"], MAC_X86_183),
        ]
        for args, url in cases:
            with self.subTest(args=args):
                self.assertResult(self.remote("resolve", *args), 0, url + "\n")

    def test_resolve_version(self):
        cases = [
            (["--version", "1.8.2", "--platform", "windows"], WIN_182),
            (["--version", "1.8.3", "--platform", "macos", "--arch", "x86_64"], MAC_X86_183),
            (["--version", "v1.8.3", "--platform", "windows"], WIN_183),
        ]
        for args, url in cases:
            with self.subTest(args=args):
                self.assertResult(self.remote("resolve", *args), 0, url + "\n")

    def test_resolve_json_is_the_servers_object(self):
        cases = [
            (["--platform", "windows"], "/v2/agent-releases/latest?platform=windows"),
            (["--channel", "latest", "--platform", "macos", "--arch", "arm64"],
             "/v2/agent-releases/latest?channel=latest&platform=macos&arch=arm64"),
            (["--version", "1.8.3", "--platform", "macos", "--arch", "x86_64"],
             "/v2/agent-releases/1.8.3?platform=macos&arch=x86_64"),
        ]
        for args, target in cases:
            with self.subTest(args=args):
                expected = self.server_json(self.daemon, target)
                result = self.remote("resolve", *args, "--json")
                self.assertResult(result, 0, compact(expected))
                # ... which is also what the local catalog says.
                local = self.agentdl("resolve", "--config", DEMO, *args, "--json")
                self.assertResult(local, 0, result.stdout)

    def test_trailing_slash_in_the_server_url(self):
        result = self.agentdl("resolve", "--server", self.url + "/", "--platform", "windows",
                              env={"AGENTDL_TOKEN": DEMO_TOKEN})
        self.assertResult(result, 0, WIN_183 + "\n")

    def test_server_from_the_environment(self):
        result = self.agentdl("resolve", "--platform", "windows",
                              env={"AGENTDL_SERVER": self.url, "AGENTDL_TOKEN": DEMO_TOKEN})
        self.assertResult(result, 0, WIN_183 + "\n")
        result = self.agentdl("list", "--channel", "stable",
                              env={"AGENTDL_SERVER": self.url, "AGENTDL_TOKEN": DEMO_TOKEN})
        self.assertEqual((result.returncode, result.stderr), (0, ""), msg=repr(result))

    def test_server_flag_beats_the_environment(self):
        dead = f"http://127.0.0.1:{closed_port()}/v2"
        result = self.agentdl("resolve", "--server", self.url, "--platform", "windows",
                              "--retries", "0",
                              env={"AGENTDL_SERVER": dead, "AGENTDL_TOKEN": DEMO_TOKEN})
        self.assertResult(result, 0, WIN_183 + "\n")

    def test_source_order(self):
        # A local catalog that would answer differently, found by --config, by
        # AGENTDL_CONFIG and by ./agentdl.toml. Order: --server, --config,
        # AGENTDL_SERVER, AGENTDL_CONFIG, ./agentdl.toml (a flag beats any variable).
        local_url = "https://local.example.org/windows/1.8.3/ScalepadAgent-1.8.3.msi\n"
        other = demo_catalog().replace(BASE, "https://local.example.org/")
        config = self.write("local.toml", other, dedent=False)
        self.write("work/agentdl.toml", other, dedent=False)
        env = {"AGENTDL_SERVER": self.url, "AGENTDL_CONFIG": config, "AGENTDL_TOKEN": DEMO_TOKEN}
        # AGENTDL_SERVER beats AGENTDL_CONFIG and ./agentdl.toml ...
        self.assertResult(self.agentdl("resolve", "--platform", "windows", env=env), 0,
                          WIN_183 + "\n")
        # ... but not --config.
        self.assertResult(self.agentdl("resolve", "--config", config, "--platform", "windows",
                                       env=env), 0, local_url)
        # --server beats AGENTDL_CONFIG and ./agentdl.toml.
        self.assertResult(self.agentdl("resolve", "--server", self.url, "--platform", "windows",
                                       env={"AGENTDL_CONFIG": config,
                                            "AGENTDL_TOKEN": DEMO_TOKEN}), 0, WIN_183 + "\n")
        # (without a server, the local catalog answers)
        result = self.agentdl("resolve", "--platform", "windows",
                              env={"AGENTDL_CONFIG": config})
        self.assertResult(result, 0, local_url)

    # ---- list

    def test_list_table_is_the_local_table(self):
        for args in ([], ["--channel", "stable"], ["--channel", "latest"]):
            with self.subTest(args=args):
                local = self.agentdl("list", "--config", DEMO, *args)
                self.assertEqual(local.returncode, 0, msg=repr(local))
                self.assertResult(self.remote("list", *args), 0, local.stdout)

    def test_list_json(self):
        for args, target in (([], "/v2/agent-releases"),
                             (["--channel", "stable"], "/v2/agent-releases?channel=stable")):
            with self.subTest(args=args):
                expected = self.server_json(self.daemon, target)
                self.assertEqual(list(expected),
                                 ["releases", "channels", "platforms", "default_channel",
                                  "aliases"])
                result = self.remote("list", *args, "--json")
                self.assertResult(result, 0, compact(expected))
                local = self.agentdl("list", "--config", DEMO, *args, "--json")
                self.assertResult(local, 0, result.stdout)

    # ---- tokens

    def test_token_file(self):
        path = self.write("token.txt", f"  {DEMO_TOKEN}\t \nsecond line is ignored\n",
                          dedent=False)
        result = self.agentdl("resolve", "--server", self.url, "--token-file", path,
                              "--platform", "windows")
        self.assertResult(result, 0, WIN_183 + "\n")
        result = self.agentdl("list", "--server", self.url, "--token-file", path, "--json")
        self.assertEqual((result.returncode, result.stderr), (0, ""), msg=repr(result))

    def test_token_file_without_newline(self):
        path = self.write("token.txt", DEMO_TOKEN, dedent=False)
        result = self.agentdl("resolve", "--server", self.url, "--token-file", path,
                              "--platform", "windows")
        self.assertResult(result, 0, WIN_183 + "\n")

    def test_token_file_beats_the_environment(self):
        good = self.write("good.txt", DEMO_TOKEN + "\n", dedent=False)
        bad = self.write("bad.txt", "not-the-token\n", dedent=False)
        result = self.agentdl("resolve", "--server", self.url, "--token-file", good,
                              "--platform", "windows", env={"AGENTDL_TOKEN": "wrong"})
        self.assertResult(result, 0, WIN_183 + "\n")
        result = self.agentdl("resolve", "--server", self.url, "--token-file", bad,
                              "--platform", "windows", env={"AGENTDL_TOKEN": DEMO_TOKEN})
        self.assertError(result, 4, REJECTED)

    def test_there_is_no_token_flag(self):
        result = self.agentdl("resolve", "--server", self.url, "--token", DEMO_TOKEN,
                              "--platform", "windows")
        self.assertUsageErrorLine(result)

    # ---- errors and exit codes

    def test_401_without_a_token(self):
        for command, args in (("resolve", ["--platform", "windows"]),
                              ("resolve", ["--platform", "windows", "--json"]),
                              ("resolve", ["--version", "1.8.3", "--platform", "windows"]),
                              ("list", []),
                              ("list", ["--json"])):
            with self.subTest(command=command, args=args):
                result = self.agentdl(command, "--server", self.url, *args)
                self.assertError(result, 4, NEEDS_TOKEN)

    def test_401_with_a_wrong_token(self):
        for command, args in (("resolve", ["--platform", "windows"]),
                              ("resolve", ["--platform", "windows", "--json"]),
                              ("list", [])):
            with self.subTest(command=command, args=args):
                self.assertError(self.remote(command, *args, token="wrong"), 4, REJECTED)

    def test_400_is_exit_2_with_the_servers_message(self):
        cases = [
            (["--platform", "linux"], 'unknown platform "linux" (allowed: macos, windows)'),
            (["--platform", "linux", "--json"],
             'unknown platform "linux" (allowed: macos, windows)'),
            (["--platform", "windows", "--arch", "arm64"],
             'arch "arm64" is not available for platform windows (allowed: x86_64)'),
            (["--platform", "macos"],
             'missing parameter "arch", required for platform macos (allowed: arm64, x86_64)'),
            (["--version", "1.8.3", "--platform", "solaris"],
             'unknown platform "solaris" (allowed: macos, windows)'),
            (["--channel", "nightly", "--platform", "windows"],
             'unknown channel "nightly" (allowed: latest, stable)'),
            # Bytes that are not UTF-8 (os.fsencode turns "\udcff" into 0xFF): the
            # server's answer stays valid JSON, so its message is not lost.
            (["--platform", "\udcff"], 'parameter "platform" is not valid UTF-8'),
            (["--platform", "macos", "--arch", "arm\udcc0\udcae"],
             'parameter "arch" is not valid UTF-8'),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                self.assertError(self.remote("resolve", *args), 2, message)
        self.assertError(self.remote("list", "--channel", "nightly"), 2,
                         'unknown channel "nightly" (allowed: latest, stable)')

    def test_404_is_exit_3_with_the_servers_message(self):
        cases = [
            (["--version", "1.7.0", "--platform", "windows"], "no release 1.7.0"),
            (["--version", "1.7.0", "--platform", "windows", "--json"], "no release 1.7.0"),
            (["--version", "1.8.4", "--platform", "macos", "--arch", "arm64"],
             "release 1.8.4 is yanked"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                self.assertError(self.remote("resolve", *args), 3, message)

    def test_explain_needs_a_local_catalog(self):
        result = self.remote("resolve", "--platform", "windows", "--explain")
        self.assertUsageErrorLine(result, "--explain needs a local catalog")
        result = self.agentdl("resolve", "--platform", "windows", "--explain",
                              env={"AGENTDL_SERVER": self.url, "AGENTDL_TOKEN": DEMO_TOKEN})
        self.assertUsageErrorLine(result, "--explain needs a local catalog")

    def test_server_with_config_is_a_usage_error(self):
        for command, args in (("resolve", ["--platform", "windows"]), ("list", [])):
            with self.subTest(command=command):
                result = self.agentdl(command, "--server", self.url, "--config", DEMO, *args,
                                      env={"AGENTDL_TOKEN": DEMO_TOKEN})
                self.assertUsageErrorLine(result, contains=("--server", "--config"))


class RemoteScoped(RemoteTestCase):
    """Tokens limited to one channel: 403; and 404s naming what was looked for."""

    def setUp(self):
        super().setUp()
        text = SCOPED.format(stable=sha256_hex("stable-token"), beta=sha256_hex("beta-token"))
        self.daemon = self.start_serve(text + server_section())
        self.url = self.api(self.daemon)

    def remote(self, command, token, *args):
        return self.agentdl(command, "--server", self.url, *args, env={"AGENTDL_TOKEN": token})

    def test_403_names_the_channel(self):
        message = 'this token may not read channel "beta"'
        for command, args in (("resolve", ["--channel", "beta", "--platform", "windows"]),
                              ("resolve", ["--channel", "beta", "--platform", "windows",
                                           "--json"]),
                              ("list", ["--channel", "beta"]),
                              ("list", ["--channel", "beta", "--json"])):
            with self.subTest(command=command, args=args):
                self.assertError(self.remote(command, "stable-token", *args), 4, message)

    def test_403_names_the_release(self):
        self.assertError(self.remote("resolve", "stable-token", "--version", "2.0.0",
                                     "--platform", "windows"),
                         4, "this token may not read release 2.0.0")

    def test_404_names_version_platform_and_arch(self):
        self.assertError(self.remote("resolve", "beta-token", "--channel", "beta",
                                     "--platform", "macos", "--arch", "arm64"),
                         3, 'no artifact for macos/arm64 in release 2.0.0 '
                            '(current release of channel "beta")')
        self.assertError(self.remote("resolve", "beta-token", "--version", "2.0.0",
                                     "--platform", "macos", "--arch", "arm64"),
                         3, "no artifact for macos/arm64 in release 2.0.0")
        self.assertError(self.remote("resolve", "beta-token", "--version", "1.5.0",
                                     "--platform", "macos", "--arch", "x86_64", "--json"),
                         3, "no artifact for macos/x86_64 in release 1.5.0")

    def test_no_channel_means_the_servers_default_channel(self):
        # default_channel = "beta" in the server's catalog; agentdl sends no channel.
        self.assertResult(self.remote("resolve", "beta-token", "--platform", "windows"), 0,
                          "https://dl.example.org/a/w/2.0.0.msi\n")
        self.assertResult(self.remote("resolve", "stable-token", "--channel", "stable",
                                      "--platform", "windows"), 0,
                          "https://dl.example.org/a/w/1.5.0.msi\n")

    def test_list_shows_what_the_token_may_see(self):
        result = self.remote("list", "stable-token", "--channel", "stable", "--json")
        self.assertEqual((result.returncode, result.stderr), (0, ""), msg=repr(result))
        self.assertEqual([r["version"] for r in json.loads(result.stdout)["releases"]],
                         ["1.5.0"])


class RemoteFake(RemoteTestCase):
    """The fault server stands in for agentdl-serve: what is asked, odd answers."""

    LATEST = "/v2/agent-releases/latest/download"

    def setUp(self):
        super().setUp()
        self.fake = start_fault_server(self)
        self.url = self.fake.url("/v2")

    def remote(self, command, *args, token="tok-123"):
        env = {"AGENTDL_TOKEN": token} if token is not None else {}
        return self.agentdl(command, "--server", self.url, *args, env=env)

    def redirect_to(self, location, path=LATEST, extra=()):
        self.fake.route(path, default=Respond(302, [("Location", location),
                                                    ("X-Release-Version", "1.0.0"),
                                                    *extra]))

    def test_resolve_asks_the_download_route_with_only_the_parameters_given(self):
        location = "https://cdn.example.net/a/Agent%20Setup.msi?X-Amz-Signature=ab%2Fc&x=1"
        self.redirect_to(location)
        self.redirect_to(location, "/v2/agent-releases/1.8.3/download")
        cases = [
            (["--platform", "windows"], self.LATEST, {"platform": ["windows"]}),
            (["--channel", "beta", "--platform", "macos", "--arch", "arm64"], self.LATEST,
             {"channel": ["beta"], "platform": ["macos"], "arch": ["arm64"]}),
            (["--version", "1.8.3", "--platform", "macos", "--arch", "x86_64"],
             "/v2/agent-releases/1.8.3/download", {"platform": ["macos"], "arch": ["x86_64"]}),
        ]
        for args, path, query in cases:
            with self.subTest(args=args):
                self.fake.clear()
                self.assertResult(self.remote("resolve", *args), 0, location + "\n")
                requests = self.fake.requests()
                self.assertEqual([(r.method, r.path, r.query, r.authorization)
                                  for r in requests],
                                 [("GET", path, query, "Bearer tok-123")], msg=requests)

    def test_resolve_does_not_follow_the_redirect(self):
        target = self.fake.url("/files/agent.msi")
        self.fake.route("/files/agent.msi", b"payload")
        self.redirect_to(target)
        self.assertResult(self.remote("resolve", "--platform", "windows"), 0, target + "\n")
        self.assertEqual(self.fake.requests("/files/agent.msi"), [])

    def test_schemes_are_case_insensitive(self):
        # In --server and in the Location (RFC 3986: "HTTP" is "http").
        self.redirect_to("HTTPS://cdn.example.net/a.msi")
        result = self.agentdl("resolve", "--server", self.url.replace("http://", "HTTP://"),
                              "--platform", "windows", env={"AGENTDL_TOKEN": "tok-123"})
        self.assertResult(result, 0, "HTTPS://cdn.example.net/a.msi\n")
        self.assertEqual([(r.path, r.authorization) for r in self.fake.requests()],
                         [(self.LATEST, "Bearer tok-123")])

    def test_resolve_json_is_reserialized_compactly(self):
        body = ('{\n  "version": "1.0.0",\n  "channel": null,\n  "platform": "windows",\n'
                '  "arch": "x86_64",\n  "url": "https://x.example/a b.msi",\n'
                '  "filename": "a b.msi",\n  "sha256": null,\n  "size": 12\n}\n')
        self.fake.route("/v2/agent-releases/latest",
                        default=Respond(200, [("Content-Type", "application/json")], body))
        result = self.remote("resolve", "--platform", "windows", "--json")
        self.assertResult(result, 0,
                          '{"version":"1.0.0","channel":null,"platform":"windows",'
                          '"arch":"x86_64","url":"https://x.example/a b.msi",'
                          '"filename":"a b.msi","sha256":null,"size":12}\n')
        requests = self.fake.requests()
        self.assertEqual([(r.path, r.query) for r in requests],
                         [("/v2/agent-releases/latest", {"platform": ["windows"]})])

    def test_list_asks_the_list_route(self):
        body = '{"releases": []}'
        self.fake.route("/v2/agent-releases",
                        default=Respond(200, [("Content-Type", "application/json")], body))
        self.assertResult(self.remote("list", "--json"), 0, '{"releases":[]}\n')
        self.assertResult(self.remote("list", "--channel", "beta", "--json"), 0,
                          '{"releases":[]}\n')
        self.assertResult(self.remote("list"), 0,
                          "VERSION  CHANNELS  STATUS  PUBLISHED  ARTIFACTS\n")
        self.assertEqual([(r.path, r.query, r.authorization) for r in self.fake.requests()],
                         [("/v2/agent-releases", {}, "Bearer tok-123"),
                          ("/v2/agent-releases", {"channel": ["beta"]}, "Bearer tok-123"),
                          ("/v2/agent-releases", {}, "Bearer tok-123")])

    def test_no_token_means_no_authorization_header(self):
        self.redirect_to("https://cdn.example.net/a.msi")
        self.assertResult(self.remote("resolve", "--platform", "windows", token=None), 0,
                          "https://cdn.example.net/a.msi\n")
        self.assertEqual([r.authorization for r in self.fake.requests()], [None])

    def test_502_html_is_exit_5(self):
        for path, command, args in (
                (self.LATEST, "resolve", ["--platform", "windows"]),
                ("/v2/agent-releases/latest", "resolve", ["--platform", "windows", "--json"]),
                ("/v2/agent-releases", "list", [])):
            with self.subTest(command=command, args=args):
                self.fake.route(path, default=Status(502))
                self.fake.clear()
                self.assertError(self.remote(command, *args, "--retries", "0"), 5,
                                 "server answered HTTP 502 (Bad Gateway)")
                self.assertEqual(len(self.fake.requests()), 1)

    def test_500_json_error_is_exit_5_with_its_message(self):
        body = '{"error":{"code":"internal_error","message":"Internal server error"}}'
        self.fake.route(self.LATEST, default=Respond(
            500, [("Content-Type", "application/json")], body))
        self.assertError(self.remote("resolve", "--platform", "windows", "--retries", "0"), 5,
                         "Internal server error")

    def test_404_html_is_exit_3(self):
        # e.g. a --server URL without the API prefix: the fault server answers 404 HTML.
        self.assertError(self.remote("resolve", "--platform", "windows", "--retries", "0"), 3,
                         "server answered HTTP 404 (Not Found)")

    def test_json_errors_from_a_server_map_by_status(self):
        cases = [
            (400, "bad_request", "bad thing", 2),
            (403, "forbidden", 'this token may not read channel "x"', 4),
            (404, "not_found", "nothing here", 3),
            (503, "unavailable", "try later", 5),
        ]
        for status, code, message, exit_code in cases:
            with self.subTest(status=status):
                body = json.dumps({"error": {"code": code, "message": message}})
                self.fake.route(self.LATEST, default=Respond(
                    status, [("Content-Type", "application/json")], body))
                self.assertError(self.remote("resolve", "--platform", "windows",
                                             "--retries", "0"), exit_code, message)

    def test_5xx_is_retried(self):
        self.fake.route(self.LATEST, actions=[Status(503)],
                        default=Respond(302, [("Location", "https://cdn.example.net/a.msi")]))
        start = time.monotonic()
        result = self.remote("resolve", "--platform", "windows", "--retries", "1")
        elapsed = time.monotonic() - start
        self.assertResult(result, 0, "https://cdn.example.net/a.msi\n")
        self.assertEqual(len(self.fake.requests()), 2)
        self.assertGreaterEqual(elapsed, 0.9, "the retry comes after a 1 s backoff")

    def test_4xx_is_not_retried(self):
        self.fake.route(self.LATEST, default=Respond(
            404, [("Content-Type", "application/json")],
            '{"error":{"code":"not_found","message":"no release 9.9.9"}}'))
        self.assertError(self.remote("resolve", "--platform", "windows", "--retries", "3"), 3,
                         "no release 9.9.9")
        self.assertEqual(len(self.fake.requests()), 1)

    def test_unexpected_answers_are_exit_5(self):
        cases = [
            ("200 instead of a redirect", self.LATEST, ["--platform", "windows"],
             Respond(200, [("Content-Type", "text/plain")], "hello")),
            ("302 without Location", self.LATEST, ["--platform", "windows"],
             Respond(302, [])),
            ("JSON route, not JSON", "/v2/agent-releases/latest",
             ["--platform", "windows", "--json"],
             Respond(200, [("Content-Type", "application/json")], "{not json")),
        ]
        for what, path, args, answer in cases:
            with self.subTest(what):
                self.fake.route(path, default=answer)
                result = self.remote("resolve", *args, "--retries", "0")
                self.assertOneLineError(result, 5)
        self.fake.route("/v2/agent-releases", default=Respond(
            200, [("Content-Type", "application/json")], "[1, 2"))
        self.assertOneLineError(self.remote("list", "--retries", "0"), 5)


class SourceOrder(RemoteTestCase):
    """A flag beats any environment variable: --config reads its file even when
    AGENTDL_SERVER names a server, here the fault server, which records whether
    it was asked."""

    LATEST = "/v2/agent-releases/latest/download"
    REMOTE_URL = "https://remote.example.org/a.msi"

    def setUp(self):
        super().setUp()
        self.fake = start_fault_server(self)
        self.fake.route(self.LATEST, default=Respond(302, [("Location", self.REMOTE_URL)]))
        self.fake.route("/v2/agent-releases", default=Respond(
            200, [("Content-Type", "application/json")], '{"releases": []}'))
        self.env = {"AGENTDL_SERVER": self.fake.url("/v2"), "AGENTDL_TOKEN": "tok-123"}

    def test_config_flag_beats_the_server_variable(self):
        for command, args in (("resolve", ["--platform", "windows"]),
                              ("resolve", ["--platform", "windows", "--json"]),
                              ("list", []),
                              ("list", ["--json"])):
            with self.subTest(command=command, args=args):
                local = self.agentdl(command, "--config", DEMO, *args)
                self.assertEqual((local.returncode, local.stderr), (0, ""), msg=repr(local))
                result = self.agentdl(command, "--config", DEMO, *args, env=self.env)
                self.assertResult(result, 0, local.stdout)
                self.assertEqual(self.fake.requests(), [])

    def test_config_flag_beats_a_malformed_server_variable(self):
        # AGENTDL_SERVER is not even looked at.
        result = self.agentdl("resolve", "--config", DEMO, "--platform", "windows",
                              env={"AGENTDL_SERVER": "not a URL", "AGENTDL_TOKEN": "a b"})
        self.assertResult(result, 0, WIN_183 + "\n")

    def test_server_variable_beats_the_config_variable(self):
        result = self.agentdl("resolve", "--platform", "windows",
                              env={**self.env, "AGENTDL_CONFIG": DEMO})
        self.assertResult(result, 0, self.REMOTE_URL + "\n")
        self.assertEqual([(r.path, r.authorization) for r in self.fake.requests()],
                         [(self.LATEST, "Bearer tok-123")])

    def test_server_flag_beats_the_config_variable(self):
        result = self.agentdl("resolve", "--server", self.fake.url("/v2"), "--platform",
                              "windows", env={"AGENTDL_CONFIG": DEMO})
        self.assertResult(result, 0, self.REMOTE_URL + "\n")
        self.assertEqual([r.path for r in self.fake.requests()], [self.LATEST])

    def test_token_file_with_config_is_a_usage_error(self):
        token = self.write("token.txt", "tok-123\n", dedent=False)
        for env in ({}, self.env):
            for command, args in (("resolve", ["--platform", "windows"]), ("list", [])):
                with self.subTest(command=command, env=env):
                    result = self.agentdl(command, "--config", DEMO, "--token-file", token,
                                          *args, env=env)
                    self.assertUsageError(result, "--config excludes --token-file")
        self.assertEqual(self.fake.requests(), [])


class RemoteUnreachable(RemoteTestCase):

    def test_connection_refused_is_exit_5(self):
        port = closed_port()
        url = f"http://127.0.0.1:{port}/v2"
        cases = [
            ("resolve", ["--platform", "windows"],
             f"{url}/agent-releases/latest/download?platform=windows"),
            ("resolve", ["--platform", "windows", "--json"],
             f"{url}/agent-releases/latest?platform=windows"),
            ("list", [], f"{url}/agent-releases"),
        ]
        for command, args, requested in cases:
            with self.subTest(command=command, args=args):
                result = self.agentdl(command, "--server", url, *args, "--retries", "0",
                                      env={"AGENTDL_TOKEN": DEMO_TOKEN})
                self.assertOneLineError(result, 5, f"cannot reach {requested}: ")

    def test_connection_refused_is_retried_with_backoff(self):
        url = f"http://127.0.0.1:{closed_port()}/v2"
        start = time.monotonic()
        result = self.agentdl("resolve", "--server", url, "--platform", "windows",
                              "--retries", "1", env={"AGENTDL_TOKEN": DEMO_TOKEN})
        elapsed = time.monotonic() - start
        self.assertOneLineError(result, 5, "cannot reach ")
        self.assertGreaterEqual(elapsed, 0.9, "one retry after a 1 s backoff")


if __name__ == "__main__":
    runner.main()
