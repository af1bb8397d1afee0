#!/usr/bin/env bash
# Quick start, part 1: install what is missing, build, and resolve the public
# API document's example requests from the demo catalog agentdl.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DAGENTDL_BUILD_TESTS=OFF >/dev/null
cmake --build build -j2 >/dev/null

agentdl=build/apps/agentdl-cli/agentdl
run() {
  echo "\$ agentdl $*"
  "$agentdl" "$@"
  echo
}
run check --config agentdl.toml
# The API document's examples: latest stable, then version 1.8.3.
run resolve --config agentdl.toml --channel stable --platform windows
run resolve --config agentdl.toml --channel stable --platform macos --arch arm64
run resolve --config agentdl.toml --version 1.8.3 --platform windows
run resolve --config agentdl.toml --version 1.8.3 --platform macos --arch x86_64
# The latest channel includes stable and has a newer prerelease.
run resolve --config agentdl.toml --channel latest --platform macos --arch arm64 --json --explain
run list --config agentdl.toml
