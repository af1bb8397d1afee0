"""Black-box tests of catalog discovery (CONTRACT section 7): --config, then
AGENTDL_CONFIG, ./agentdl.toml, $XDG_CONFIG_HOME/agentdl/agentdl.toml (or
$HOME/.config/agentdl/agentdl.toml when XDG_CONFIG_HOME is unset),
/etc/agentdl/agentdl.toml. Each candidate catalog has its own base_url, so the
resolved URL tells which one was read. /etc is never written: the tests that
need it absent skip when it exists."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner  # noqa: E402
from cli import DEMO, SOURCE_DIR, CliTestCase  # noqa: E402

ETC_CATALOG = "/etc/agentdl/agentdl.toml"

CATALOG = """\
[platforms.windows]
archs = ["x86_64"]
default_arch = "x86_64"
[channels.stable]
[storage]
base_url = "https://{name}.example.com/"
[[releases]]
version = "1.0.0"
channels = ["stable"]
  [[releases.artifacts]]
  platform = "windows"
  arch = "x86_64"
  path = "Agent.msi"
"""


def url_of(name):
    return f"https://{name}.example.com/Agent.msi\n"


class Discovery(CliTestCase):

    def setUp(self):
        super().setUp()
        self.xdg = self.mkdir("xdg")
        self.paths = {
            "flag": self.catalog("flag/agentdl.toml", "flag"),
            "env": self.catalog("env/catalog.toml", "env"),
            "cwd": self.catalog("work/agentdl.toml", "cwd"),
            "xdg": self.catalog("xdg/agentdl/agentdl.toml", "xdg"),
            "home": self.catalog("home/.config/agentdl/agentdl.toml", "home"),
        }

    def catalog(self, relative, name):
        return self.write(relative, CATALOG.replace("{name}", name), dedent=False)

    def remove(self, *names):
        for name in names:
            os.remove(self.paths[name])

    def resolve(self, *args, env=None, cwd=None):
        full_env = {"AGENTDL_CONFIG": self.paths["env"], "XDG_CONFIG_HOME": self.xdg}
        full_env.update(env or {})
        return self.agentdl("resolve", "--platform", "windows", *args, env=full_env, cwd=cwd)

    def test_flag_first(self):
        self.assertResult(self.resolve("--config", self.paths["flag"]), 0, url_of("flag"))

    def test_then_agentdl_config(self):
        self.assertResult(self.resolve(), 0, url_of("env"))

    def test_then_working_directory(self):
        self.assertResult(self.resolve(env={"AGENTDL_CONFIG": None}), 0, url_of("cwd"))

    def test_empty_agentdl_config_counts_as_unset(self):
        self.assertResult(self.resolve(env={"AGENTDL_CONFIG": ""}), 0, url_of("cwd"))

    def test_then_xdg_config_home(self):
        self.remove("cwd")
        self.assertResult(self.resolve(env={"AGENTDL_CONFIG": None}), 0, url_of("xdg"))

    def test_then_home_when_xdg_unset(self):
        self.remove("cwd")
        self.assertResult(self.resolve(env={"AGENTDL_CONFIG": None, "XDG_CONFIG_HOME": None}), 0,
                          url_of("home"))

    def test_then_home_when_xdg_empty(self):
        self.remove("cwd")
        self.assertResult(self.resolve(env={"AGENTDL_CONFIG": None, "XDG_CONFIG_HOME": ""}), 0,
                          url_of("home"))

    def test_flag_wins_over_a_broken_agentdl_config(self):
        missing = os.path.join(self.tmp, "missing.toml")
        self.assertResult(self.resolve("--config", self.paths["flag"],
                                       env={"AGENTDL_CONFIG": missing}), 0, url_of("flag"))

    def test_agentdl_config_does_not_fall_through(self):
        # A set AGENTDL_CONFIG names the catalog: a missing file is an error,
        # not a reason to try ./agentdl.toml.
        missing = os.path.join(self.tmp, "missing.toml")
        self.assertError(self.resolve(env={"AGENTDL_CONFIG": missing}), 7,
                         f"{missing}: cannot open: No such file or directory")

    def test_flag_does_not_fall_through(self):
        missing = os.path.join(self.tmp, "missing.toml")
        self.assertError(self.resolve("--config", missing), 7,
                         f"{missing}: cannot open: No such file or directory")

    def test_relative_flag_is_relative_to_working_directory(self):
        self.assertResult(self.resolve("--config", "../flag/agentdl.toml"), 0, url_of("flag"))

    def test_list_and_check_use_the_same_order(self):
        env = {"AGENTDL_CONFIG": self.paths["env"], "XDG_CONFIG_HOME": self.xdg}
        self.assertResult(self.agentdl("check", env=env), 0,
                          f"{self.paths['env']}: ok (1 release, 1 artifact, 1 channel, "
                          "1 platform)\n")
        env["AGENTDL_CONFIG"] = None
        self.assertResult(self.agentdl("check", env=env), 0,
                          "./agentdl.toml: ok (1 release, 1 artifact, 1 channel, 1 platform)\n")
        result = self.agentdl("list", "--json", env=env)
        self.assertEqual(result.returncode, 0, msg=repr(result))
        self.assertIn('"url":"https://cwd.example.com/Agent.msi"', result.stdout)
        self.remove("cwd")
        self.assertResult(
            self.agentdl("check", env=env), 0,
            f"{self.xdg}/agentdl/agentdl.toml: ok (1 release, 1 artifact, 1 channel, "
            "1 platform)\n")

    def test_demo_catalog_from_the_source_tree(self):
        # The README's way: run from the repository root, no --config.
        result = self.agentdl("resolve", "--platform", "windows", cwd=SOURCE_DIR,
                              env={"XDG_CONFIG_HOME": self.xdg})
        self.assertResult(
            result, 0,
            "https://downloads.example.com/agent/windows/1.8.3/ScalepadAgent-1.8.3.msi\n")
        self.assertResult(self.agentdl("check", cwd=SOURCE_DIR), 0,
                          "./agentdl.toml: ok (4 releases, 12 artifacts, 2 channels, 2 platforms)\n")
        self.assertTrue(os.path.samefile(os.path.join(SOURCE_DIR, "agentdl.toml"), DEMO))


@unittest.skipIf(os.path.exists(ETC_CATALOG), f"{ETC_CATALOG} exists on this machine")
class NoCatalog(CliTestCase):
    """Nothing anywhere: exit 7, naming every place tried."""

    def setUp(self):
        super().setUp()
        self.empty = self.mkdir("empty")
        self.xdg = self.mkdir("xdg")

    def test_nothing_found_with_xdg(self):
        for args in (["resolve", "--platform", "windows"], ["list"], ["check"]):
            with self.subTest(args=args):
                self.assertError(
                    self.agentdl(*args, cwd=self.empty, env={"XDG_CONFIG_HOME": self.xdg}), 7,
                    f"no catalog found (tried ./agentdl.toml, {self.xdg}/agentdl/agentdl.toml, "
                    f"{ETC_CATALOG}); give --config FILE or set AGENTDL_CONFIG")

    def test_nothing_found_without_xdg(self):
        self.assertError(
            self.agentdl("resolve", "--platform", "windows", cwd=self.empty), 7,
            f"no catalog found (tried ./agentdl.toml, {self.home}/.config/agentdl/agentdl.toml, "
            f"{ETC_CATALOG}); give --config FILE or set AGENTDL_CONFIG")

    def test_xdg_set_hides_home(self):
        # With XDG_CONFIG_HOME set, $HOME/.config is not a candidate.
        self.write("home/.config/agentdl/agentdl.toml", CATALOG.replace("{name}", "home"),
                   dedent=False)
        self.assertError(
            self.agentdl("resolve", "--platform", "windows", cwd=self.empty,
                         env={"XDG_CONFIG_HOME": self.xdg}), 7,
            f"no catalog found (tried ./agentdl.toml, {self.xdg}/agentdl/agentdl.toml, "
            f"{ETC_CATALOG}); give --config FILE or set AGENTDL_CONFIG")

    def test_a_directory_is_not_a_catalog(self):
        # ./agentdl.toml that is a directory is passed over.
        self.mkdir("empty/agentdl.toml")
        self.assertError(
            self.agentdl("check", cwd=self.empty, env={"XDG_CONFIG_HOME": self.xdg}), 7,
            f"no catalog found (tried ./agentdl.toml, {self.xdg}/agentdl/agentdl.toml, "
            f"{ETC_CATALOG}); give --config FILE or set AGENTDL_CONFIG")

    def test_version_and_help_need_no_catalog(self):
        for args in (["resolve", "--version"], ["list", "--help"], ["check", "--version"]):
            with self.subTest(args=args):
                result = self.agentdl(*args, cwd=self.empty, env={"XDG_CONFIG_HOME": self.xdg})
                self.assertEqual((result.returncode, result.stderr), (0, ""), msg=repr(result))


if __name__ == "__main__":
    runner.main()
