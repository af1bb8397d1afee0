"""Black-box tests of --help, --version and command dispatch (CONTRACT section 7)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner  # noqa: E402
from cli import CliTestCase, project_version  # noqa: E402

VERSION_LINE = f"agentdl {project_version()}\n"

COMMANDS = [[], ["resolve"], ["download"], ["list"], ["check"], ["token"], ["token", "new"],
            ["token", "hash"], ["mirror"], ["mirror", "sync"]]

EXIT_CODES = """Exit codes:
  0  success
  1  unexpected internal error
  2  usage error or invalid parameters
  3  not found
  4  authentication or permission
  5  network or server error
  6  integrity: checksum or size mismatch
  7  configuration error (the catalog fails to load or validate)
"""


class HelpAndVersion(CliTestCase):

    def test_version_line_is_the_project_version(self):
        self.assertEqual(VERSION_LINE, "agentdl 0.1.0\n")

    def test_version_everywhere(self):
        for command in COMMANDS:
            with self.subTest(command=command):
                self.assertResult(self.agentdl(*command, "--version"), 0, VERSION_LINE)

    def test_resolve_and_download_version_flag(self):
        # Alone, --version prints agentdl's version; with other options it
        # takes a release, and without a value it is an error (a script's
        # empty $VERSION must not look like a successful run).
        for command in ("resolve", "download"):
            with self.subTest(command=command):
                self.assertResult(self.agentdl(command, "--version"), 0, VERSION_LINE)
                for args in (["--platform", "windows", "--version"],
                             ["--version", "--platform", "windows"],
                             ["--version", "", "--platform", "windows"]):
                    self.assertUsageError(
                        self.agentdl(command, *args),
                        "--version needs a release version, e.g. --version 1.8.3 (alone, "
                        "'agentdl --version' prints agentdl's own)")

    def test_help_everywhere(self):
        for command in COMMANDS:
            usage = " ".join(["agentdl", *command, "[OPTIONS]"])
            if command in ([], ["token"], ["mirror"]):
                usage += " SUBCOMMAND"
            for flag in ("--help", "-h"):
                with self.subTest(command=command, flag=flag):
                    result = self.agentdl(*command, flag)
                    self.assertEqual((result.returncode, result.stderr), (0, ""), msg=repr(result))
                    self.assertIn(f"\nUsage: {usage}\n", result.stdout)
                    self.assertIn("  -h,--help ", result.stdout)
                    self.assertIn(EXIT_CODES, result.stdout)
                    self.assertTrue(result.stdout.endswith("\n"))

    def test_top_level_help_lists_commands_and_exit_codes(self):
        result = self.agentdl("--help")
        self.assertEqual(result.returncode, 0, msg=repr(result))
        for command in ("resolve", "download", "list", "check", "token", "mirror"):
            self.assertRegex(result.stdout, rf"\n  {command} +\S")

    def test_resolve_help_lists_every_option(self):
        result = self.agentdl("resolve", "--help")
        self.assertEqual(result.returncode, 0, msg=repr(result))
        for option in ("--config FILE", "--server URL", "--token-file FILE", "--channel C",
                       "--version V", "--platform P", "--arch A", "--json", "--explain",
                       "--connect-timeout SECONDS", "--retries N"):
            self.assertIn(f"  {option}", result.stdout)

    def test_download_help_lists_every_option(self):
        result = self.agentdl("download", "--help")
        self.assertEqual(result.returncode, 0, msg=repr(result))
        for option in ("--config FILE", "--server URL", "--token-file FILE", "--channel C",
                       "--version V", "--platform P", "--arch A", "-o,--output FILE",
                       "-d,--directory DIR", "--force", "-q,--quiet", "--connect-timeout SECONDS",
                       "--retries N", "--speed-limit BYTES", "--speed-time SECONDS",
                       "--max-redirects N"):
            self.assertIn(f"  {option}", result.stdout)
        self.assertIn("  130 interrupted (Ctrl-C)", result.stdout)

    def test_source_options_help_tells_the_order(self):
        # --server, --config, $AGENTDL_SERVER, $AGENTDL_CONFIG, then the files:
        # a flag beats any environment variable.
        files = ("$AGENTDL_CONFIG, ./agentdl.toml, $XDG_CONFIG_HOME/agentdl/agentdl.toml "
                 "(or ~/.config/agentdl/agentdl.toml), /etc/agentdl/agentdl.toml)")
        for command in (["resolve"], ["download"], ["list"], ["mirror", "sync"]):
            with self.subTest(command=command):
                result = self.agentdl(*command, "--help")
                self.assertEqual(result.returncode, 0, msg=repr(result))
                lines = [line.strip() for line in result.stdout.splitlines()]
                self.assertIn("Read the catalog FILE, even if $AGENTDL_SERVER is set (default: "
                              "ask $AGENTDL_SERVER if set, else read the first of " + files,
                              lines)
                self.assertIn("Ask the agentdl server at URL, the API base (e.g. "
                              "https://api.example.com/v2), instead of a catalog (default: "
                              "$AGENTDL_SERVER, unless --config is given)", lines)
        # check reads a catalog only.
        result = self.agentdl("check", "--help")
        self.assertIn("  --config FILE               Catalog file (default: the first of " + files
                      + "\n", result.stdout)
        self.assertNotIn("AGENTDL_SERVER", result.stdout)

    def test_mirror_sync_help_lists_every_option(self):
        result = self.agentdl("mirror", "sync", "--help")
        self.assertEqual(result.returncode, 0, msg=repr(result))
        for option in ("--config FILE", "--server URL", "--token-file FILE",
                       "--connect-timeout SECONDS", "--retries N", "--dest DIR REQUIRED",
                       "--channel C", "--platform P", "--arch A", "--since V", "--jobs N",
                       "--prune", "-q,--quiet"):
            self.assertIn(f"  {option}", result.stdout)
        self.assertIn("  130 interrupted (Ctrl-C)", result.stdout)
        result = self.agentdl("mirror", "--help")
        self.assertRegex(result.stdout, r"\n  sync +Copy the upstream's installers into "
                                        r"DIR/VERSION/PLATFORM/ARCH/, verified, and write")

    def test_token_help_lists_subcommands(self):
        result = self.agentdl("token", "--help")
        self.assertEqual(result.returncode, 0, msg=repr(result))
        self.assertRegex(result.stdout, r"\n  new +Print a new random token and its sha256\n")
        self.assertRegex(result.stdout,
                         r"\n  hash +Read a token from standard input and print its sha256\n")


class Dispatch(CliTestCase):

    def test_unknown_command(self):
        self.assertResult(self.agentdl("frob"), 2, "",
                          'agentdl: error: unknown command "frob" '
                          "(commands: resolve, download, list, check, token, mirror)\n"
                          "Run 'agentdl --help' or 'agentdl COMMAND --help' for usage.\n")
        self.assertResult(self.agentdl("Resolve", "--platform", "windows"), 2, "",
                          'agentdl: error: unknown command "Resolve" '
                          "(commands: resolve, download, list, check, token, mirror)\n"
                          "Run 'agentdl --help' or 'agentdl COMMAND --help' for usage.\n")

    def test_unknown_token_subcommand_is_named(self):
        result = self.agentdl("token", "frob")
        self.assertEqual((result.returncode, result.stdout), (2, ""), msg=repr(result))
        self.assertIn('"frob"', result.stderr)

    def test_mirror_needs_its_subcommand(self):
        self.assertUsageError(self.agentdl("mirror"),
                              "no command given to agentdl mirror (commands: sync)")
        self.assertUsageError(self.agentdl("mirror", "frob"),
                              'unknown command "frob" (commands: sync)')

    def test_unknown_token_subcommand(self):
        result = self.agentdl("token", "frob")
        self.assertEqual((result.returncode, result.stdout), (2, ""), msg=repr(result))
        self.assertTrue(result.stderr.startswith("agentdl: error: "), msg=repr(result))

    def test_no_command(self):
        self.assertUsageError(self.agentdl(),
                              "no command given to agentdl (commands: resolve, download, list, "
                              "check, token, mirror)")

    def test_unknown_flag(self):
        for args in (["--bogus"], ["token", "--bogus"], ["token", "new", "--bogus"]):
            with self.subTest(args=args):
                result = self.agentdl(*args)
                self.assertEqual((result.returncode, result.stdout), (2, ""), msg=repr(result))
                self.assertTrue(result.stderr.startswith("agentdl: error: "), msg=repr(result))
                self.assertTrue(result.stderr.endswith(
                    "\nRun 'agentdl --help' or 'agentdl COMMAND --help' for usage.\n"),
                    msg=repr(result))

    def test_unknown_top_level_flag_is_named(self):
        self.assertUsageError(self.agentdl("--bogus"),
                              'unknown option "--bogus": options follow the command')


if __name__ == "__main__":
    runner.main()
