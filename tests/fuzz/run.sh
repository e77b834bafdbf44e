#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (their own build folder, ASan+UBSan) and runs each on a
# copy of its committed seed corpus for a bounded time. ctest calls it twice: --build-only once,
# then per target with a few seconds; run-long.sh calls it with minutes. Exit status 0 only when
# no target crashed; a crashing input is kept as <build>/artifacts/<target>/crash-*.
#
#   run.sh [--build-dir DIR] [--build-only | --no-build] [--seconds N] [--workers N] [--seed N] [TARGET...]
#
# TARGET: instance, csv, config, dispatch (default: all). --workers N runs N processes per
# target (libFuzzer -fork), each adding what it finds to the same work corpus. --seed N fixes
# libFuzzer's random seed: ctest's short runs use one, so that the suite explores the same inputs
# on every machine (a failure there is reproducible); without it (run-long.sh) every run explores anew.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
build_dir="$source_dir/build-fuzz"
seconds=5
workers=1
seed=
build=1
run=1
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --build-only) run=0; shift ;;
    --no-build) build=0; shift ;;
    instance|csv|config|dispatch) targets+=("$1"); shift ;;
    *) echo "run.sh: unknown argument '$1' (see the comment at the top)" >&2; exit 2 ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(instance csv config dispatch)

if ! command -v clang >/dev/null; then
  echo "run.sh: clang is not installed (deploy/install-deps.sh installs it)" >&2
  exit 2
fi
if [ $build = 1 ]; then
  CC=clang CXX=clang++ cmake -S "$source_dir" -B "$build_dir" -DLEERPLEK_TESTS=OFF -DLEERPLEK_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build_dir" -j 2 --target fuzz_instance fuzz_csv fuzz_config fuzz_dispatch
fi
[ $run = 1 ] || exit 0

status=0
for target in "${targets[@]}"; do
  work="$build_dir/corpus/$target"
  artifacts="$build_dir/artifacts/$target"
  mkdir -p "$work" "$artifacts"
  options=(-max_total_time="$seconds" -max_len=16384 -rss_limit_mb=2048 -timeout=20
           -artifact_prefix="$artifacts/" -print_final_stats=1)
  [ "$workers" -gt 1 ] && options+=(-fork="$workers" -ignore_crashes=0)
  [ -n "$seed" ] && options+=(-seed="$seed")
  echo "== fuzz_$target for ${seconds}s x $workers (corpus $work)"
  start=$(date +%s)
  if ! "$build_dir/bin/fuzz_$target" "${options[@]}" "$work" "$here/corpus/$target" \
       > "$build_dir/fuzz_$target.log" 2>&1; then
    echo "fuzz_$target FAILED: see $build_dir/fuzz_$target.log and $artifacts/" >&2
    tail -n 40 "$build_dir/fuzz_$target.log" >&2
    status=1
  fi
  grep -E "^stat::number_of_executed_units|^#[0-9]+ +DONE" "$build_dir/fuzz_$target.log" | tail -n 2 || true
  echo "fuzz_$target: $(( $(date +%s) - start ))s wall"
done
exit $status
