"""Shared helpers for the black-box tests of the `agentdl` binary.

Each test script imports this module (from its own directory), runs the real
binary with `CliTestCase.agentdl(...)`, and compares exit code, stdout and
stderr exactly with `assertResult`.

Every run is isolated from the machine it runs on: the working directory is an
empty temporary folder, HOME points at another one, and the variables that
choose a catalog or a server (AGENTDL_CONFIG, AGENTDL_SERVER, AGENTDL_TOKEN,
XDG_CONFIG_HOME) are removed unless a test sets them.
"""

import os
import pty
import re
import subprocess
import sys
import tempfile
import termios
import textwrap
import threading
import tty
import unittest

try:
    AGENTDL = os.environ["AGENTDL"]
    SOURCE_DIR = os.environ["AGENTDL_SOURCE_DIR"]
except KeyError as missing:
    sys.exit(f"environment variable {missing} is not set (run these tests through ctest)")

DEMO = os.path.join(SOURCE_DIR, "agentdl.toml")

# The variables that steer which catalog (or server) agentdl uses.
_STEERING_VARS = ("AGENTDL_CONFIG", "AGENTDL_SERVER", "AGENTDL_TOKEN", "XDG_CONFIG_HOME")


def project_version():
    """Returns the VERSION of project(agentdl ...) in the top-level CMakeLists.txt."""
    with open(os.path.join(SOURCE_DIR, "CMakeLists.txt"), encoding="utf-8") as f:
        match = re.search(r"project\(\s*agentdl\s+VERSION\s+([0-9.]+)", f.read())
    if not match:
        raise RuntimeError("no project(agentdl VERSION ...) in CMakeLists.txt")
    return match.group(1)


class Result:
    def __init__(self, args, returncode, stdout, stderr):
        self.args = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    def __repr__(self):
        return (f"agentdl {' '.join(self.args)}\n"
                f"  exit:   {self.returncode}\n"
                f"  stdout: {self.stdout!r}\n"
                f"  stderr: {self.stderr!r}")


class CliTestCase(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="agentdl-bb-")
        self.addCleanup(self._tmp.cleanup)
        self.tmp = self._tmp.name
        self.work = self.mkdir("work")  # the default working directory
        self.home = self.mkdir("home")  # the default HOME

    def mkdir(self, relative):
        path = os.path.join(self.tmp, relative)
        os.makedirs(path, exist_ok=True)
        return path

    def write(self, relative, text, dedent=True):
        """Writes `text` to a file under the test's temporary folder; returns its path."""
        path = os.path.join(self.tmp, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(textwrap.dedent(text).lstrip("\n") if dedent else text)
        return path

    def child_env(self, env=None):
        """Returns the isolated environment agentdl runs in, with `env` over it:
        a name mapped to None is removed."""
        child = {k: v for k, v in os.environ.items() if k not in _STEERING_VARS}
        child["HOME"] = self.home
        for key, value in (env or {}).items():
            if value is None:
                child.pop(key, None)
            else:
                child[key] = value
        return child

    def agentdl(self, *args, cwd=None, env=None, input=None, stdout=None, preexec_fn=None):
        """Runs agentdl with `args`.

        `env` maps variable names to values, or to None to remove them, over
        the isolated environment. `input` is the text on stdin (stdin is empty
        when None). `stdout` may be an open file to write stdout to.
        `preexec_fn` runs in the child before agentdl starts (to set a limit).
        """
        proc = subprocess.run(
            [AGENTDL, *args],
            cwd=cwd or self.work,
            env=self.child_env(env),
            input=(input if input is not None else "").encode("utf-8"),
            stdout=stdout if stdout is not None else subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=60,
            preexec_fn=preexec_fn,
        )
        out = proc.stdout.decode("utf-8") if proc.stdout is not None else ""
        return Result(list(args), proc.returncode, out, proc.stderr.decode("utf-8"))

    def run_pty(self, *args, timeout=60):
        """Runs agentdl with stderr on a pseudo-terminal (raw: no "\\n" -> "\\r\\n").

        Returns (exit code, stdout text, bytes that reached the terminal)."""
        master, slave = pty.openpty()
        tty.setraw(slave)
        try:
            import fcntl
            import struct
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
        except OSError:
            pass
        chunks = []

        def pump():
            while True:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                chunks.append(chunk)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            proc = subprocess.Popen([AGENTDL, *args], cwd=self.work, env=self.child_env(),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=slave)
        finally:
            os.close(slave)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
        reader.join(timeout=5)
        os.close(master)
        return proc.returncode, out.decode("utf-8"), b"".join(chunks)

    def assertResult(self, result, code, stdout="", stderr=""):
        """Checks the exit code, the whole stdout and the whole stderr."""
        self.assertEqual(
            (result.returncode, result.stdout, result.stderr),
            (code, stdout, stderr),
            msg=f"\n{result!r}",
        )

    def assertError(self, result, code, message):
        """Checks a failure: exit `code`, nothing on stdout, the one diagnostic on stderr."""
        self.assertResult(result, code, "", f"agentdl: error: {message}\n")

    def assertUsageError(self, result, message):
        """Checks a command-line parse error (exit 2 with the usage hint)."""
        self.assertResult(
            result, 2, "",
            f"agentdl: error: {message}\n"
            "Run 'agentdl --help' or 'agentdl COMMAND --help' for usage.\n")

