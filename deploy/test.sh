#!/usr/bin/env bash
# The README's test command: installs what is missing, then builds and runs the whole suite
# twice, once optimised and once under AddressSanitizer + UndefinedBehaviourSanitizer
# (LeakSanitizer included), each with ctest. Exit status 0 only if both pass.
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/install-deps.sh

jobs=$(nproc)
run_suite() {
  local dir=$1; shift
  echo "== configure $dir $*"
  cmake -S . -B "$dir" -DLEERPLEK_TESTS=ON "$@" >/dev/null
  echo "== build $dir"
  cmake --build "$dir" -j "$jobs"
  echo "== test $dir"
  ctest --test-dir "$dir" --output-on-failure --no-tests=error -j "$jobs"
}

run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLEERPLEK_SANITIZE=OFF
run_suite build-sanitize -DCMAKE_BUILD_TYPE=Debug -DLEERPLEK_SANITIZE=ON
echo "== all tests passed (optimised and sanitised builds)"
