#!/usr/bin/env bash
# Installs every Debian package leerplek needs to build, test, benchmark and run.
# Idempotent: packages already present are skipped, so the README's commands can call it
# every time. Runs apt-get directly as root, through sudo otherwise.
set -euo pipefail

packages=(
  build-essential cmake pkg-config           # the C11 build
  g++                                        # the LEMON reference helper (tests, benchmarks)
  libcriterion-dev                           # unit and integration tests
  liblemon-dev                               # reference min-cost-flow solver (tests, benchmarks only)
  valgrind                                   # leak checks
  libevent-dev libhiredis-dev                # daemon: event loop, Redis client
  libevent-openssl-2.1-7 openssl             # TLS on the API port; the TLS tests make certificates
  libprotobuf-c-dev protobuf-c-compiler      # API encoding, code generated in the build
  redis-server                               # the store (tests start a private one; also Sentinel: redis-server --sentinel)
  curl                                       # the main job waits on /healthz
  chromium                                   # the dashboard test renders /dashboard headless
  libssl-dev libinih-dev libjansson-dev libcsv-dev   # TLS and token hashing, config, JSON, CSV
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then as_root=(sudo); fi
echo "install-deps: installing ${missing[*]}"
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
