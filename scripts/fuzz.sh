#!/usr/bin/env bash
# Fuzzes one target of tests/fuzz/ with libFuzzer for SECONDS (default 600):
#
#   bash scripts/fuzz.sh TARGET [SECONDS]
#   TARGET: catalog, conditional, handler, request_target, signed_link, version
#
# Builds build-fuzz/ with Debian's clang-16 (installed when missing), with
# AddressSanitizer and UBSan. Clang 14, Debian's default, cannot compile
# libstdc++ 12's std::expected and std::variant as C++23 uses them (it lacks
# P0848); clang 16 can, but still reports __cpp_concepts as 201907, which
# hides <expected>: the flag below says 202002, which it implements.
#
# The corpus grows in build-fuzz/corpus/TARGET (seeded from tests/fuzz/TARGET);
# an input that breaks a property or crashes is written to
# build-fuzz/crashes/TARGET/ and the script exits non-zero. Fix the bug, copy
# the input into tests/fuzz/TARGET/ (CTest's fuzz.TARGET replays that folder)
# and run again.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:-}
seconds=${2:-600}
targets="catalog conditional handler request_target signed_link version"
if [ -z "$target" ] || [[ " $targets " != *" $target "* ]]; then
  echo "usage: scripts/fuzz.sh TARGET [SECONDS]; TARGET is one of: $targets" >&2
  exit 2
fi
case $seconds in ''|*[!0-9]*|0) echo "fuzz: SECONDS must be a positive integer" >&2; exit 2 ;; esac

bash scripts/deps.sh
if ! command -v clang++-16 >/dev/null || ! ls /usr/lib/llvm-16/lib/clang/16/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "fuzz: installing clang-16 libclang-rt-16-dev" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends clang-16 libclang-rt-16-dev >/dev/null
fi

# Several targets may be fuzzed at once (one per core): they build in turn.
mkdir -p build-fuzz
(
  flock 9
  CC=clang-16 CXX=clang++-16 cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DAGENTDL_FUZZ=ON -DAGENTDL_SANITIZE=address,undefined,fuzzer-no-link \
    -DCMAKE_CXX_FLAGS="-Wno-macro-redefined -D__cpp_concepts=202002L" >/dev/null
  cmake --build build-fuzz -j2 --target "fuzz_$target"
) 9>build-fuzz/.build-lock

corpus=build-fuzz/corpus/$target
crashes=build-fuzz/crashes/$target
mkdir -p "$corpus" "$crashes"
echo "fuzz: $target for ${seconds}s; corpus $corpus, crashes $crashes/" >&2
exec "build-fuzz/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 -dict="tests/fuzz/$target.dict" \
  -artifact_prefix="$crashes/" "$corpus" "tests/fuzz/$target"
