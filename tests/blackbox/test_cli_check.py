"""Black-box tests of `agentdl check` and catalog validation (CONTRACT sections 2 and 7)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner  # noqa: E402
from cli import DEMO, CliTestCase  # noqa: E402

SHA = "025ecf8e4285648936105c55a3404cfe9e813be30b2028d6cf20e0af44bc95be"

# A valid catalog; each bad catalog below changes one piece of it. Line numbers
# in the expected messages refer to this layout.
GOOD = f"""\
[platforms.windows]
archs = ["x86_64"]
default_arch = "x86_64"
[platforms.macos]
archs = ["arm64", "x86_64"]
[channels.stable]
[channels.latest]
includes = ["stable"]
[storage]
base_url = "https://dl.example.org/agent/"
[[releases]]
version = "1.0.0"
channels = ["stable"]
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "windows/1.0.0/Agent.msi"
  sha256 = "{SHA}"
  size = 100
"""

SECOND_ARTIFACT = """\
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  url = "https://elsewhere.example.com/Agent.msi"
"""

# (name, (old, new) replacements in GOOD or text to append, expected "LINE:COL: message")
BAD = [
    ("syntax: unclosed table header",
     [("[platforms.windows]", "[platforms.windows")],
     "1:19: Error while parsing table header: expected ']', saw '\\n'"),
    ("syntax: unterminated string",
     [('path = "windows/1.0.0/Agent.msi"', 'path = "windows/1.0.0/Agent.msi')],
     "17:34: Error while parsing string: unescaped control characters other than TAB (U+0009) "
     "are explicitly prohibited"),
    ("syntax: duplicate key",
     [("size = 100", "size = 100\n  size = 200")],
     "20:10: Error while parsing key-value pair: cannot redefine existing integer 'size'"),
    ("unknown top-level key",
     [("[platforms.windows]", 'defualt_channel = "stable"\n[platforms.windows]')],
     '1:1: unknown key "defualt_channel" in the catalog (expected one of: default_channel, '
     "platforms, aliases, channels, storage, releases, server, page, auth, mirror)"),
    ("unknown key in a platform",
     [('default_arch = "x86_64"', 'default-arch = "x86_64"')],
     '3:1: unknown key "default-arch" in [platforms.windows] (expected one of: archs, '
     "default_arch)"),
    ("unknown key in storage",
     [("base_url =", "baseurl =")],
     '10:1: unknown key "baseurl" in [storage] (expected one of: base_url, signing, expires, '
     "secret_env, previous_secret_env, secret_file, s3)"),
    ("unknown key in a release",
     [('channels = ["stable"]', 'channel = ["stable"]')],
     '13:1: unknown key "channel" in [[releases]] (expected one of: version, channels, '
     "published_at, yanked, artifacts)"),
    ("unknown key in an artifact",
     [("size = 100", "sizes = 100")],
     '19:3: unknown key "sizes" in [[releases.artifacts]] (expected one of: platform, arch, '
     "path, url, sha256, size)"),
    ("wrong type",
     [('archs = ["arm64", "x86_64"]', 'archs = "arm64"')],
     "5:9: archs must be an array of strings, not a string"),
    ("default_arch not listed",
     [('default_arch = "x86_64"', 'default_arch = "arm64"')],
     '3:16: default_arch "arm64" is not one of the archs of [platforms.windows] (x86_64)'),
    ("default_channel not declared",
     [("[platforms.windows]", 'default_channel = "beta"\n[platforms.windows]')],
     '1:19: default_channel "beta" is not a declared channel'),
    ("artifact for an undeclared platform",
     [('platform = "windows"', 'platform = "linux"')],
     '15:14: artifact for unknown platform "linux" (declared: macos, windows)'),
    ("artifact for an undeclared arch",
     [('arch = "x86_64"\n  path', 'arch = "arm64"\n  path')],
     '16:10: artifact for arch "arm64", which platform windows does not declare (x86_64)'),
    ("two artifacts for one platform/arch",
     SECOND_ARTIFACT,
     "20:3: release 1.0.0 has two artifacts for windows/x86_64 (the other at line 14)"),
    ("two releases of equal precedence",
     '[[releases]]\nversion = "v1.0+build.2"\n',
     "20:1: release 1.0+build.2 has the same precedence as release 1.0.0 at line 11"),
    ("invalid release version",
     [('version = "1.0.0"', 'version = "1.0.x"')],
     '12:11: invalid version "1.0.x": must be 1 to 4 dot-separated numbers, then optional '
     "-prerelease and +build (e.g. 1.8.3, 1.9.0-beta.2)"),
    ("release names an undeclared channel",
     [('channels = ["stable"]', 'channels = ["stabel"]')],
     '13:13: release 1.0.0 names undeclared channel "stabel" (declared: latest, stable)'),
    ("includes an undeclared channel",
     [('includes = ["stable"]', 'includes = ["beta"]')],
     '8:13: channel "latest" includes undeclared channel "beta" (declared: latest, stable)'),
    ("includes cycle",
     [("[channels.stable]", '[channels.stable]\nincludes = ["latest"]')],
     "9:12: channel includes form a cycle: latest -> stable -> latest"),
    ("pin of a missing version",
     [("[channels.stable]", '[channels.stable]\ncurrent = "2.0"')],
     '7:11: channel "stable" pins current = "2.0", but there is no such release'),
    ("pin of a yanked version",
     [("[channels.stable]", '[channels.stable]\ncurrent = "1.0.0"'),
      ('version = "1.0.0"', 'version = "1.0.0"\nyanked = true')],
     '7:11: channel "stable" pins current = "1.0.0", which is yanked'),
    ("path with ..",
     [('path = "windows/1.0.0/Agent.msi"', 'path = "windows/../Agent.msi"')],
     '17:10: path "windows/../Agent.msi" has a ".." segment'),
    ("path with a leading /",
     [('path = "windows/1.0.0/Agent.msi"', 'path = "/windows/Agent.msi"')],
     '17:10: path "/windows/Agent.msi" must be relative (no leading \'/\')'),
    ("path with a backslash",
     [('path = "windows/1.0.0/Agent.msi"', "path = 'windows\\Agent.msi'")],
     '17:10: path "windows\\Agent.msi" contains a backslash (use \'/\')'),
    ("path with a control character",
     [('path = "windows/1.0.0/Agent.msi"', 'path = "windows/\\u0001.msi"')],
     '17:10: path "windows/\x01.msi" contains a control character'),
    ("both path and url",
     [("  size = 100", '  size = 100\n  url = "https://elsewhere.example.com/Agent.msi"')],
     '14:3: artifact has both "path" and "url" (give one)'),
    ("neither path nor url",
     [('  path = "windows/1.0.0/Agent.msi"\n', "")],
     '14:3: artifact has neither "path" (relative to [storage] base_url) nor "url" (absolute)'),
    ("sha256 too short",
     [(SHA, "abc")],
     '18:12: sha256 "abc" is not 64 hexadecimal digits'),
    ("sha256 not hex",
     [(SHA, "g" * 64)],
     f'18:12: sha256 "{"g" * 64}" is not 64 hexadecimal digits'),
    ("negative size",
     [("size = 100", "size = -1")],
     "19:10: size must be at least 0, not -1"),
    ("published_at without an offset",
     [('version = "1.0.0"', 'version = "1.0.0"\npublished_at = 2026-10-01T12:00:00')],
     "13:16: published_at must be a date-time with offset, e.g. 2026-10-01T12:00:00Z, "
     "not a date-time"),
]


def make_bad(change):
    if isinstance(change, str):
        return GOOD + change
    text = GOOD
    for old, new in change:
        assert text.count(old) == 1, f"{old!r} must occur once in GOOD"
        text = text.replace(old, new)
    return text


class Check(CliTestCase):

    def test_demo_catalog_is_ok(self):
        self.assertResult(self.agentdl("check", "--config", DEMO), 0,
                          f"{DEMO}: ok (4 releases, 12 artifacts, 2 channels, 2 platforms)\n")

    def test_good_catalog_is_ok(self):
        config = self.write("good.toml", GOOD, dedent=False)
        self.assertResult(self.agentdl("check", "--config", config), 0,
                          f"{config}: ok (1 release, 1 artifact, 2 channels, 2 platforms)\n")

    def test_relative_config_is_named_as_given(self):
        self.write("work/sub/good.toml", GOOD, dedent=False)
        self.assertResult(self.agentdl("check", "--config", "sub/good.toml"), 0,
                          "sub/good.toml: ok (1 release, 1 artifact, 2 channels, 2 platforms)\n")

    def test_bad_catalogs(self):
        for name, change, message in BAD:
            with self.subTest(name):
                config = self.write("bad.toml", make_bad(change), dedent=False)
                self.assertError(self.agentdl("check", "--config", config), 7,
                                 f"{config}:{message}")

    def test_bad_catalog_fails_every_command(self):
        config = self.write("bad.toml", make_bad(BAD[0][1]), dedent=False)
        message = f"{config}:{BAD[0][2]}"
        for args in (["resolve", "--platform", "windows"], ["list"], ["list", "--json"],
                     ["check"]):
            with self.subTest(args=args):
                self.assertError(self.agentdl(*args, "--config", config), 7, message)

    def test_missing_file(self):
        missing = os.path.join(self.tmp, "nope.toml")
        for args in (["check"], ["list"], ["resolve", "--platform", "windows"]):
            with self.subTest(args=args):
                self.assertError(self.agentdl(*args, "--config", missing), 7,
                                 f"{missing}: cannot open: No such file or directory")

    def test_directory_is_not_a_catalog(self):
        result = self.agentdl("check", "--config", self.tmp)
        self.assertEqual((result.returncode, result.stdout), (7, ""), msg=repr(result))
        self.assertEqual(result.stderr,
                         f"agentdl: error: {self.tmp}: cannot read: is a directory, not a catalog file\n")

    def test_usage_errors(self):
        self.assertUsageError(self.agentdl("check", "--config"), "--config: 1 required FILE missing")
        self.assertUsageError(self.agentdl("check", "--config", DEMO, "extra"),
                              "The following argument was not expected: extra")


if __name__ == "__main__":
    runner.main()
