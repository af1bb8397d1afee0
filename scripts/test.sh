#!/usr/bin/env bash
# Quick start, part 2: install what is missing, check the formatting, build
# everything (warnings as errors, AddressSanitizer and UBSan) and run the
# whole test suite; before that, run the black-box tests once more against
# the Release build as users get it (static libstdc++, `cmake --install`),
# and the daemon's under ThreadSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
bash scripts/npm_tools.sh

# The Release build, installed into a folder of its own, under the black-box tests.
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DAGENTDL_WERROR=ON \
  -DAGENTDL_TEST_INSTALLED="$PWD/build-release/installed" >/dev/null
cmake --build build-release -j2 --target agentdl agentdl-serve
rm -rf build-release/installed
cmake --install build-release --prefix "$PWD/build-release/installed" >/dev/null
(cd build-release && ctest --no-tests=error --no-label-summary -L blackbox -j2 --output-on-failure)

# The daemon's black-box suites again under ThreadSanitizer.
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAGENTDL_WERROR=ON \
  -DAGENTDL_SANITIZE=thread >/dev/null
cmake --build build-tsan -j2 --target agentdl agentdl-serve
(cd build-tsan && ctest --no-tests=error --no-label-summary -L daemon -j2 --output-on-failure)

cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DAGENTDL_WERROR=ON \
  -DAGENTDL_SANITIZE=address,undefined -DAGENTDL_BUILD_BENCH=ON >/dev/null
cmake --build build-test --target check-format
cmake --build build-test -j2
cd build-test
ctest --no-tests=error --no-label-summary --output-on-failure -j2
