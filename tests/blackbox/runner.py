"""Runs a black-box test script's tests and tells CTest how it went.

Exit 0 when every test passed, 1 when one failed, and SKIP_RETURN_CODE (77,
set in tests/blackbox/CMakeLists.txt) when all that ran passed but some were
skipped (not root, no /dev/full, no IPv6 loopback, ...): CTest then reports the
script as skipped instead of passing it silently. The skipped tests and why are
printed at the end.
"""

import sys
import unittest

SKIP_RETURN_CODE = 77


def main():
    program = unittest.main(exit=False)
    result = program.result
    if not result.wasSuccessful():
        sys.exit(1)
    if result.skipped:
        print(f"\n{len(result.skipped)} of {result.testsRun} tests skipped:", file=sys.stderr)
        for test, reason in result.skipped:
            print(f"  {test.id()}: {reason}", file=sys.stderr)
        sys.exit(SKIP_RETURN_CODE)
    sys.exit(0)


def run_again_with_debian_python(marker):
    """Runs this script again with Debian's /usr/bin/python3, for a module only
    a Debian package provides (python3-selenium, python3-botocore) when CMake
    found a python of another origin (pyenv, a virtualenv). `marker` names the
    environment variable that stops a second run; returns when there is no
    Debian python to run, or it ran already."""
    import os
    if os.path.exists("/usr/bin/python3") and marker not in os.environ:
        os.environ[marker] = "1"
        os.execv("/usr/bin/python3", ["/usr/bin/python3", "-B", *sys.argv])
