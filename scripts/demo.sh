#!/usr/bin/env bash
# Quick start, part 1: install what is missing, build, start agentdl-serve on
# the demo catalog agentdl.toml and send it the public API document's example
# requests; then keep serving until Ctrl-C.
#
# The bearer token below is the demo catalog's DEMO token. Its sha256 is in
# agentdl.toml. Never deploy it: make your own with `agentdl token new`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DAGENTDL_BUILD_TESTS=OFF >/dev/null
cmake --build build -j2 >/dev/null

agentdl=build/apps/agentdl-cli/agentdl
serve=build/apps/agentdl-serve/agentdl-serve
token=demo-token-do-not-use-in-production
base=http://127.0.0.1:8080/v2

"$serve" --config agentdl.toml >build/demo-access.log 2>build/demo-serve.log &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  grep -q "listening on" build/demo-serve.log 2>/dev/null && break
  kill -0 $server 2>/dev/null || { cat build/demo-serve.log >&2; exit 1; }
  sleep 0.1
done
cat build/demo-serve.log

show() {
  printf '$'
  printf ' %q' "$@"
  echo
  "$@"
  echo
}
# The API document's four example requests.
show curl -sI "$base/agent-releases/latest/download?channel=stable&platform=windows" -H "Authorization: Bearer $token"
show curl -sI "$base/agent-releases/latest/download?channel=stable&platform=macos&arch=arm64" -H "Authorization: Bearer $token"
show curl -sI "$base/agent-releases/1.8.3/download?platform=windows" -H "Authorization: Bearer $token"
show curl -sI "$base/agent-releases/1.8.3/download?platform=macos&arch=x86_64" -H "Authorization: Bearer $token"
# Errors: no such release (404), an arch the platform lacks (400), no token (401).
show curl -s "$base/agent-releases/2.0.0/download?platform=macos&arch=x86_64" -H "Authorization: Bearer $token"
show curl -s "$base/agent-releases/latest/download?platform=windows&arch=arm64" -H "Authorization: Bearer $token"
show curl -s "$base/agent-releases/latest/download?platform=windows"
# The same resolution from the command line, for shell scripts.
show "$agentdl" resolve --config agentdl.toml --channel stable --platform macos --arch arm64
show "$agentdl" resolve --config agentdl.toml --channel latest --platform macos --arch arm64 --json
# And from this server (remote mode), with the token from the environment.
show env AGENTDL_TOKEN="$token" "$agentdl" resolve --server "$base" --platform macos --arch arm64

echo "agentdl-serve is serving $base (access log: build/demo-access.log). Ctrl-C stops it."
wait $server
