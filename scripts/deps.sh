#!/usr/bin/env bash
# Installs the Debian 12 packages agentdl needs to build, test and benchmark,
# only those that are missing. Run as root (or with sudo available).
set -euo pipefail

packages=(
  cmake g++ make python3 curl nginx wrk wget
  libcli11-dev libboost1.81-dev libboost-url1.81-dev libboost-json1.81-dev
  libfmt-dev libtomlplusplus-dev doctest-dev libssl-dev libcurl4-openssl-dev
  libbenchmark-dev hyperfine clang-format
  nghttp2-client  # h2load: bench/rate_bench.sh's fixed-rate load
  iproute2  # nstat: bench/segments.sh counts TCP segments with it
  python3-matplotlib  # bench/plot_serve.py draws serve_bench.sh's plot with it (/usr/bin/python3)
  python3-botocore  # the reference the s3 signing tests compare with (/usr/bin/python3)
  strace  # test_serve_files makes openat2 fail with it, to test the mirror's fallback path
  haproxy  # test_serve_replicas: deploy/haproxy-agentdl.cfg in front of three agentdl-serve
  chromium chromium-driver python3-selenium  # test_page_browser: the downloads page in a real browser
)
# node and npm install and run s3rver (scripts/npm_tools.sh), the S3 server of the signing
# tests; a node installed some other way is kept (s3rver needs node >= 20,
# Debian 12 has 18: with it those tests are skipped and say so).
if ! command -v node >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "deps: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
