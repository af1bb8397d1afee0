"""Black-box tests of agentdl-serve's error answers (CONTRACT section 4, "Errors").

Every error is application/json of exactly the contract's shape; each test
compares the status line, the headers (all but Date) and the whole body.
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner  # noqa: E402
from serve import (  # noqa: E402
    DEMO_TOKEN, ServeTestCase, demo_catalog, server_section, sha256_hex)

REALM = 'Bearer realm="agentdl"'
INVALID_TOKEN = 'Bearer realm="agentdl", error="invalid_token"'
INSUFFICIENT_SCOPE = 'Bearer realm="agentdl", error="insufficient_scope"'

AUTH_REQUIRED = ('{"error":{"code":"unauthorized","message":'
                 '"Authentication required: send Authorization: Bearer <token>","details":{}}}')
BAD_TOKEN = '{"error":{"code":"unauthorized","message":"Invalid token","details":{}}}'


def error(code, message, details=None):
    """Returns the exact body of an error; `details` is always there, {} when none."""
    body = {"code": code, "message": message, "details": details if details is not None else {}}
    return json.dumps({"error": body}, separators=(",", ":"))


def bad_request(message, details):
    return error("bad_request", message, details)


def not_found(message, details=None):
    return error("not_found", message, details)


PLATFORMS = ["macos", "windows"]
MAC_ARCHS = ["arm64", "x86_64"]
VERSION_RULE = ("must be 1 to 4 dot-separated numbers, then optional -prerelease and +build "
                "(e.g. 1.8.3, 1.9.0-beta.2)")

# A catalog with tokens scoped to channels; "beta" includes "stable"; the
# current release of beta (2.0.0) has no macOS artifact.
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


class DemoErrors(ServeTestCase):
    def setUp(self):
        super().setUp()
        self.daemon = self.start_demo()

    def check(self, target, status, reason, body, token=DEMO_TOKEN, method="GET",
              headers=(), extra_headers=None):
        response = self.get(self.daemon, target, method=method, token=token, headers=headers)
        self.assertJsonError(response, status, reason, body, extra_headers)

    def test_400_bad_parameters(self):
        prefix = "/v2/agent-releases/latest/download"
        cases = [
            ("", bad_request('missing parameter "platform" (allowed: macos, windows)',
                             {"parameter": "platform", "allowed": PLATFORMS})),
            ("?platform=", bad_request('empty parameter "platform" (allowed: macos, windows)',
                                       {"parameter": "platform", "value": "",
                                        "allowed": PLATFORMS})),
            ("?platform=linux",
             bad_request('unknown platform "linux" (allowed: macos, windows)',
                         {"parameter": "platform", "value": "linux", "allowed": PLATFORMS})),
            ("?platform=windows&arch=arm64",
             bad_request('arch "arm64" is not available for platform windows (allowed: x86_64)',
                         {"parameter": "arch", "value": "arm64", "allowed": ["x86_64"]})),
            ("?platform=macos&arch=sparc",
             bad_request('arch "sparc" is not available for platform macos '
                         "(allowed: arm64, x86_64)",
                         {"parameter": "arch", "value": "sparc", "allowed": MAC_ARCHS})),
            ("?platform=macos&arch=",
             bad_request('empty parameter "arch" (allowed: arm64, x86_64)',
                         {"parameter": "arch", "value": "", "allowed": MAC_ARCHS})),
            ("?platform=macos",
             bad_request('missing parameter "arch", required for platform macos '
                         "(allowed: arm64, x86_64)",
                         {"parameter": "arch", "allowed": MAC_ARCHS})),
            ("?channel=nightly&platform=windows",
             bad_request('unknown channel "nightly" (allowed: latest, stable)',
                         {"parameter": "channel", "value": "nightly",
                          "allowed": ["latest", "stable"]})),
            ("?channel=&platform=windows",
             bad_request('empty parameter "channel" (allowed: latest, stable)',
                         {"parameter": "channel", "value": "",
                          "allowed": ["latest", "stable"]})),
            ("?platform=windows&platform=macos",
             bad_request('parameter "platform" is given twice with different values',
                         {"parameter": "platform", "value": "macos"})),
        ]
        for query, body in cases:
            with self.subTest(query=query):
                self.check(prefix + query, 400, "Bad Request", body)

    def test_400_on_the_json_and_versioned_routes(self):
        body = bad_request('unknown platform "linux" (allowed: macos, windows)',
                           {"parameter": "platform", "value": "linux", "allowed": PLATFORMS})
        for target in ("/v2/agent-releases/latest?platform=linux",
                       "/v2/agent-releases/1.8.3/download?platform=linux",
                       "/v2/agent-releases/1.8.3?platform=linux",
                       # a bad parameter comes before looking the version up (400 before 404)
                       "/v2/agent-releases/7.7.7/download?platform=linux"):
            with self.subTest(target=target):
                self.check(target, 400, "Bad Request", body)

    def test_400_malformed_version(self):
        for segment, why in [("1.8.3.4.5", "has more than 4 numeric components"),
                             ("abc", VERSION_RULE),
                             ("..", VERSION_RULE),
                             ("%2e%2e", VERSION_RULE),
                             ("1.8%2F3", VERSION_RULE)]:
            for suffix in ("/download?platform=windows", ""):
                target = f"/v2/agent-releases/{segment}{suffix}"
                with self.subTest(target=target):
                    self.check(target, 400, "Bad Request",
                               bad_request(f'invalid version "{segment}": {why}',
                                           {"parameter": "version", "value": segment}))

    def test_401_without_credentials(self):
        target = "/v2/agent-releases/latest/download?platform=windows"
        for headers in ([], [("Authorization", "Basic ZGVtbzpkZW1v")]):
            with self.subTest(headers=headers):
                self.check(target, 401, "Unauthorized", AUTH_REQUIRED, token=None,
                           headers=headers, extra_headers={"WWW-Authenticate": REALM})

    def test_401_with_a_bad_token(self):
        target = "/v2/agent-releases/latest/download?platform=windows"
        for token in ("wrong", DEMO_TOKEN + "x", DEMO_TOKEN.upper()):
            with self.subTest(token=token):
                self.check(target, 401, "Unauthorized", BAD_TOKEN, token=token,
                           extra_headers={"WWW-Authenticate": INVALID_TOKEN})

    def test_a_prefix_or_an_extension_of_the_token_on_the_same_connection(self):
        # The daemon remembers the last token's digest per thread: on one
        # keep-alive connection (one thread, with threads = 1) a shorter or a
        # longer token right after the real one must not pass for it.
        target = "/v2/agent-releases/latest/download?platform=windows"
        daemon = self.start(self.write("one-thread.toml", demo_catalog(threads=1), dedent=False),
                            name="one-thread")
        with self.connect(daemon) as conn:
            for token, status in ((DEMO_TOKEN, 302), ("d", 401), (DEMO_TOKEN[:-1], 401),
                                  (DEMO_TOKEN, 302), (DEMO_TOKEN + "x", 401),
                                  (DEMO_TOKEN + DEMO_TOKEN, 401), (DEMO_TOKEN, 302)):
                with self.subTest(token=token):
                    response = conn.request(target, token=token)
                    self.assertEqual(response.status, status, msg=repr(response))
                    if status == 401:
                        self.assertEqual(response.text(), BAD_TOKEN)

    def test_401_on_every_api_route(self):
        for target in ("/v2/agent-releases/1.8.3/download?platform=windows",
                       "/v2/agent-releases/latest?platform=windows",
                       "/v2/agent-releases/1.8.3",
                       "/v2/agent-releases"):
            for method in ("GET", "HEAD"):
                with self.subTest(target=target, method=method):
                    response = self.get(self.daemon, target, method=method, token=None)
                    self.assertEqual(
                        (response.status_line, response.header("WWW-Authenticate"),
                         response.header("Content-Length")),
                        ("HTTP/1.1 401 Unauthorized", REALM, str(len(AUTH_REQUIRED))))

    def test_401_comes_before_400_and_404(self):
        for target in ("/v2/agent-releases/latest/download?platform=linux",
                       "/v2/agent-releases/latest/download?channel=nightly&platform=windows",
                       "/v2/agent-releases/abc/download?platform=windows",
                       "/v2/agent-releases/7.7.7/download?platform=windows"):
            with self.subTest(target=target):
                self.check(target, 401, "Unauthorized", AUTH_REQUIRED, token=None,
                           extra_headers={"WWW-Authenticate": REALM})
                self.check(target, 401, "Unauthorized", BAD_TOKEN, token="wrong",
                           extra_headers={"WWW-Authenticate": INVALID_TOKEN})

    def test_404_details(self):
        cases = [
            ("/v2/agent-releases/1.7.0/download?platform=macos&arch=x86_64",
             not_found("no release 1.7.0",
                       {"version": "1.7.0", "platform": "macos", "arch": "x86_64"})),
            ("/v2/agent-releases/1.8.4/download?platform=windows",
             not_found("release 1.8.4 is yanked",
                       {"version": "1.8.4", "platform": "windows", "arch": "x86_64"})),
            ("/v2/agent-releases/v1.8.4?platform=win",
             not_found("release 1.8.4 is yanked",
                       {"version": "1.8.4", "platform": "windows", "arch": "x86_64"})),
            ("/v2/agent-releases/1.8.4", not_found("release 1.8.4 is yanked",
                                                    {"version": "1.8.4"})),
            ("/v2/agent-releases/9.9.9", not_found("no release 9.9.9", {"version": "9.9.9"})),
        ]
        for target, body in cases:
            with self.subTest(target=target):
                self.check(target, 404, "Not Found", body)

    def test_404_unknown_route(self):
        body = not_found("no such route")
        for target in ("/", "/v1/agent-releases/latest/download?platform=windows",
                       "/v2/agent-releases/latest/downloads?platform=windows",
                       "/v2/agent-releases/1.8.3/download/x?platform=windows",
                       "/v2/agent-releasesx", "/healthz/x", "/files/x"):
            with self.subTest(target=target):
                self.check(target, 404, "Not Found", body)

    def test_405_method_not_allowed(self):
        target = "/v2/agent-releases/latest/download?platform=windows"
        for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW"):
            for path in (target, "/healthz", "/v2/agent-releases"):
                with self.subTest(method=method, path=path):
                    self.check(path, 405, "Method Not Allowed",
                               error("method_not_allowed",
                                     f"method {method} is not allowed (allowed: GET, HEAD)"),
                               method=method, extra_headers={"Allow": "GET, HEAD"})


class ScopedErrors(ServeTestCase):
    """403 for a token without access, and the order 401, 400, 403, 404."""

    def setUp(self):
        super().setUp()
        text = SCOPED.format(stable=sha256_hex("stable-token"), beta=sha256_hex("beta-token"))
        self.daemon = self.start(self.write("scoped.toml", text + server_section(),
                                            dedent=False))

    def check(self, target, token, status, reason, body, extra_headers=None):
        response = self.get(self.daemon, target, token=token)
        self.assertJsonError(response, status, reason, body, extra_headers)

    def check_403(self, target, token, message, details):
        self.check(target, token, 403, "Forbidden", error("forbidden", message, details),
                   {"WWW-Authenticate": INSUFFICIENT_SCOPE})

    def test_403_for_a_channel(self):
        for target in ("/v2/agent-releases/latest/download?channel=beta&platform=windows",
                       "/v2/agent-releases/latest?channel=beta&platform=windows",
                       "/v2/agent-releases?channel=beta"):
            with self.subTest(target=target):
                self.check_403(target, "stable-token",
                               'this token may not read channel "beta"', {"channel": "beta"})

    def test_403_for_a_release(self):
        for target in ("/v2/agent-releases/2.0.0/download?platform=windows",
                       "/v2/agent-releases/2.0.0?platform=windows",
                       "/v2/agent-releases/2.0.0"):
            with self.subTest(target=target):
                self.check_403(target, "stable-token", "this token may not read release 2.0.0",
                               {"version": "2.0.0"})

    def test_400_comes_before_403(self):
        self.check("/v2/agent-releases/latest/download?channel=beta&platform=linux",
                   "stable-token", 400, "Bad Request",
                   bad_request('unknown platform "linux" (allowed: macos, windows)',
                               {"parameter": "platform", "value": "linux",
                                "allowed": PLATFORMS}))
        self.check("/v2/agent-releases/2.0.0/download?platform=macos&arch=ppc",
                   "stable-token", 400, "Bad Request",
                   bad_request('arch "ppc" is not available for platform macos '
                               "(allowed: arm64, x86_64)",
                               {"parameter": "arch", "value": "ppc", "allowed": MAC_ARCHS}))

    def test_403_comes_before_404(self):
        # Beta's current release, 2.0.0, has no macOS artifact: 404 for a reader of
        # beta, 403 for a token that may not read beta at all.
        self.check_403("/v2/agent-releases/latest/download?channel=beta&platform=macos&arch=arm64",
                       "stable-token", 'this token may not read channel "beta"',
                       {"channel": "beta"})
        self.check_403("/v2/agent-releases/2.0.0/download?platform=macos&arch=arm64",
                       "stable-token", "this token may not read release 2.0.0",
                       {"version": "2.0.0"})

    def test_an_answer_given_to_one_token_is_not_given_to_another(self):
        # agentdl-serve keeps the redirects it answered, by target and
        # Authorization; on one keep-alive connection (one worker) the same
        # target asked with another token, a wrong one or none must be
        # decided afresh.
        target = "/v2/agent-releases/latest/download?channel=beta&platform=windows"
        with self.connect(self.daemon) as conn:
            for token, status in (("beta-token", 302), ("stable-token", 403), (None, 401),
                                  ("beta-token", 302), ("beta-token ", 302),
                                  ("beta-tokeN", 401), ("stable-token", 403),
                                  ("beta-token", 302)):
                with self.subTest(token=token):
                    response = conn.request(target, token=token)
                    self.assertEqual(response.status, status, msg=repr(response))
                    if status == 302:
                        self.assertEqual(response.header("X-Release-Version"), "2.0.0")

    def test_404_for_latest_names_the_channel_and_the_version(self):
        self.check("/v2/agent-releases/latest/download?channel=beta&platform=macos&arch=arm64",
                   "beta-token", 404, "Not Found",
                   not_found('no artifact for macos/arm64 in release 2.0.0 '
                             '(current release of channel "beta")',
                             {"channel": "beta", "version": "2.0.0", "platform": "macos",
                              "arch": "arm64"}))
        self.check("/v2/agent-releases/2.0.0/download?platform=macos&arch=arm64",
                   "beta-token", 404, "Not Found",
                   not_found("no artifact for macos/arm64 in release 2.0.0",
                             {"version": "2.0.0", "platform": "macos", "arch": "arm64"}))


class PublicChannels(ServeTestCase):
    """[auth] public_channels = ["stable"]: stable without a token, beta with one."""

    def setUp(self):
        super().setUp()
        text = SCOPED.format(stable=sha256_hex("stable-token"), beta=sha256_hex("beta-token"))
        text = text.replace('mode = "required"\n', 'mode = "required"\npublic_channels = ["stable"]\n')
        self.daemon = self.start(self.write("public.toml", text + server_section(), dedent=False))

    def test_a_public_channel_needs_no_token(self):
        response = self.get(self.daemon, "/v2/agent-releases/latest/download?platform=windows",
                            token=None)
        self.assertEqual((response.status, response.header("Location")),
                         (302, "https://dl.example.org/a/w/1.5.0.msi"))
        listing = json.loads(self.get(self.daemon, "/v2/agent-releases", token=None).body)
        self.assertEqual([r["version"] for r in listing["releases"]], ["1.5.0"])

    def test_a_private_channel_without_a_token_is_401_with_one_302(self):
        target = "/v2/agent-releases/latest/download?channel=beta&platform=windows"
        # On one connection (one worker), so that a kept answer would show.
        with self.connect(self.daemon) as conn:
            for token, status in ((None, 401), ("beta-token", 302), (None, 401),
                                  ("stable-token", 403), ("beta-token", 302)):
                with self.subTest(token=token):
                    response = conn.request(target, token=token)
                    self.assertEqual(response.status, status, msg=repr(response))
                    if status == 401:
                        self.assertEqual(response.header("WWW-Authenticate"), REALM)
                        self.assertEqual(response.text(), AUTH_REQUIRED)


if __name__ == "__main__":
    runner.main()
