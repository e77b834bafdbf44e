#!/usr/bin/env bash
# Installs every Debian package leerplek needs to build, test, benchmark and run, and the
# nl_BE.UTF-8 locale the Dutch interface is chosen by (LANG=nl_BE.UTF-8).
# Idempotent: packages already present are skipped, so the README's commands can call it
# every time. Runs apt-get directly as root, through sudo otherwise.
#
# LEERPLEK_INSTALL_LOG=FILE sends apt-get's and locale-gen's output to FILE and shows one line
# per step instead (the main job does this: hundreds of apt lines would bury its first screen).
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
  jq                                         # the main job reads the tool's --json output
  python3                                    # tests/deploy/check_conf.py (leerplekd.conf vs the options table)
  chromium                                   # the dashboard test renders /dashboard headless
  libssl-dev libinih-dev libjansson-dev libcsv-dev   # TLS and token hashing, config, JSON, CSV
  clang libclang-rt-14-dev                   # tests/fuzz: libFuzzer (the build itself stays gcc)
  gettext                                    # msgfmt compiles the translations (clients/cli/po/, daemon/po/)
  locales                                    # nl_BE.UTF-8 for the Dutch interface
)

log=${LEERPLEK_INSTALL_LOG:-}
# quiet <command...>: runs it with its output in the log when one is set.
quiet() {
  if [ -n "$log" ]; then
    "$@" >>"$log" 2>&1 || { echo "install-deps: failed: $* (last lines of $log:)" >&2; tail -n 15 "$log" >&2; return 1; }
  else
    "$@"
  fi
}

as_root=()
if [ "$(id -u)" -ne 0 ]; then as_root=(sudo); fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  echo "install-deps: apt-get update${log:+ (output in $log)}"
  quiet "${as_root[@]}" apt-get update -qq
  echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
  quiet env DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# glibc names the generated locale nl_BE.utf8.
if locale -a 2>/dev/null | grep -qix 'nl_BE.utf-\{0,1\}8'; then
  echo "install-deps: locale nl_BE.UTF-8 present"
else
  echo "install-deps: generating the locale nl_BE.UTF-8"
  quiet "${as_root[@]}" sed -i 's/^# *\(nl_BE.UTF-8 UTF-8\)/\1/' /etc/locale.gen
  grep -q '^nl_BE.UTF-8 UTF-8' /etc/locale.gen || echo 'nl_BE.UTF-8 UTF-8' | quiet "${as_root[@]}" tee -a /etc/locale.gen
  quiet "${as_root[@]}" locale-gen
fi
