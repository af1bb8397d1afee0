"""Black-box tests of agentdl-serve's routes (CONTRACT section 4, the API document).

Each test runs the real daemon on the demo catalog (or a catalog of its own)
and compares status lines, headers (all but Date) and bodies exactly.
"""

import gzip
import json
import os
import re
import signal
import sys
import textwrap
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner  # noqa: E402
from serve import (  # noqa: E402
    BASE, DEMO_TOKEN, Conn, ServeTestCase, demo_catalog, request_bytes, server_section,
    sha256_hex)

# The demo catalog's artifacts: (version, platform, arch) -> (path, sha256, size).
DEMO_ARTIFACTS = {
    ("1.9.0-beta.2", "windows", "x86_64"): (
        "windows/1.9.0-beta.2/ScalepadAgent-1.9.0-beta.2.msi",
        "f0b02278d7305d02286679da2f7ef8823e8e126c551445cc948bac0ef0f46970", 49876992),
    ("1.9.0-beta.2", "macos", "arm64"): (
        "macos/arm64/1.9.0-beta.2/ScalepadAgent-1.9.0-beta.2.pkg",
        "ce46bb0fb6dbed5e9279e9e7ad14a47564ebc5b2781122a8550988207d6f6f69", 31457280),
    ("1.9.0-beta.2", "macos", "x86_64"): (
        "macos/x86_64/1.9.0-beta.2/ScalepadAgent-1.9.0-beta.2.pkg",
        "1f7ba4766d392bc6a516a80b7a8367ab323b387db393118e408adb50292c56f0", 32505856),
    ("1.8.4", "windows", "x86_64"): (
        "windows/1.8.4/ScalepadAgent-1.8.4.msi",
        "1b48be186dc0c7b591ef16a9c1abba0d2534f159de114284dc868478f06de93c", 48300032),
    ("1.8.4", "macos", "arm64"): (
        "macos/arm64/1.8.4/ScalepadAgent-1.8.4.pkg",
        "ea1f69d25388eab40c055da5c7f91f572859594ba525fa56241a4b312f97acd6", 30408704),
    ("1.8.4", "macos", "x86_64"): (
        "macos/x86_64/1.8.4/ScalepadAgent-1.8.4.pkg",
        "20f196e63ad4740740e0b0111f4f7e91a13c2ceaced2441b9e0efaa78fa6b3e7", 31195136),
    ("1.8.3", "windows", "x86_64"): (
        "windows/1.8.3/ScalepadAgent-1.8.3.msi",
        "025ecf8e4285648936105c55a3404cfe9e813be30b2028d6cf20e0af44bc95be", 48213504),
    ("1.8.3", "macos", "arm64"): (
        "macos/arm64/1.8.3/ScalepadAgent-1.8.3.pkg",
        "4f4f02875b1dce73e6a9fb9e1fc92d663fbe2274c796f1c28b1a56c664b6ee1a", 30146560),
    ("1.8.3", "macos", "x86_64"): (
        "macos/x86_64/1.8.3/ScalepadAgent-1.8.3.pkg",
        "d90d760302e1aaa60f2dee6b181812311db6cb6832c76c3ae7daa4063ee5aa08", 31064064),
    ("1.8.2", "windows", "x86_64"): (
        "windows/1.8.2/ScalepadAgent-1.8.2.msi",
        "fa3cfc5832f6bb790103ec7e697833778272f2594ed06839c59028097925826c", 48128000),
    ("1.8.2", "macos", "arm64"): (
        "macos/arm64/1.8.2/ScalepadAgent-1.8.2.pkg",
        "9bb7e18638c27a65ab5292d6f01ac207c7d4e91224169ac564f945e7f899d9e3", 30081024),
    ("1.8.2", "macos", "x86_64"): (
        "macos/x86_64/1.8.2/ScalepadAgent-1.8.2.pkg",
        "c532c81af5e5fb9481e924ef6e11e7a39f92bcb3bb469d5dca00ec676b5da6d9", 30998528),
}
DEMO_RELEASES = [  # newest first: (version, channels, current_in, published_at, yanked)
    ("1.9.0-beta.2", ["latest"], ["latest"], "2026-11-10T09:00:00Z", False),
    ("1.8.4", ["stable"], [], "2026-10-20T12:00:00Z", True),
    ("1.8.3", ["stable"], ["stable"], "2026-10-01T12:00:00Z", False),
    ("1.8.2", ["stable"], [], "2026-09-02T12:00:00Z", False),
]
PLATFORM_ARCHS = [("windows", "x86_64"), ("macos", "arm64"), ("macos", "x86_64")]


def compact(value):
    """Returns `value` as the daemon writes JSON: no spaces, keys in the given order."""
    return json.dumps(value, separators=(",", ":"))


def location(version, platform, arch):
    return BASE + DEMO_ARTIFACTS[(version, platform, arch)][0]


def artifact_object(version, platform, arch):
    path, sha, size = DEMO_ARTIFACTS[(version, platform, arch)]
    return {"platform": platform, "arch": arch, "url": BASE + path,
            "filename": path.rsplit("/", 1)[1], "sha256": sha, "size": size}


def resolution_json(version, channel, platform, arch):
    a = artifact_object(version, platform, arch)
    return compact({"version": version, "channel": channel, "platform": platform, "arch": arch,
                    "url": a["url"], "filename": a["filename"], "sha256": a["sha256"],
                    "size": a["size"]})


def release_object(version):
    for v, channels, current_in, published_at, yanked in DEMO_RELEASES:
        if v == version:
            return {"version": v, "channels": channels, "current_in": current_in,
                    "published_at": published_at, "yanked": yanked,
                    "artifacts": [artifact_object(v, p, a) for p, a in PLATFORM_ARCHS]}
    raise KeyError(version)


def redirect_headers(version, platform, arch, cache_control):
    _, sha, size = DEMO_ARTIFACTS[(version, platform, arch)]
    return {
        "Server": "agentdl",
        "Location": location(version, platform, arch),
        "X-Release-Version": version,
        "X-Artifact-Sha256": sha,
        "X-Artifact-Size": str(size),
        "Cache-Control": cache_control,
        "Content-Length": "0",
    }


def json_headers(body, content_type="application/json"):
    return {"Server": "agentdl", "Content-Type": content_type,
            "Content-Length": str(len(body.encode("utf-8")))}


class Redirects(ServeTestCase):
    """The two redirect endpoints, starting with the API document's examples."""

    def setUp(self):
        super().setUp()
        self.daemon = self.start_demo()

    def assertRedirect(self, target, version, platform, arch, cache_control):
        response = self.get(self.daemon, target)
        self.assertEqual(
            (response.status_line, response.header_dict(), response.body),
            ("HTTP/1.1 302 Found", redirect_headers(version, platform, arch, cache_control), b""),
            msg=f"\nGET {target}\n{response!r}")

    def test_api_document_examples(self):
        cases = [
            ("/v2/agent-releases/latest/download?channel=stable&platform=windows",
             "1.8.3", "windows", "x86_64", "no-cache"),
            ("/v2/agent-releases/latest/download?channel=stable&platform=macos&arch=arm64",
             "1.8.3", "macos", "arm64", "no-cache"),
            ("/v2/agent-releases/1.8.3/download?platform=windows",
             "1.8.3", "windows", "x86_64", "private, max-age=3600"),
            ("/v2/agent-releases/1.8.3/download?platform=macos&arch=x86_64",
             "1.8.3", "macos", "x86_64", "private, max-age=3600"),
        ]
        for case in cases:
            with self.subTest(target=case[0]):
                self.assertRedirect(*case)

    def test_api_document_example_locations(self):
        # The API document's own response for the versioned example.
        response = self.get(self.daemon, "/v2/agent-releases/1.8.3/download?platform=windows")
        self.assertEqual(response.header("Location"),
                         "https://downloads.example.com/agent/windows/1.8.3/"
                         "ScalepadAgent-1.8.3.msi")

    def test_latest_defaults_to_the_default_channel(self):
        self.assertRedirect("/v2/agent-releases/latest/download?platform=windows",
                            "1.8.3", "windows", "x86_64", "no-cache")

    def test_latest_channel_resolves_to_the_prerelease(self):
        self.assertRedirect(
            "/v2/agent-releases/latest/download?channel=latest&platform=macos&arch=x86_64",
            "1.9.0-beta.2", "macos", "x86_64", "no-cache")

    def test_older_version_and_v_prefix(self):
        self.assertRedirect("/v2/agent-releases/1.8.2/download?platform=macos&arch=arm64",
                            "1.8.2", "macos", "arm64", "private, max-age=3600")
        self.assertRedirect("/v2/agent-releases/v1.8.3/download?platform=windows",
                            "1.8.3", "windows", "x86_64", "private, max-age=3600")

    def test_aliases_case_and_unknown_parameters(self):
        self.assertRedirect(
            "/v2/agent-releases/latest/download?channel=STABLE&platform=Darwin&arch=aarch64"
            "&utm_source=mail",
            "1.8.3", "macos", "arm64", "no-cache")
        # A parameter repeated with the same value is not an error.
        self.assertRedirect(
            "/v2/agent-releases/1.8.3/download?platform=win&platform=win&arch=amd64",
            "1.8.3", "windows", "x86_64", "private, max-age=3600")
        # Percent-encoded values are decoded.
        self.assertRedirect("/v2/agent-releases/1.8.3/download?platform=w%69ndows",
                            "1.8.3", "windows", "x86_64", "private, max-age=3600")

    def test_bearer_scheme_is_case_insensitive(self):
        target = "/v2/agent-releases/latest/download?platform=windows"
        for scheme in ("bearer", "BEARER", "BeArEr"):
            with self.subTest(scheme=scheme):
                response = self.get(self.daemon, target, token=None,
                                    headers=[("Authorization", f"{scheme} {DEMO_TOKEN}")])
                self.assertEqual(response.status, 302, msg=repr(response))

    def test_redirect_without_sha256_and_size(self):
        config = self.write("nosha.toml", textwrap.dedent("""\
            [platforms.windows]
            archs = ["x86_64"]
            default_arch = "x86_64"
            [channels.stable]
            [storage]
            base_url = "https://dl.example.org/agent/"
            [[releases]]
            version = "2.0.0"
            channels = ["stable"]
              [[releases.artifacts]]
              platform = "windows"
              arch = "x86_64"
              path = "win/Agent Setup 2.0.0.msi"
            [auth]
            mode = "none"
            """) + server_section(access_log="off"), dedent=False)
        daemon = self.start(config, name="nosha")
        response = self.get(daemon, "/v2/agent-releases/2.0.0/download?platform=windows",
                            token=None)
        self.assertEqual(
            (response.status_line, response.header_dict()),
            ("HTTP/1.1 302 Found", {
                "Server": "agentdl",
                "Location": "https://dl.example.org/agent/win/Agent%20Setup%202.0.0.msi",
                "X-Release-Version": "2.0.0",
                "Cache-Control": "public, max-age=3600",
                "Content-Length": "0",
            }),
            msg=repr(response))

    def test_public_cache_control_when_auth_is_off(self):
        text = demo_catalog().replace('[auth]\nmode = "required"', '[auth]\nmode = "none"')
        self.assertIn('mode = "none"', text)
        daemon = self.start(self.write("open.toml", text, dedent=False), name="open")
        cases = [
            ("/v2/agent-releases/1.8.3/download?platform=windows",
             "1.8.3", "windows", "x86_64", "public, max-age=3600"),
            ("/v2/agent-releases/latest/download?platform=windows",
             "1.8.3", "windows", "x86_64", "no-cache"),
        ]
        for target, version, platform, arch, cache in cases:
            with self.subTest(target=target):
                response = self.get(daemon, target, token=None)
                self.assertEqual(
                    (response.status_line, response.header_dict()),
                    ("HTTP/1.1 302 Found", redirect_headers(version, platform, arch, cache)),
                    msg=repr(response))


class MirrorLocations(ServeTestCase):
    """An artifact with a relative path and no base_url is served by this mirror."""

    CATALOG = """\
[platforms.windows]
archs = ["x86_64"]
default_arch = "x86_64"
[channels.stable]
[auth]
mode = "none"
[mirror]
root = "files"
[[releases]]
version = "1.0"
channels = ["stable"]
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "1.0/windows/x86_64/Agent Setup.msi"
"""

    def location(self, daemon):
        response = self.get(daemon, "/v2/agent-releases/latest/download?platform=windows",
                            token=None)
        self.assertEqual(response.status, 302, msg=repr(response))
        return response.header("Location")

    def test_public_url_defaults_to_the_address_bound(self):
        os.makedirs(self.path("files"))
        config = self.write("agentdl.toml", self.CATALOG + server_section(), dedent=False)
        daemon = self.start(config)  # listen = ["127.0.0.1:0"]: the port is the one bound
        self.assertEqual(self.location(daemon),
                         f"http://127.0.0.1:{daemon.port}/files/1.0/windows/x86_64/Agent%20Setup.msi")
        # A reload keeps following it.
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_stderr(r"^agentdl-serve: reloaded the catalog: 1 releases$")
        self.assertEqual(self.location(daemon),
                         f"http://127.0.0.1:{daemon.port}/files/1.0/windows/x86_64/Agent%20Setup.msi")

    def test_a_public_url_given_wins(self):
        os.makedirs(self.path("files"))
        config = self.write("agentdl.toml", self.CATALOG + server_section(
            public_url="https://mirror.customer.lan/"), dedent=False)
        daemon = self.start(config)
        self.assertEqual(self.location(daemon),
                         "https://mirror.customer.lan/files/1.0/windows/x86_64/Agent%20Setup.msi")


class ApiPrefix(ServeTestCase):
    def test_routes_follow_api_prefix(self):
        daemon = self.start_demo(api_prefix="/agent-api/v3")
        response = self.get(daemon, "/agent-api/v3/agent-releases/1.8.3/download?platform=windows")
        self.assertEqual((response.status, response.header("Location")),
                         (302, location("1.8.3", "windows", "x86_64")))
        response = self.get(daemon, "/agent-api/v3/agent-releases?channel=stable")
        self.assertEqual(response.status, 200)
        for target in ("/v2/agent-releases/1.8.3/download?platform=windows",
                       "/agent-api/agent-releases/1.8.3/download?platform=windows"):
            with self.subTest(target=target):
                self.assertEqual(self.get(daemon, target).status, 404)
        # /healthz and /metrics stay where they are.
        self.assertEqual(self.get(daemon, "/healthz").status, 200)
        self.assertEqual(self.get(daemon, "/metrics").status, 200)


class JsonRoutes(ServeTestCase):
    def setUp(self):
        super().setUp()
        self.daemon = self.start_demo()

    def assertJson(self, target, body, token=DEMO_TOKEN):
        response = self.get(self.daemon, target, token=token)
        self.assertEqual(
            (response.status_line, response.header_dict(), response.text()),
            ("HTTP/1.1 200 OK", json_headers(body), body),
            msg=f"\nGET {target}\n{response!r}")

    def test_latest(self):
        self.assertJson("/v2/agent-releases/latest?platform=windows",
                        resolution_json("1.8.3", "stable", "windows", "x86_64"))
        self.assertJson("/v2/agent-releases/latest?channel=latest&platform=mac&arch=arm64",
                        resolution_json("1.9.0-beta.2", "latest", "macos", "arm64"))

    def test_version_with_platform(self):
        self.assertJson("/v2/agent-releases/1.8.3?platform=macos&arch=x86_64",
                        resolution_json("1.8.3", None, "macos", "x86_64"))
        self.assertJson("/v2/agent-releases/v1.8.2?platform=windows",
                        resolution_json("1.8.2", None, "windows", "x86_64"))

    def test_version_without_platform_is_the_whole_release(self):
        self.assertJson("/v2/agent-releases/1.8.3", compact(release_object("1.8.3")))
        self.assertJson("/v2/agent-releases/1.9.0-beta.2",
                        compact(release_object("1.9.0-beta.2")))

    def test_release_list(self):
        # The releases, then the catalog's shape: with it a mirror resolves as the server does.
        latest = {"includes": ["stable"], "current": "1.9.0-beta.2"}
        stable = {"includes": [], "current": "1.8.3"}
        shape = {
            "platforms": {"macos": {"archs": ["arm64", "x86_64"], "default_arch": None},
                          "windows": {"archs": ["x86_64"], "default_arch": "x86_64"}},
            "default_channel": "stable",
            "aliases": {"platform": {}, "arch": {}},
        }
        everything = compact({"releases": [release_object(r[0]) for r in DEMO_RELEASES],
                              "channels": {"latest": latest, "stable": stable}, **shape})
        self.assertJson("/v2/agent-releases", everything)
        self.assertJson("/v2/agent-releases?channel=latest", everything)
        self.assertJson("/v2/agent-releases?channel=stable", compact(
            {"releases": [release_object(v) for v in ("1.8.4", "1.8.3", "1.8.2")],
             "channels": {"stable": stable}, **shape}))
        # HEAD: the same length, no body.
        response = self.get(self.daemon, "/v2/agent-releases", method="HEAD")
        self.assertEqual((response.status, response.header("Content-Length"), response.body),
                         (200, str(len(everything)), b""))

    def test_healthz_needs_no_token(self):
        body = '{"status":"ok","releases":4}'
        self.assertJson("/healthz", body, token=None)
        self.assertJson("/healthz", body, token="wrong")


# A catalog with tokens scoped to channels; "beta" includes "stable".
SCOPED = """\
default_channel = "stable"
[platforms.windows]
archs = ["x86_64"]
default_arch = "x86_64"
[platforms.macos]
archs = ["arm64", "x86_64"]
[channels.stable]
[channels.beta]
includes = ["stable"]
[channels.internal]
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
[[auth.tokens]]
name = "internal-reader"
sha256 = "{internal}"
channels = ["internal"]
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
[[releases]]
version = "1.4.0"
channels = ["stable"]
yanked = true
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "w/1.4.0.msi"
[[releases]]
version = "0.9.0"
channels = ["internal"]
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "w/0.9.0.msi"
"""


def scoped_catalog(server):
    return SCOPED.format(stable=sha256_hex("stable-token"), beta=sha256_hex("beta-token"),
                         internal=sha256_hex("internal-token")) + server


class ScopedTokens(ServeTestCase):
    """The release list and the routes show a token only its channels."""

    def setUp(self):
        super().setUp()
        self.daemon = self.start(self.write("scoped.toml", scoped_catalog(server_section()),
                                            dedent=False))

    def versions(self, target, token):
        response = self.get(self.daemon, target, token=token)
        self.assertEqual(response.status, 200, msg=repr(response))
        return [r["version"] for r in json.loads(response.body)["releases"]]

    def test_release_list_holds_only_what_the_token_may_read(self):
        cases = [
            ("/v2/agent-releases", "stable-token", ["1.5.0", "1.4.0"]),
            ("/v2/agent-releases", "beta-token", ["2.0.0", "1.5.0", "1.4.0"]),
            ("/v2/agent-releases", "internal-token", ["0.9.0"]),
            ("/v2/agent-releases?channel=stable", "stable-token", ["1.5.0", "1.4.0"]),
            ("/v2/agent-releases?channel=stable", "beta-token", ["1.5.0", "1.4.0"]),
            ("/v2/agent-releases?channel=beta", "beta-token", ["2.0.0", "1.5.0", "1.4.0"]),
        ]
        for target, token, versions in cases:
            with self.subTest(target=target, token=token):
                self.assertEqual(self.versions(target, token), versions)

    def test_release_list_shows_only_the_channels_the_token_may_read(self):
        stable = {"includes": [], "current": "1.5.0"}
        beta = {"includes": ["stable"], "current": "2.0.0"}
        internal = {"includes": [], "current": "0.9.0"}
        cases = [
            ("/v2/agent-releases", "stable-token", {"stable": stable}),
            ("/v2/agent-releases", "beta-token", {"beta": beta, "stable": stable}),
            ("/v2/agent-releases", "internal-token", {"internal": internal}),
            ("/v2/agent-releases?channel=stable", "beta-token", {"stable": stable}),
        ]
        for target, token, channels in cases:
            with self.subTest(target=target, token=token):
                response = self.get(self.daemon, target, token=token)
                self.assertEqual(response.status, 200, msg=repr(response))
                body = json.loads(response.body)
                self.assertEqual((body["channels"], body["default_channel"]),
                                 (channels, "stable"))
                self.assertEqual(list(body["platforms"]), ["macos", "windows"])

    def test_a_channel_that_includes_another_reads_its_releases(self):
        response = self.get(self.daemon, "/v2/agent-releases/latest/download?platform=windows",
                            token="beta-token")
        self.assertEqual((response.status, response.header("Location")),
                         (302, "https://dl.example.org/a/w/1.5.0.msi"))
        response = self.get(self.daemon, "/v2/agent-releases/1.5.0/download?platform=windows",
                            token="beta-token")
        self.assertEqual((response.status, response.header("Location")),
                         (302, "https://dl.example.org/a/w/1.5.0.msi"))


class Metrics(ServeTestCase):
    def test_metrics_text_and_counters(self):
        daemon = self.start_demo()
        response = self.get(daemon, "/metrics", token=None)
        self.assertEqual(
            (response.status_line, response.header("Content-Type")),
            ("HTTP/1.1 200 OK", "text/plain; version=0.0.4; charset=utf-8"))
        text = response.text()
        for family, kind in [("agentdl_requests_total", "counter"),
                             ("agentdl_request_duration_seconds", "histogram"),
                             ("agentdl_catalog_reloads_total", "counter"),
                             ("agentdl_releases", "gauge"),
                             ("agentdl_open_connections", "gauge")]:
            self.assertIn(f"\n# TYPE {family} {kind}\n", "\n" + text)
        before = self.metrics(daemon)
        self.assertEqual(before["agentdl_releases"], 4)

        key_302 = 'agentdl_requests_total{route="download_latest",status="302"}'
        key_401 = 'agentdl_requests_total{route="download_latest",status="401"}'
        key_404 = 'agentdl_requests_total{route="download_version",status="404"}'
        target = "/v2/agent-releases/latest/download?platform=windows"
        for _ in range(3):
            self.assertEqual(self.get(daemon, target).status, 302)
        self.assertEqual(self.get(daemon, target, token=None).status, 401)
        self.assertEqual(
            self.get(daemon, "/v2/agent-releases/1.0.0/download?platform=windows").status, 404)
        # A request is counted once its response is written, which may be just
        # after the client has read it: wait for the counts to settle.
        expected = {key_302: 3, key_401: 1, key_404: 1}
        deadline = time.monotonic() + 3
        while True:
            after = self.metrics(daemon)
            moved = {k: after.get(k, 0) - before.get(k, 0) for k in expected}
            if all(moved[k] >= expected[k] for k in expected) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(moved, expected)
        count = "agentdl_request_duration_seconds_count"
        self.assertGreaterEqual(after[count] - before[count], 5)
        self.assertEqual(after['agentdl_request_duration_seconds_bucket{le="+Inf"}'],
                         after[count])

    def test_metrics_exposition_format(self):
        daemon = self.start_demo()
        self.get(daemon, "/healthz")
        text = self.get(daemon, "/metrics", token=None).text()
        self.assertTrue(text.endswith("\n"))
        sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*"'
                            r'(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*")*\})? '
                            r'(-?[0-9.]+(e[-+]?[0-9]+)?|\+Inf|NaN)$')
        for line in text.splitlines():
            if line.startswith("# HELP ") or line.startswith("# TYPE "):
                continue
            self.assertRegex(line, sample)

    def test_open_connections_gauge(self):
        daemon = self.start_demo()
        conns = [Conn(daemon.port) for _ in range(3)]
        try:
            for conn in conns:
                self.assertEqual(conn.request("/healthz").status, 200)
            # The three, and the one asking.
            self.assertEqual(self.metrics(daemon)["agentdl_open_connections"], 4)
        finally:
            for conn in conns:
                conn.close()
        deadline = time.monotonic() + 3
        while self.metrics(daemon)["agentdl_open_connections"] != 1:
            self.assertLess(time.monotonic(), deadline, msg="the gauge never came back to 1")
            time.sleep(0.05)

    def test_metrics_can_be_switched_off(self):
        daemon = self.start_demo(metrics=False)
        for method in ("GET", "HEAD"):
            with self.subTest(method=method):
                response = self.get(daemon, "/metrics", method=method, token=None)
                body = ('{"error":{"code":"not_found","message":"no such route (metrics are off)",'
                        '"details":{}}}')
                self.assertEqual(
                    (response.status_line, response.header_dict()),
                    ("HTTP/1.1 404 Not Found", json_headers(body)), msg=repr(response))
                self.assertEqual(response.text(), body if method == "GET" else "")


class HeadAnswersLikeGet(ServeTestCase):
    TARGETS = [
        "/v2/agent-releases/latest/download?platform=windows",
        "/v2/agent-releases/1.8.3/download?platform=macos&arch=arm64",
        "/v2/agent-releases/latest?platform=windows",
        "/v2/agent-releases/1.8.3",
        "/v2/agent-releases?channel=stable",
        "/healthz",
        "/v2/agent-releases/1.0.0/download?platform=windows",  # 404
        "/v2/agent-releases/latest/download?platform=linux",  # 400
        "/v2/nothing-here",  # 404
    ]

    def test_same_status_and_headers(self):
        daemon = self.start_demo()
        for target in self.TARGETS + ["/metrics"]:
            for token in (DEMO_TOKEN, None):
                with self.subTest(target=target, token=token):
                    get = self.get(daemon, target, token=token)
                    head = self.get(daemon, target, method="HEAD", token=token)
                    if target == "/metrics":  # its body changes with every request
                        get.headers = [h for h in get.headers if h[0] != "Content-Length"]
                        head.headers = [h for h in head.headers if h[0] != "Content-Length"]
                    self.assertEqual((head.status_line, head.header_dict()),
                                     (get.status_line, get.header_dict()))

    def test_no_body_follows_a_head_response(self):
        daemon = self.start_demo()
        for target in self.TARGETS:
            with self.subTest(target=target):
                with Conn(daemon.port) as conn:
                    # Connection: close, so that everything the server sends is read.
                    conn.send(request_bytes(target, "HEAD", DEMO_TOKEN,
                                            [("Connection", "close")]))
                    closed, data = conn.closed_within(5)
                    self.assertTrue(closed, msg=data)
                    head, sep, rest = data.partition(b"\r\n\r\n")
                    self.assertEqual((sep, rest), (b"\r\n\r\n", b""), msg=data)
                    self.assertIn(b"\r\nContent-Length: ", head)

    def test_head_then_get_on_one_connection(self):
        # If a HEAD response carried a body, the GET's status line would not come next.
        daemon = self.start_demo()
        target = "/v2/agent-releases/latest?platform=windows"
        with Conn(daemon.port) as conn:
            conn.send(request_bytes(target, "HEAD", DEMO_TOKEN)
                      + request_bytes(target, "GET", DEMO_TOKEN))
            head = conn.read_response(head_request=True)
            get = conn.read_response()
        body = resolution_json("1.8.3", "stable", "windows", "x86_64")
        self.assertEqual((head.status_line, head.header("Content-Length"), head.body),
                         ("HTTP/1.1 200 OK", str(len(body)), b""))
        self.assertEqual((get.status_line, get.text()), ("HTTP/1.1 200 OK", body))



class DownloadsPage(ServeTestCase):
    """GET / on the wire: the page when a channel is public (the browser's view
    is test_page_browser's), gzip, 304, and rebuilt on SIGHUP."""

    MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Safari/605.1.15"

    def catalog(self, public):
        text = demo_catalog()
        return text.replace('mode = "required"\n',
                            f'mode = "required"\npublic_channels = {public}\n')

    def test_page_gzip_and_304(self):
        daemon = self.start(self.write("agentdl.toml", self.catalog('["stable"]'), dedent=False))
        with Conn(daemon.port) as conn:
            plain = conn.request("/", token=None, headers=[("User-Agent", self.MAC)])
            self.assertEqual(plain.status, 200)
            self.assertEqual(plain.header("Content-Type"), "text/html; charset=utf-8")
            self.assertEqual(plain.header("Cache-Control"), "no-cache")
            self.assertEqual(plain.header("Vary"), "User-Agent, Accept-Encoding")
            self.assertIsNone(plain.header("Content-Encoding"))
            self.assertTrue(plain.header("Content-Security-Policy").startswith(
                "default-src 'none'; style-src 'sha256-"))
            html = plain.text()
            self.assertIn("Channel stable", html)
            self.assertNotIn("Channel latest", html)  # not public
            self.assertIn("Apple silicon or Intel", html)
            self.assertEqual(int(plain.header("Content-Length")), len(plain.body))

            packed = conn.request("/", token=None, headers=[("User-Agent", self.MAC),
                                                           ("Accept-Encoding", "gzip, br")])
            self.assertEqual(packed.header("Content-Encoding"), "gzip")
            self.assertEqual(gzip.decompress(packed.body), plain.body)
            self.assertEqual(packed.header("ETag"), plain.header("ETag")[:-1] + '-gz"')

            # 304 without a body or a Content-Length, and the connection goes on.
            for etag, encoding in ((plain.header("ETag"), "identity"),
                                   (packed.header("ETag"), "gzip")):
                again = conn.request("/", token=None, headers=[
                    ("User-Agent", self.MAC), ("Accept-Encoding", encoding),
                    ("If-None-Match", etag)])
                self.assertEqual((again.status, again.body, again.header("Content-Length"),
                                  again.header("ETag")), (304, b"", None, etag))
            head = conn.request("/", method="HEAD", token=None,
                                headers=[("User-Agent", self.MAC)])
            self.assertEqual((head.status, head.body, head.header("Content-Length")),
                             (200, b"", plain.header("Content-Length")))
            # Another visitor, another rendering and tag.
            windows = conn.request("/", token=None, headers=[
                ("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)")])
            self.assertNotEqual(windows.header("ETag"), plain.header("ETag"))
            self.assertIn("Marked for your computer: Windows, x86_64.", windows.text())
        self.assertEqual(self.metrics(daemon)['agentdl_requests_total{route="page",status="200"}'],
                         4)

    def test_nothing_public_no_page(self):
        daemon = self.start(self.write("agentdl.toml", self.catalog("[]"), dedent=False))
        self.assertEqual(self.get(daemon, "/", token=None).status, 401)
        self.assertEqual(self.get(daemon, "/").status, 404)  # an unknown route

    def test_sighup_rebuilds_the_page(self):
        config = self.write("agentdl.toml", self.catalog('["stable"]'), dedent=False)
        daemon = self.start(config)
        before = self.get(daemon, "/", token=None)
        self.assertNotIn("Channel latest", before.text())
        with open(config, "w", encoding="utf-8") as f:
            f.write(self.catalog('["stable", "latest"]'))
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_stderr(r"^agentdl-serve: reloaded the catalog: \d+ releases$")
        after = self.get(daemon, "/", token=None)
        self.assertIn("Channel latest", after.text())
        self.assertNotEqual(after.header("ETag"), before.header("ETag"))
        self.assertEqual(self.get(daemon, "/", token=None,
                                  headers=[("If-None-Match", before.header("ETag"))]).status, 200)


if __name__ == "__main__":
    runner.main()
