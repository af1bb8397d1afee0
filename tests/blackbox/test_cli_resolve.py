"""Black-box tests of `agentdl resolve` (CONTRACT sections 2, 3 and 7)."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner  # noqa: E402
from cli import DEMO, CliTestCase  # noqa: E402

BASE = "https://downloads.example.com/agent/"
WIN_183 = BASE + "windows/1.8.3/ScalepadAgent-1.8.3.msi"
MAC_ARM_183 = BASE + "macos/arm64/1.8.3/ScalepadAgent-1.8.3.pkg"
MAC_X86_183 = BASE + "macos/x86_64/1.8.3/ScalepadAgent-1.8.3.pkg"
WIN_182 = BASE + "windows/1.8.2/ScalepadAgent-1.8.2.msi"
WIN_BETA = BASE + "windows/1.9.0-beta.2/ScalepadAgent-1.9.0-beta.2.msi"
MAC_ARM_BETA = BASE + "macos/arm64/1.9.0-beta.2/ScalepadAgent-1.9.0-beta.2.pkg"

JSON_KEYS = ["version", "channel", "platform", "arch", "url", "filename", "sha256", "size"]


class ResolveDemo(CliTestCase):
    """The demo catalog and the API document's examples."""

    def resolve(self, *args):
        return self.agentdl("resolve", "--config", DEMO, *args)

    def test_api_document_examples(self):
        cases = [
            (["--channel", "stable", "--platform", "windows"], WIN_183),
            (["--channel", "stable", "--platform", "macos", "--arch", "arm64"], MAC_ARM_183),
            (["--version", "1.8.3", "--platform", "windows"], WIN_183),
            (["--version", "1.8.3", "--platform", "macos", "--arch", "x86_64"], MAC_X86_183),
        ]
        for args, url in cases:
            with self.subTest(args=args):
                self.assertResult(self.resolve(*args), 0, url + "\n")

    def test_default_channel_is_stable(self):
        self.assertResult(self.resolve("--platform", "windows"), 0, WIN_183 + "\n")
        self.assertResult(self.resolve("--platform", "macos", "--arch", "arm64"), 0,
                          MAC_ARM_183 + "\n")

    def test_latest_channel_gives_the_prerelease(self):
        self.assertResult(self.resolve("--channel", "latest", "--platform", "windows"), 0,
                          WIN_BETA + "\n")
        self.assertResult(
            self.resolve("--channel", "latest", "--platform", "macos", "--arch", "arm64"), 0,
            MAC_ARM_BETA + "\n")

    def test_older_version(self):
        self.assertResult(self.resolve("--version", "1.8.2", "--platform", "windows"), 0,
                          WIN_182 + "\n")

    def test_yanked_version_is_not_found(self):
        self.assertError(self.resolve("--version", "1.8.4", "--platform", "windows"), 3,
                         "release 1.8.4 is yanked")
        self.assertError(
            self.resolve("--version", "v1.8.4", "--platform", "macos", "--arch", "arm64"), 3,
            "release 1.8.4 is yanked")

    def test_unknown_version_is_not_found(self):
        self.assertError(self.resolve("--version", "1.7.0", "--platform", "windows"), 3,
                         "no release 1.7.0")
        self.assertError(self.resolve("--version", "1.9.0", "--platform", "windows"), 3,
                         "no release 1.9.0")

    def test_case_insensitive_and_aliases(self):
        cases = [
            (["--platform", "MacOS", "--arch", "arm64"], MAC_ARM_183),
            (["--platform", "darwin", "--arch", "arm64"], MAC_ARM_183),
            (["--platform", "OSX", "--arch", "x86_64"], MAC_X86_183),
            (["--platform", "mac", "--arch", "ARM64"], MAC_ARM_183),
            (["--platform", "macos", "--arch", "aarch64"], MAC_ARM_183),
            (["--platform", "Darwin", "--arch", "AArch64"], MAC_ARM_183),
            (["--platform", "macos", "--arch", "AMD64"], MAC_X86_183),
            (["--platform", "WINDOWS"], WIN_183),
            (["--platform", "windows", "--arch", "AMD64"], WIN_183),
            (["--platform", "win", "--arch", "x64"], WIN_183),
            (["--platform", "Win32"], WIN_183),
            (["--channel", "LATEST", "--platform", "windows"], WIN_BETA),
            (["--channel", "Stable", "--platform", "windows"], WIN_183),
            (["--version", "v1.8.3", "--platform", "windows"], WIN_183),
            (["--version", "v1.8.3", "--platform", "darwin", "--arch", "amd64"], MAC_X86_183),
            # By precedence: missing components count as 0, build metadata is ignored.
            (["--version", "1.8.3.0", "--platform", "windows"], WIN_183),
            (["--version", "1.8.3+build.7", "--platform", "windows"], WIN_183),
        ]
        for args, url in cases:
            with self.subTest(args=args):
                self.assertResult(self.resolve(*args), 0, url + "\n")

    def test_json_latest(self):
        result = self.resolve("--channel", "latest", "--platform", "windows", "--json")
        expected = {
            "version": "1.9.0-beta.2",
            "channel": "latest",
            "platform": "windows",
            "arch": "x86_64",
            "url": WIN_BETA,
            "filename": "ScalepadAgent-1.9.0-beta.2.msi",
            "sha256": "f0b02278d7305d02286679da2f7ef8823e8e126c551445cc948bac0ef0f46970",
            "size": 49876992,
        }
        self.assertResult(result, 0, json.dumps(expected, separators=(",", ":")) + "\n")

    def test_json_versioned_has_null_channel(self):
        result = self.resolve("--version", "1.8.3", "--platform", "MacOS", "--arch", "amd64",
                              "--json")
        self.assertEqual((result.returncode, result.stderr), (0, ""), msg=repr(result))
        self.assertTrue(result.stdout.endswith("\n"))
        self.assertEqual(result.stdout.count("\n"), 1)
        obj = json.loads(result.stdout)
        self.assertEqual(list(obj), JSON_KEYS)
        self.assertEqual(obj, {
            "version": "1.8.3",
            "channel": None,
            "platform": "macos",
            "arch": "x86_64",
            "url": MAC_X86_183,
            "filename": "ScalepadAgent-1.8.3.pkg",
            "sha256": "d90d760302e1aaa60f2dee6b181812311db6cb6832c76c3ae7daa4063ee5aa08",
            "size": 31064064,
        })

    def test_json_default_channel_is_named(self):
        result = self.resolve("--platform", "windows", "--json")
        self.assertEqual((result.returncode, result.stderr), (0, ""), msg=repr(result))
        obj = json.loads(result.stdout)
        self.assertEqual(list(obj), JSON_KEYS)
        self.assertEqual((obj["version"], obj["channel"], obj["url"]), ("1.8.3", "stable", WIN_183))

    def test_json_error_is_not_json(self):
        self.assertError(self.resolve("--version", "1.8.4", "--platform", "windows", "--json"), 3,
                         "release 1.8.4 is yanked")

    def test_explain_latest(self):
        result = self.resolve("--platform", "macos", "--arch", "arm64", "--explain")
        self.assertResult(result, 0, MAC_ARM_183 + "\n",
                          "agentdl: platform macos, arch arm64\n"
                          "agentdl: channel \"stable\" (default channel): releases of stable\n"
                          "agentdl: release 1.8.4: passed over (yanked)\n"
                          "agentdl: release 1.8.3: chosen (highest non-yanked release); "
                          "has ScalepadAgent-1.8.3.pkg\n"
                          "agentdl: 1 older release not considered\n")

    def test_explain_latest_channel(self):
        result = self.resolve("--channel", "latest", "--platform", "windows", "--explain")
        self.assertResult(result, 0, WIN_BETA + "\n",
                          "agentdl: platform windows, arch x86_64 (default_arch)\n"
                          "agentdl: channel \"latest\": releases of latest, stable\n"
                          "agentdl: release 1.9.0-beta.2: chosen (highest non-yanked release); "
                          "has ScalepadAgent-1.9.0-beta.2.msi\n"
                          "agentdl: 3 older releases not considered\n")

    def test_explain_with_json(self):
        result = self.resolve("--version", "1.8.3", "--platform", "windows", "--explain", "--json")
        self.assertEqual(result.returncode, 0, msg=repr(result))
        self.assertEqual(json.loads(result.stdout)["url"], WIN_183)
        self.assertEqual(result.stderr,
                         "agentdl: platform windows, arch x86_64 (default_arch)\n"
                         "agentdl: release 1.8.3: matches the version; "
                         "has ScalepadAgent-1.8.3.msi\n")

    def test_explain_yanked(self):
        result = self.resolve("--version", "1.8.4", "--platform", "windows", "--explain")
        self.assertResult(result, 3, "",
                          "agentdl: platform windows, arch x86_64 (default_arch)\n"
                          "agentdl: release 1.8.4: yanked, never resolved; "
                          "has ScalepadAgent-1.8.4.msi\n"
                          "agentdl: error: release 1.8.4 is yanked\n")

    def test_invalid_parameters(self):
        cases = [
            ([], 'missing parameter "platform" (allowed: macos, windows)'),
            (["--arch", "arm64"], 'missing parameter "platform" (allowed: macos, windows)'),
            (["--platform", ""], 'empty parameter "platform" (allowed: macos, windows)'),
            (["--platform", "linux"], 'unknown platform "linux" (allowed: macos, windows)'),
            (["--platform", "linux", "--version", "1.8.3"],
             'unknown platform "linux" (allowed: macos, windows)'),
            (["--platform", "macos"],
             'missing parameter "arch", required for platform macos (allowed: arm64, x86_64)'),
            (["--platform", "macos", "--version", "1.8.3"],
             'missing parameter "arch", required for platform macos (allowed: arm64, x86_64)'),
            # An arch the platform does not list is an invalid combination, not "not found".
            (["--platform", "windows", "--arch", "arm64"],
             'arch "arm64" is not available for platform windows (allowed: x86_64)'),
            (["--platform", "windows", "--arch", "aarch64", "--version", "1.8.3"],
             'arch "aarch64" is not available for platform windows (allowed: x86_64)'),
            (["--platform", "macos", "--arch", "sparc"],
             'arch "sparc" is not available for platform macos (allowed: arm64, x86_64)'),
            (["--platform", "macos", "--arch", ""],
             'empty parameter "arch" (allowed: arm64, x86_64)'),
            (["--platform", "windows", "--version", "1.x"],
             'invalid version "1.x": must be 1 to 4 dot-separated numbers, then optional '
             '-prerelease and +build (e.g. 1.8.3, 1.9.0-beta.2)'),
            (["--platform", "windows", "--version", "1.2.3.4.5"],
             'invalid version "1.2.3.4.5": has more than 4 numeric components'),
            (["--platform", "windows", "--channel", "nightly"],
             'unknown channel "nightly" (allowed: latest, stable)'),
            (["--platform", "windows", "--channel", ""],
             'empty parameter "channel" (allowed: latest, stable)'),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                self.assertError(self.resolve(*args), 2, message)

    def test_usage_errors(self):
        self.assertUsageError(
            self.resolve("--channel", "stable", "--version", "1.8.3", "--platform", "windows"),
            "--channel excludes --version")
        self.assertUsageError(self.resolve("--platform", "windows", "--bogus"),
                              "The following argument was not expected: --bogus")
        self.assertUsageError(self.resolve("--platform", "windows", "extra"),
                              "The following argument was not expected: extra")
        self.assertUsageError(self.agentdl("resolve", "--platform", "windows", "--config"),
                              "--config: 1 required FILE missing")

    @unittest.skipUnless(os.path.exists("/dev/full"), "needs /dev/full")
    def test_failed_write_is_an_error(self):
        with open("/dev/full", "w") as full:
            result = self.agentdl("resolve", "--config", DEMO, "--platform", "windows",
                                  stdout=full)
        self.assertResult(result, 1, "", "agentdl: error: cannot write to standard output\n")


class ResolveCatalogs(CliTestCase):
    """Resolution rules on catalogs written for each case."""

    NO_FALLBACK = """
        [platforms.windows]
        archs = ["x86_64"]
        default_arch = "x86_64"
        [platforms.macos]
        archs = ["arm64", "x86_64"]

        [channels.stable]

        [storage]
        base_url = "https://dl.example.org/agent"

        # The current release has no macos/x86_64 artifact; the older one has.
        [[releases]]
        version = "2.0.0"
        channels = ["stable"]
          [[releases.artifacts]]
          platform = "macos"
          arch = "arm64"
          path = "macos/arm64/2.0.0/Agent.pkg"
          [[releases.artifacts]]
          platform = "windows"
          arch = "x86_64"
          path = "windows/2.0.0/Agent.msi"

        [[releases]]
        version = "1.0.0"
        channels = ["stable"]
          [[releases.artifacts]]
          platform = "macos"
          arch = "x86_64"
          path = "macos/x86_64/1.0.0/Agent.pkg"
        """

    def test_no_fallback_to_an_older_release(self):
        config = self.write("nofallback.toml", self.NO_FALLBACK)
        result = self.agentdl("resolve", "--config", config, "--platform", "macos",
                              "--arch", "x86_64")
        self.assertError(result, 3,
                         'no artifact for macos/x86_64 in release 2.0.0 '
                         '(current release of channel "stable")')
        # The older release does have it, and is reachable by version.
        result = self.agentdl("resolve", "--config", config, "--version", "1.0.0",
                              "--platform", "macos", "--arch", "x86_64")
        self.assertResult(result, 0, "https://dl.example.org/agent/macos/x86_64/1.0.0/Agent.pkg\n")
        # The current release serves the other platform/arch pairs.
        result = self.agentdl("resolve", "--config", config, "--platform", "macos",
                              "--arch", "arm64")
        self.assertResult(result, 0, "https://dl.example.org/agent/macos/arm64/2.0.0/Agent.pkg\n")
        result = self.agentdl("resolve", "--config", config, "--version", "1.0.0",
                              "--platform", "windows")
        self.assertError(result, 3, "no artifact for windows/x86_64 in release 1.0.0")

    def test_no_fallback_explained(self):
        config = self.write("nofallback.toml", self.NO_FALLBACK)
        result = self.agentdl("resolve", "--config", config, "--platform", "macos",
                              "--arch", "x86_64", "--explain")
        self.assertResult(result, 3, "",
                          "agentdl: platform macos, arch x86_64\n"
                          "agentdl: channel \"stable\" (default channel): releases of stable\n"
                          "agentdl: release 2.0.0: chosen (highest non-yanked release); "
                          "has no artifact for macos/x86_64\n"
                          "agentdl: older releases are not considered: "
                          "no fallback past the current release\n"
                          "agentdl: 1 older release not considered\n"
                          "agentdl: error: no artifact for macos/x86_64 in release 2.0.0 "
                          "(current release of channel \"stable\")\n")

    def test_location_encoding_url_and_missing_digest(self):
        config = self.write("loc.toml", """
            [platforms.linux]
            archs = ["x86_64", "arm64"]
            default_arch = "x86_64"
            [channels.stable]
            [storage]
            base_url = "https://dl.example.org/files"
            [[releases]]
            version = "3.1"
            channels = ["stable"]
              [[releases.artifacts]]
              platform = "linux"
              arch = "x86_64"
              path = "linux/3.1/Agent Setup#1.tar.gz"
              [[releases.artifacts]]
              platform = "linux"
              arch = "arm64"
              url = "https://mirror.example.net/files/agent-arm64.tar.gz?sig=abc"
              sha256 = "ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789"
              size = 0
            """)
        result = self.agentdl("resolve", "--config", config, "--platform", "linux", "--json")
        self.assertEqual((result.returncode, result.stderr), (0, ""), msg=repr(result))
        obj = json.loads(result.stdout)
        self.assertEqual(list(obj), JSON_KEYS)
        self.assertEqual(obj, {
            "version": "3.1",
            "channel": "stable",
            "platform": "linux",
            "arch": "x86_64",
            "url": "https://dl.example.org/files/linux/3.1/Agent%20Setup%231.tar.gz",
            "filename": "Agent Setup#1.tar.gz",
            "sha256": None,
            "size": None,
        })
        result = self.agentdl("resolve", "--config", config, "--platform", "linux",
                              "--arch", "arm64", "--json")
        self.assertEqual((result.returncode, result.stderr), (0, ""), msg=repr(result))
        self.assertEqual(json.loads(result.stdout), {
            "version": "3.1",
            "channel": "stable",
            "platform": "linux",
            "arch": "arm64",
            "url": "https://mirror.example.net/files/agent-arm64.tar.gz?sig=abc",
            "filename": "agent-arm64.tar.gz",
            "sha256": "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
            "size": 0,
        })

    CHANNELS = """
        default_channel = "beta"
        [platforms.linux]
        archs = ["x86_64"]
        default_arch = "x86_64"
        [aliases]
        platform = { tux = "linux" }
        arch = { intel64 = "x86_64" }
        [channels.stable]
        {stable_pin}
        [channels.beta]
        includes = ["stable"]
        [channels.empty]
        [storage]
        base_url = "https://dl.example.org/"
        [[releases]]
        version = "2.0.0-beta.2"
        channels = ["beta"]
          [[releases.artifacts]]
          platform = "linux"
          arch = "x86_64"
          path = "b2.tgz"
        [[releases]]
        version = "2.0.0-beta.10"
        channels = ["beta"]
          [[releases.artifacts]]
          platform = "linux"
          arch = "x86_64"
          path = "b10.tgz"
        [[releases]]
        version = "1.5"
        channels = ["stable"]
          [[releases.artifacts]]
          platform = "linux"
          arch = "x86_64"
          path = "15.tgz"
        [[releases]]
        version = "1.4.9"
        channels = ["stable"]
          [[releases.artifacts]]
          platform = "linux"
          arch = "x86_64"
          path = "149.tgz"
        """

    def channels_catalog(self, stable_pin=""):
        return self.write("channels.toml", self.CHANNELS.replace("{stable_pin}", stable_pin))

    def resolve_url(self, config, *args):
        result = self.agentdl("resolve", "--config", config, *args)
        self.assertEqual((result.returncode, result.stderr), (0, ""), msg=repr(result))
        return result.stdout

    def test_precedence_default_channel_and_includes(self):
        config = self.channels_catalog()
        # default_channel = "beta"; beta.10 > beta.2 (SemVer), and beta includes stable.
        self.assertEqual(self.resolve_url(config, "--platform", "linux"),
                         "https://dl.example.org/b10.tgz\n")
        self.assertEqual(self.resolve_url(config, "--platform", "linux", "--channel", "stable"),
                         "https://dl.example.org/15.tgz\n")

    def test_included_channel_release_wins_when_higher(self):
        text = self.CHANNELS.replace("{stable_pin}", "").replace('version = "1.5"',
                                                                 'version = "2.0.0"')
        config = self.write("channels.toml", text)
        # 2.0.0 (stable, included) > 2.0.0-beta.10 (beta's own).
        self.assertEqual(self.resolve_url(config, "--platform", "linux"),
                         "https://dl.example.org/15.tgz\n")

    def test_current_pin(self):
        config = self.channels_catalog('current = "v1.4.9"')
        self.assertEqual(self.resolve_url(config, "--platform", "linux", "--channel", "stable"),
                         "https://dl.example.org/149.tgz\n")
        # The pin is stable's own; beta still picks its highest release.
        self.assertEqual(self.resolve_url(config, "--platform", "linux"),
                         "https://dl.example.org/b10.tgz\n")
        result = self.agentdl("resolve", "--config", config, "--platform", "linux",
                              "--channel", "stable", "--explain")
        self.assertResult(result, 0, "https://dl.example.org/149.tgz\n",
                          "agentdl: platform linux, arch x86_64 (default_arch)\n"
                          "agentdl: channel \"stable\": releases of stable\n"
                          "agentdl: channel \"stable\" pins current = 1.4.9\n"
                          "agentdl: release 1.5: passed over (newer than the pin)\n"
                          "agentdl: release 1.4.9: chosen (pinned); has 149.tgz\n")

    def test_catalog_aliases_merge_with_builtin(self):
        config = self.channels_catalog()
        url = "https://dl.example.org/15.tgz\n"
        for platform, arch in [("TUX", "Intel64"), ("tux", "amd64"), ("Linux", "X64")]:
            with self.subTest(platform=platform, arch=arch):
                self.assertEqual(self.resolve_url(config, "--channel", "stable", "--platform",
                                                  platform, "--arch", arch), url)

    def test_channel_without_release(self):
        config = self.channels_catalog()
        self.assertError(
            self.agentdl("resolve", "--config", config, "--platform", "linux",
                         "--channel", "empty"),
            3, 'channel "empty" has no release')

    def test_only_yanked_releases(self):
        config = self.write("yanked.toml", """
            [platforms.windows]
            archs = ["x86_64"]
            default_arch = "x86_64"
            [channels.stable]
            [storage]
            base_url = "https://dl.example.org/"
            [[releases]]
            version = "1.0.0"
            channels = ["stable"]
            yanked = true
              [[releases.artifacts]]
              platform = "windows"
              arch = "x86_64"
              path = "a.msi"
            """)
        self.assertError(self.agentdl("resolve", "--config", config, "--platform", "windows"),
                         3, 'every release of channel "stable" is yanked')
        self.assertError(self.agentdl("resolve", "--config", config, "--platform", "windows",
                                      "--version", "1.0.0"),
                         3, "release 1.0.0 is yanked")

    def test_bad_catalog_is_a_configuration_error(self):
        config = self.write("bad.toml", """
            [platforms.windows]
            archs = ["x86_64"]
            arch = "x86_64"
            """)
        self.assertError(self.agentdl("resolve", "--config", config, "--platform", "windows"), 7,
                         f'{config}:3:1: unknown key "arch" in [platforms.windows] '
                         "(expected one of: archs, default_arch)")


if __name__ == "__main__":
    runner.main()
