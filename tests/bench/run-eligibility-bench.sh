#!/usr/bin/env bash
# Builds libeligibility's benchmark in Release and runs it: the candidate search cold and after a
# 1 % change, and the explanation of the unplaced, on the data bench_rematch loads into the
# daemon. Arguments go to bench-eligibility: sizes (antwerp flanders germany), --repeat N.
# Environment: BENCH_BUILD_DIR (default <repo>/build-bench), BENCH_NO_BUILD=1.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=${BENCH_BUILD_DIR:-$repo/build-bench}
if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
  cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DLEERPLEK_BENCHMARKS=ON -DLEERPLEK_TESTS=OFF >/dev/null
  cmake --build "$build_dir" -j 2 --target bench-eligibility >/dev/null
fi
exec "$build_dir/bin/bench-eligibility" "$@"
