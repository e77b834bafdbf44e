#!/usr/bin/env bash
# Runs every fuzz target long (default 30 minutes each; FUZZ_MINUTES=N to change, FUZZ_WORKERS=N
# processes per target), one target after the other, keeping what they find in
# build-fuzz/corpus/. Crashes are left in build-fuzz/artifacts/<target>/; to keep a new seed,
# copy a small input from the work corpus into tests/fuzz/corpus/<target>/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
minutes=${FUZZ_MINUTES:-30}
workers=${FUZZ_WORKERS:-1}
bash "$here/run.sh" --build-only "$@"
status=0
for target in instance csv config dispatch; do
  bash "$here/run.sh" --no-build --seconds $((minutes * 60)) --workers "$workers" "$@" "$target" || status=1
done
exit $status
