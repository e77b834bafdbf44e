#!/usr/bin/env bash
# The README's main command: installs what is missing, builds leerplek, and runs the main job.
# Until the daemon exists the main job is a rematch of an Antwerp-sized instance straight
# through the matcher: 307 pupils, 1,220 vacancies (leerplek-gen --size antwerp), solved and
# proven optimal by the verifier (leerplek-solve --verify).
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/install-deps.sh
echo "== build (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target leerplek-gen leerplek-solve

instance=build/antwerp.instance
seed=${LEERPLEK_SEED:-1}
echo "== generate the Antwerp-sized instance (seed $seed) -> $instance"
build/bin/leerplek-gen --size antwerp --seed "$seed" -o "$instance"
grep -m1 '^p ' "$instance" | awk '{printf "   %s pupils, %s vacancies, %s eligible pairs\n", $2, $3, $4}'
echo "== solve"
build/bin/leerplek-solve --verify "$instance"
