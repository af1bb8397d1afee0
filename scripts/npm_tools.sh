#!/usr/bin/env bash
# Installs the test tools Debian does not package, from npm, each at the exact
# versions of its lock file tests/blackbox/npm/NAME/package-lock.json, into
# build-deps/NAME (ignored by git):
#   s3rver    the S3-compatible server the signing tests check signed S3
#             Locations against;
#   axe-core  the accessibility rules test_page_browser runs on the
#             downloads page in Chromium.
# A tool whose lock file is installed there already is left as it is. Without
# them, the tests that need them are skipped (and say so).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null; then
  echo "npm_tools: npm is missing (scripts/deps.sh installs it)" >&2
  exit 1
fi
for src in tests/blackbox/npm/*/; do
  name=$(basename "$src")
  dest=build-deps/$name
  stamp="$dest/installed-package-lock.json"
  if [ -f "$stamp" ] && cmp -s "$src/package-lock.json" "$stamp"; then
    continue
  fi
  echo "npm_tools: installing $name into $dest" >&2
  rm -rf "$dest"
  mkdir -p "$dest"
  cp "$src/package.json" "$src/package-lock.json" "$dest/"
  npm ci --prefix "$dest" --no-audit --no-fund --loglevel=error >/dev/null
  cp "$src/package-lock.json" "$stamp"
done
