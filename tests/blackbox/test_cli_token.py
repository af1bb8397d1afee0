"""Black-box tests of `agentdl token new` and `agentdl token hash` (CONTRACT section 7)."""

import base64
import hashlib
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner  # noqa: E402
from cli import CliTestCase  # noqa: E402

NEW_OUTPUT = re.compile(r"token:  ([A-Za-z0-9_-]{43})\nsha256: ([0-9a-f]{64})\n")

NO_TOKEN = "no token on standard input (try: agentdl token hash < token.txt)"
WHITE_SPACE = ("the token on standard input holds white space or control characters; "
               "give one token on one line")


class TokenNew(CliTestCase):

    def new_token(self):
        result = self.agentdl("token", "new")
        self.assertEqual((result.returncode, result.stderr), (0, ""), msg=repr(result))
        match = NEW_OUTPUT.fullmatch(result.stdout)
        self.assertIsNotNone(match, msg=repr(result))
        return match.group(1), match.group(2)

    def test_format_and_digest(self):
        token, digest = self.new_token()
        self.assertEqual(digest, hashlib.sha256(token.encode("ascii")).hexdigest())
        # 43 characters of unpadded URL-safe base64: 32 random bytes.
        self.assertEqual(len(base64.urlsafe_b64decode(token + "=")), 32)

    def test_runs_differ(self):
        tokens = {self.new_token()[0] for _ in range(3)}
        self.assertEqual(len(tokens), 3)

    def test_hash_agrees_with_new(self):
        token, digest = self.new_token()
        self.assertResult(self.agentdl("token", "hash", input=token + "\n"), 0, digest + "\n")

    def test_usage_errors(self):
        self.assertUsageError(self.agentdl("token", "new", "extra"),
                              "The following argument was not expected: extra")
        self.assertUsageError(self.agentdl("token"),
                              "no command given to agentdl token (commands: new, hash)")


class TokenHash(CliTestCase):

    def test_known_digests(self):
        abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        demo = "94d5550935517edc9fa5d056a94ea014853309056192232222d392a678671cbb"
        cases = [
            ("abc\n", abc),
            ("abc", abc),
            ("abc\r\n", abc),
            ("abc\n\n", abc),
            # The demo catalog's token (its sha256 is in agentdl.toml).
            ("demo-token-do-not-use-in-production\n", demo),
        ]
        for stdin, digest in cases:
            with self.subTest(stdin=stdin):
                self.assertResult(self.agentdl("token", "hash", input=stdin), 0, digest + "\n")

    def test_digest_matches_hashlib(self):
        token = "Zm9v_YmFy-" * 4 + "xyz"
        self.assertResult(self.agentdl("token", "hash", input=token + "\n"), 0,
                          hashlib.sha256(token.encode()).hexdigest() + "\n")

    def test_empty_input(self):
        for stdin in ("", "\n", "\r\n\n"):
            with self.subTest(stdin=stdin):
                self.assertError(self.agentdl("token", "hash", input=stdin), 2, NO_TOKEN)

    def test_white_space_or_control_characters(self):
        for stdin in ("a b\n", " abc\n", "abc \n", "a\tb\n", "abc\ndef\n", "a\x01b"):
            with self.subTest(stdin=stdin):
                self.assertError(self.agentdl("token", "hash", input=stdin), 2, WHITE_SPACE)

    def test_usage_errors(self):
        self.assertUsageError(self.agentdl("token", "hash", "abc"),
                              "The following argument was not expected: abc")


if __name__ == "__main__":
    runner.main()
