#!/usr/bin/env bash
# run-rematch-bench.sh: the rematch benchmark of issue 4. Builds leerplekd and bench_rematch in
# Release into build-rbench, then, for each size, starts a private redis-server and leerplekd
# (tests/daemon/harness.c), loads generated pupils and vacancies through the API and runs three
# rematches (cold, warm, warm after a 1 % change) while other connections read and write.
# Prints the daemon's memory per vacancy and per pupil, each rematch's phases (snapshot,
# candidates, solve, epoch write with its bytes) and end-to-end time, the daemon's peak RSS
# (VmHWM) per rematch, the 1 % rematch against the cold one of the same run, and the worst API
# call during the rematches, each against its target.
#
# Not a timed test: run it by hand on an otherwise idle machine.
#   tests/bench/run-rematch-bench.sh [antwerp] [flanders] [germany]     (default: antwerp flanders)
# Environment: BENCH_BUILD_DIR (default <repo>/build-rbench), BENCH_NO_BUILD=1.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=${BENCH_BUILD_DIR:-$repo/build-rbench}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(antwerp flanders)

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
  cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DLEERPLEK_TESTS=ON >/dev/null
  cmake --build "$build_dir" -j "$(nproc)" --target leerplekd bench_rematch >/dev/null
fi

for size in "${sizes[@]}"; do
  case $size in
    antwerp)  args=(307 1220 50) ;;        # Antwerp (SamDuLeA, February 2022): 307 pupils, 1,220 companies; target 50 ms
    flanders) args=(20000 30000 400) ;;    # target 400 ms end to end
    germany)  args=(200000 250000 5000 2048) ;;  # targets 5 s end to end, 2 GiB peak (loading takes a while)
    *) echo "run-rematch-bench: unknown size '$size' (antwerp, flanders, germany)" >&2; exit 2 ;;
  esac
  echo "== $size: ${args[0]} pupils, ${args[1]} vacancies"
  "$build_dir/bin/bench_rematch" "${args[@]}"
done
