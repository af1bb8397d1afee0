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
