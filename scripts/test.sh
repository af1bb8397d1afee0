#!/usr/bin/env bash
# Quick start, part 2: install what is missing, build everything (warnings as
# errors, AddressSanitizer and UBSan), and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DAGENTDL_WERROR=ON \
  -DAGENTDL_SANITIZE=address,undefined -DAGENTDL_BUILD_BENCH=ON >/dev/null
cmake --build build-test -j2
cd build-test
ctest --output-on-failure -j2
