#!/usr/bin/env bash
# The README's main command: what a coordinator, or an engineer trying leerplek for the first
# time, runs. Installs what is missing, builds, starts a private redis-server (AOF on, unix
# socket, data under run/) and leerplekd, creates tokens, imports the Antwerp demo dataset
# (leerplek-gen --demo: DOMAIN.md's 307 pupils, 1,220 companies, 367 locations), puts every
# pupil on the waiting list, runs a rematch and prints the report and the waiting list.
#
# Run it again and it resets: it stops what the previous run started and starts from an empty
# store (LEERPLEK_KEEP=1 keeps the store and only re-imports and rematches). Everything it
# starts keeps running afterwards so the CLI can be tried; `bash deploy/main.sh stop` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

run_dir=$top/run
redis_socket=$run_dir/redis.sock
api_address=127.0.0.1:${LEERPLEK_PORT:-7411}
http_address=127.0.0.1:${LEERPLEK_HTTP_PORT:-7412}
seed=${LEERPLEK_SEED:-1}

step() { printf '\n== %s\n' "$*"; }

stop_everything() {
  if [ -f "$run_dir/leerplekd.pid" ]; then
    kill "$(cat "$run_dir/leerplekd.pid")" 2>/dev/null || true
    rm -f "$run_dir/leerplekd.pid"
  fi
  if [ -f "$run_dir/redis.pid" ]; then
    kill "$(cat "$run_dir/redis.pid")" 2>/dev/null || true
    for _ in $(seq 50); do [ -e "$run_dir/redis.pid" ] || break; sleep 0.1; done
    rm -f "$run_dir/redis.pid"
  fi
}

wait_for() { # wait_for <seconds> <command...>: polls until the command succeeds
  local seconds=$1; shift
  for _ in $(seq $((seconds * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

if [ "${1:-}" = stop ]; then
  stop_everything
  echo "stopped leerplekd and redis-server (data kept in $run_dir)"
  exit 0
fi

step "install what is missing"
bash deploy/install-deps.sh

step "build (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target leerplekd leerplek leerplek-gen 2>&1 | grep -E '^\[100%\]|error' || true
bin=$top/build/bin

stop_everything
if [ "${LEERPLEK_KEEP:-0}" = 1 ] && [ -d "$run_dir/redis" ]; then
  step "reusing the store in $run_dir/redis (LEERPLEK_KEEP=1)"
else
  step "fresh store in $run_dir (set LEERPLEK_KEEP=1 to keep the previous one)"
  rm -rf "$run_dir"
fi
mkdir -p "$run_dir/redis"

step "start redis-server (AOF, unix socket $redis_socket)"
redis-server --port 0 --unixsocket "$redis_socket" --unixsocketperm 700 \
  --appendonly yes --appendfsync everysec --dir "$run_dir/redis" --save '' \
  --daemonize yes --pidfile "$run_dir/redis.pid" --logfile "$run_dir/redis.log"
wait_for 10 redis-cli -s "$redis_socket" ping || { echo "redis-server did not start: $run_dir/redis.log"; exit 1; }

daemon_flags=(--config deploy/leerplekd.conf --redis "unix:$redis_socket" --listen "$api_address"
              --http_listen "$http_address" --log_level warn)
if [ ! -f "$run_dir/tokens.txt" ]; then
  step "create the first admin token"
  admin_token=$("$bin/leerplekd" "${daemon_flags[@]}" --create-admin-token | grep -o 'lp1\.[0-9a-f.]*' | head -1)
  [ -n "$admin_token" ] || { echo "could not create the admin token"; exit 1; }
fi

step "start leerplekd on $api_address (HTTP $http_address, log $run_dir/leerplekd.log)"
"$bin/leerplekd" "${daemon_flags[@]}" >"$run_dir/leerplekd.log" 2>&1 &
echo $! >"$run_dir/leerplekd.pid"
wait_for 10 curl -sf "http://$http_address/healthz" || { echo "leerplekd is not ready:"; tail "$run_dir/leerplekd.log"; exit 1; }

export LEERPLEK_ADDRESS=$api_address
if [ ! -f "$run_dir/tokens.txt" ]; then
  step "create tokens (coordinator, one school, one company) -> $run_dir/tokens.txt"
  new_token() { LEERPLEK_TOKEN=$admin_token "$bin/leerplek" admin create-token "$@" | grep -o 'lp1\.[0-9a-f.]*' | head -1; }
  coordinator_token=$(new_token --role coordinator --label "demo coordinator")
  {
    echo "admin        $admin_token"
    echo "coordinator  $coordinator_token"
  } >"$run_dir/tokens.txt"
  chmod 600 "$run_dir/tokens.txt"
fi
coordinator_token=$(awk '$1 == "coordinator" {print $2}' "$run_dir/tokens.txt")
admin_token=$(awk '$1 == "admin" {print $2}' "$run_dir/tokens.txt")

step "generate the Antwerp demo dataset (seed $seed) -> $run_dir/demo"
"$bin/leerplek-gen" --demo "$run_dir/demo" --seed "$seed" | tail -n +1

step "import it (each file checked whole first, then pipelined)"
export LEERPLEK_TOKEN=$coordinator_token
for kind in trainings companies locations vacancies; do
  "$bin/leerplek" import "$kind" "$run_dir/demo/$kind.csv"
done
"$bin/leerplek" import pupils "$run_dir/demo/pupils.csv" --request

school=$(awk '$1 == "school" {sub("school:", "", $2); print $2; exit}' "$run_dir/demo/tokens-plan.txt")
company=$(awk '$1 == "company" {sub("company:", "", $2); print $2; exit}' "$run_dir/demo/tokens-plan.txt")
if ! grep -q '^school ' "$run_dir/tokens.txt"; then
  LEERPLEK_TOKEN=$admin_token "$bin/leerplek" admin create-token --role school --scope "$school" \
    --label "demo school" | grep -o 'lp1\.[0-9a-f.]*' | head -1 | sed "s/^/school       /" >>"$run_dir/tokens.txt"
  LEERPLEK_TOKEN=$admin_token "$bin/leerplek" admin create-token --role company --scope "$company" \
    --label "demo company" | grep -o 'lp1\.[0-9a-f.]*' | head -1 | sed "s/^/company      /" >>"$run_dir/tokens.txt"
fi

step "rematch (the nightly job, run now)"
"$bin/leerplek" coordinator rematch

step "report"
"$bin/leerplek" coordinator report

step "the shared waiting list (first 15)"
"$bin/leerplek" coordinator waiting | head -17

cat <<EOF

== where to look next
  tokens (keep them secret):   $run_dir/tokens.txt
  metrics and health:          http://$http_address/metrics   http://$http_address/healthz
  daemon log:                  $run_dir/leerplekd.log
  as a coordinator:            LEERPLEK_ADDRESS=$api_address LEERPLEK_TOKEN=\$(awk '/^coordinator/{print \$2}' $run_dir/tokens.txt) build/bin/leerplek coordinator placements
  as school $school:     LEERPLEK_TOKEN=\$(awk '/^school/{print \$2}' $run_dir/tokens.txt) build/bin/leerplek school placements
  as company $company:  LEERPLEK_TOKEN=\$(awk '/^company/{print \$2}' $run_dir/tokens.txt) build/bin/leerplek company proposals
  stop it:                     bash deploy/main.sh stop
EOF
