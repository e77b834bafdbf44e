#!/usr/bin/env bash
# Builds libmatcher's benchmark in Release (into build-bench) and runs it. Arguments go to
# bench-matcher: sizes (antwerp flanders germany), --quick, --first-eligible, --seed N, --share F.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR="${BENCH_BUILD_DIR:-build-bench}"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DLEERPLEK_BENCHMARKS=ON -DLEERPLEK_TESTS=OFF >/dev/null
cmake --build "$BUILD_DIR" -j 2 --target bench-matcher
exec "$BUILD_DIR"/bin/bench-matcher "$@"
