"""Black-box tests of `agentdl list` (CONTRACT section 7)."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner  # noqa: E402
from cli import DEMO, CliTestCase  # noqa: E402

BASE = "https://downloads.example.com/agent/"

DEMO_TABLE = (
    "VERSION       CHANNELS  STATUS           PUBLISHED             ARTIFACTS\n"
    "1.9.0-beta.2  latest    current: latest  2026-11-10T09:00:00Z  "
    "windows/x86_64 macos/arm64 macos/x86_64\n"
    "1.8.4         stable    yanked           2026-10-20T12:00:00Z  "
    "windows/x86_64 macos/arm64 macos/x86_64\n"
    "1.8.3         stable    current: stable  2026-10-01T12:00:00Z  "
    "windows/x86_64 macos/arm64 macos/x86_64\n"
    "1.8.2         stable    -                2026-09-02T12:00:00Z  "
    "windows/x86_64 macos/arm64 macos/x86_64\n"
)

STABLE_TABLE = (
    "VERSION  CHANNELS  STATUS           PUBLISHED             ARTIFACTS\n"
    "1.8.4    stable    yanked           2026-10-20T12:00:00Z  "
    "windows/x86_64 macos/arm64 macos/x86_64\n"
    "1.8.3    stable    current: stable  2026-10-01T12:00:00Z  "
    "windows/x86_64 macos/arm64 macos/x86_64\n"
    "1.8.2    stable    -                2026-09-02T12:00:00Z  "
    "windows/x86_64 macos/arm64 macos/x86_64\n"
)

# (version, channel, current_in, published_at, yanked,
#  [(platform, arch, sha256, size)] in catalog order)
DEMO_RELEASES = [
    ("1.9.0-beta.2", "latest", ["latest"], "2026-11-10T09:00:00Z", False, [
        ("windows", "x86_64",
         "f0b02278d7305d02286679da2f7ef8823e8e126c551445cc948bac0ef0f46970", 49876992),
        ("macos", "arm64",
         "ce46bb0fb6dbed5e9279e9e7ad14a47564ebc5b2781122a8550988207d6f6f69", 31457280),
        ("macos", "x86_64",
         "1f7ba4766d392bc6a516a80b7a8367ab323b387db393118e408adb50292c56f0", 32505856),
    ]),
    ("1.8.4", "stable", [], "2026-10-20T12:00:00Z", True, [
        ("windows", "x86_64",
         "1b48be186dc0c7b591ef16a9c1abba0d2534f159de114284dc868478f06de93c", 48300032),
        ("macos", "arm64",
         "ea1f69d25388eab40c055da5c7f91f572859594ba525fa56241a4b312f97acd6", 30408704),
        ("macos", "x86_64",
         "20f196e63ad4740740e0b0111f4f7e91a13c2ceaced2441b9e0efaa78fa6b3e7", 31195136),
    ]),
    ("1.8.3", "stable", ["stable"], "2026-10-01T12:00:00Z", False, [
        ("windows", "x86_64",
         "025ecf8e4285648936105c55a3404cfe9e813be30b2028d6cf20e0af44bc95be", 48213504),
        ("macos", "arm64",
         "4f4f02875b1dce73e6a9fb9e1fc92d663fbe2274c796f1c28b1a56c664b6ee1a", 30146560),
        ("macos", "x86_64",
         "d90d760302e1aaa60f2dee6b181812311db6cb6832c76c3ae7daa4063ee5aa08", 31064064),
    ]),
    ("1.8.2", "stable", [], "2026-09-02T12:00:00Z", False, [
        ("windows", "x86_64",
         "fa3cfc5832f6bb790103ec7e697833778272f2594ed06839c59028097925826c", 48128000),
        ("macos", "arm64",
         "9bb7e18638c27a65ab5292d6f01ac207c7d4e91224169ac564f945e7f899d9e3", 30081024),
        ("macos", "x86_64",
         "c532c81af5e5fb9481e924ef6e11e7a39f92bcb3bb469d5dca00ec676b5da6d9", 30998528),
    ]),
]


def demo_release_json(version, channel, current_in, published_at, yanked, artifacts):
    out = []
    for platform, arch, sha256, size in artifacts:
        if platform == "windows":
            path = f"windows/{version}/ScalepadAgent-{version}.msi"
        else:
            path = f"macos/{arch}/{version}/ScalepadAgent-{version}.pkg"
        out.append({
            "platform": platform,
            "arch": arch,
            "url": BASE + path,
            "filename": path.rsplit("/", 1)[1],
            "sha256": sha256,
            "size": size,
        })
    return {
        "version": version,
        "channels": [channel],
        "current_in": current_in,
        "published_at": published_at,
        "yanked": yanked,
        "artifacts": out,
    }


def compact(obj):
    return json.dumps(obj, separators=(",", ":")) + "\n"


DEMO_LATEST = {"includes": ["stable"], "current": "1.9.0-beta.2"}
DEMO_STABLE = {"includes": [], "current": "1.8.3"}
DEMO_SHAPE = {
    "platforms": {"macos": {"archs": ["arm64", "x86_64"], "default_arch": None},
                  "windows": {"archs": ["x86_64"], "default_arch": "x86_64"}},
    "default_channel": "stable",
    "aliases": {"platform": {}, "arch": {}},
}


class ListDemo(CliTestCase):

    def list(self, *args):
        return self.agentdl("list", "--config", DEMO, *args)

    def test_table(self):
        self.assertResult(self.list(), 0, DEMO_TABLE)

    def test_table_latest_includes_stable(self):
        self.assertResult(self.list("--channel", "latest"), 0, DEMO_TABLE)

    def test_table_stable_only(self):
        # Stable's releases only, the yanked 1.8.4 included and marked.
        self.assertResult(self.list("--channel", "stable"), 0, STABLE_TABLE)
        self.assertResult(self.list("--channel", "STABLE"), 0, STABLE_TABLE)

    def test_json(self):
        # The releases and the catalog's shape, as the server's list route has them.
        expected = {"releases": [demo_release_json(*r) for r in DEMO_RELEASES],
                    "channels": {"latest": DEMO_LATEST, "stable": DEMO_STABLE}, **DEMO_SHAPE}
        self.assertResult(self.list("--json"), 0, compact(expected))

    def test_json_stable_only(self):
        result = self.list("--channel", "stable", "--json")
        expected = {"releases": [demo_release_json(*r) for r in DEMO_RELEASES[1:]],
                    "channels": {"stable": DEMO_STABLE}, **DEMO_SHAPE}
        self.assertResult(result, 0, compact(expected))
        releases = json.loads(result.stdout)["releases"]
        self.assertEqual([(r["version"], r["yanked"]) for r in releases],
                         [("1.8.4", True), ("1.8.3", False), ("1.8.2", False)])

    def test_unknown_channel(self):
        for args in (["--channel", "nightly"], ["--channel", "nightly", "--json"]):
            with self.subTest(args=args):
                self.assertError(self.list(*args), 2,
                                 'unknown channel "nightly" (allowed: latest, stable)')

    def test_usage_errors(self):
        self.assertUsageError(self.list("--platform", "windows"),
                              "The following arguments were not expected: windows --platform")
        self.assertUsageError(self.list("--channel"), "--channel: 1 required C missing")


class ListCatalogs(CliTestCase):

    def test_shared_current_unpublished_and_channelless(self):
        config = self.write("c.toml", """
            [platforms.linux]
            archs = ["x86_64", "arm64"]
            [aliases]
            platform = { Tux = "linux" }
            arch = { amd64 = "x86_64", armv8 = "arm64" }
            [channels.stable]
            [channels.latest]
            includes = ["stable"]
            [storage]
            base_url = "https://dl.example.org/"
            [[releases]]
            version = "1.0.0"
            channels = []
              [[releases.artifacts]]
              platform = "linux"
              arch = "arm64"
              path = "one.tgz"
            [[releases]]
            version = "2.0"
            channels = ["stable"]
            [[releases]]
            version = "v2.1"
            channels = ["stable", "latest"]
            published_at = 2026-01-02T03:04:05+01:00
              [[releases.artifacts]]
              platform = "linux"
              arch = "x86_64"
              url = "https://elsewhere.example.com/a/agent.tgz"
              size = 12
            """)
        self.assertResult(
            self.agentdl("list", "--config", config), 0,
            "VERSION  CHANNELS       STATUS                  PUBLISHED                  "
            "ARTIFACTS\n"
            "2.1      stable,latest  current: latest,stable  2026-01-02T03:04:05+01:00  "
            "linux/x86_64\n"
            "2.0      stable         -                       -                          -\n"
            "1.0.0    -              -                       -                          "
            "linux/arm64\n")
        self.assertResult(
            self.agentdl("list", "--config", config, "--json"), 0,
            compact({"releases": [
                {"version": "2.1", "channels": ["stable", "latest"],
                 "current_in": ["latest", "stable"], "published_at": "2026-01-02T03:04:05+01:00",
                 "yanked": False,
                 "artifacts": [{"platform": "linux", "arch": "x86_64",
                                "url": "https://elsewhere.example.com/a/agent.tgz",
                                "filename": "agent.tgz", "sha256": None, "size": 12}]},
                {"version": "2.0", "channels": ["stable"], "current_in": [],
                 "published_at": None, "yanked": False, "artifacts": []},
                {"version": "1.0.0", "channels": [], "current_in": [], "published_at": None,
                 "yanked": False,
                 "artifacts": [{"platform": "linux", "arch": "arm64",
                                "url": "https://dl.example.org/one.tgz", "filename": "one.tgz",
                                "sha256": None, "size": None}]},
            ],
             "channels": {"latest": {"includes": ["stable"], "current": "2.1"},
                          "stable": {"includes": [], "current": "2.1"}},
             "platforms": {"linux": {"archs": ["x86_64", "arm64"], "default_arch": None}},
             "default_channel": "stable",
             # The catalog's own aliases only: the built-in ones (amd64 among them)
             # are every agentdl's, but a catalog that names one has it as its own.
             "aliases": {"platform": {"tux": "linux"},
                         "arch": {"amd64": "x86_64", "armv8": "arm64"}}}))

    def test_empty_catalog(self):
        config = self.write("empty.toml", "")
        self.assertResult(self.agentdl("list", "--config", config), 0,
                          "VERSION  CHANNELS  STATUS  PUBLISHED  ARTIFACTS\n")
        self.assertResult(self.agentdl("list", "--config", config, "--json"), 0,
                          '{"releases":[],"channels":{},"platforms":{},"default_channel":null,'
                          '"aliases":{"platform":{},"arch":{}}}\n')

    def test_bad_catalog(self):
        config = self.write("bad.toml", 'releases = 3\n[channels.stable]\n')
        self.assertError(self.agentdl("list", "--config", config), 7,
                         f"{config}:1:12: releases must be an array of tables ([[releases]])")


if __name__ == "__main__":
    runner.main()
