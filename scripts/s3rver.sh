#!/usr/bin/env bash
# Installs s3rver, the S3-compatible server the black-box tests check signed
# S3 Locations against, into build-deps/s3rver (ignored by git): the exact
# versions of tests/blackbox/npm/package-lock.json, with npm. Does nothing
# when that lock file is installed there already. Without it, the tests that
# need s3rver are skipped (and say so).
set -euo pipefail
cd "$(dirname "$0")/.."

src=tests/blackbox/npm
dest=build-deps/s3rver
stamp="$dest/installed-package-lock.json"

if [ -f "$stamp" ] && cmp -s "$src/package-lock.json" "$stamp"; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "s3rver: npm is missing (scripts/deps.sh installs it)" >&2
  exit 1
fi
echo "s3rver: installing @20minutes/s3rver into $dest" >&2
rm -rf "$dest"
mkdir -p "$dest"
cp "$src/package.json" "$src/package-lock.json" "$dest/"
npm ci --prefix "$dest" --no-audit --no-fund --loglevel=error >/dev/null
cp "$src/package-lock.json" "$stamp"
