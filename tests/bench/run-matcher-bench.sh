#!/usr/bin/env bash
# Builds libmatcher's benchmark in Release (into build-bench) and runs it. Arguments go to
# bench-matcher: sizes (antwerp flanders germany), --quick, --first-eligible, --seed N, --share F.
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DLEERPLEK_BENCHMARKS=ON -DLEERPLEK_TESTS=OFF >/dev/null
cmake --build build-bench -j "$(nproc)" --target bench-matcher
exec build-bench/bin/bench-matcher "$@"
