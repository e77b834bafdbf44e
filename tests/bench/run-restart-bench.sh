#!/usr/bin/env bash
# run-restart-bench.sh: start-up to ready (issue 15). For each size it starts a private
# redis-server (unix socket, AOF on as in production) and leerplekd, imports a demo store
# (`leerplek-gen --demo --scale K`, imported with `leerplek import` as the main job does), then
# kills leerplekd with -9 and starts it again, timing start to the first /healthz 200, three
# times; then kills redis-server and leerplekd both with -9 and times the same (Redis reads its
# AOF first). Prints one table: seconds to ready against the target, the daemon's own load phases
# (connect, read, decode, build and the load's wall time, from its "state loaded" log line; the
# trend's scan and when it listened, from its "start-up" line) and the memory of each phase
# (leerplekd's VmRSS after the import and after each restart; Redis' used_memory).
#
# Not a timed test: run it by hand on an otherwise idle machine.
#   tests/bench/run-restart-bench.sh [antwerp] [flanders] [germany]   (default: all three)
# Sizes: antwerp  = --scale 1, the main job's demo (307 pupils, about 2,500 records; target 1 s);
#        flanders = --scale 65 (about 20,000 pupils, 160,000 records; target 1 s);
#        germany  = --scale 200, the largest demo (about 61,000 pupils and 490,000 records, the
#                   record count of a German-size store; target 5 s).
# Environment (all optional):
#   BENCH_BUILD_DIR=<repo>/build-sbench   BENCH_NO_BUILD=1 (use the binaries there)
#   BENCH_BIN=DIR        take leerplekd, leerplek and leerplek-gen from DIR (implies no build;
#                        e.g. an older build, to measure before and after)
#   BENCH_RESTARTS=3     restarts per size
# Output: progress, the table, then per size a line "RESULT size=... ready_s=<median> target_s=...
# verdict=MET|MISSED rss_mib=..." (run-daemon-bench.sh reads those).
# Exit status: 0 when every restart became ready, else 1; missed targets are in the table only.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=${BENCH_BUILD_DIR:-$repo/build-sbench}
restarts=${BENCH_RESTARTS:-3}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(antwerp flanders germany)

die() { echo "run-restart-bench: $*" >&2; exit 1; }
[[ $restarts =~ ^[0-9]+$ && $restarts -gt 0 ]] || die "BENCH_RESTARTS must be a positive whole number"
for size in "${sizes[@]}"; do
  case $size in antwerp | flanders | germany) ;; *) die "unknown size '$size' (antwerp, flanders, germany)" ;; esac
done
for tool in cmake redis-server redis-cli curl awk; do
  command -v "$tool" >/dev/null || die "$tool not found on PATH"
done

if [[ -n ${BENCH_BIN:-} ]]; then
  bin=$BENCH_BIN
elif [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
  echo "== building (Release) in $build_dir"
  { cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DLEERPLEK_TESTS=OFF &&
    cmake --build "$build_dir" -j "$(nproc)" --target leerplekd leerplek leerplek-gen; } >/dev/null 2>&1 \
    || die "build failed in $build_dir"
  bin=$build_dir/bin
else
  bin=$build_dir/bin
fi
for program in leerplekd leerplek leerplek-gen; do
  [[ -x $bin/$program ]] || die "no $bin/$program"
done

# ---------------------------------------------------------------------------------------------
# One temp dir per size; redis-server and leerplekd are stopped on every exit
# ---------------------------------------------------------------------------------------------
work_dir=""
redis_pid=""
daemon_pid=""
stop_process() { # pid signal
  [[ -n $1 ]] && kill -0 "$1" 2>/dev/null || return 0
  exec 3>&2 2>/dev/null # bash's "Killed" notice for the reaped job is not news here
  kill "-$2" "$1" || true
  wait "$1" || true
  exec 2>&3 3>&-
}
stop_all() {
  stop_process "$daemon_pid" TERM
  daemon_pid=""
  stop_process "$redis_pid" TERM
  redis_pid=""
  if [[ -n $work_dir ]]; then rm -rf "$work_dir"; work_dir=""; fi
}
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [[ $status -ne 0 && -n $work_dir ]]; then
    for log in "$work_dir/leerplekd.log" "$work_dir/redis.log"; do
      [[ -s $log ]] && { echo "--- last lines of $log" >&2; tail -20 "$log" >&2; }
    done
  fi
  stop_all
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# shellcheck source=bench-common.sh
source "$repo/tests/bench/bench-common.sh" # free_port
now_s() { date +%s.%N; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

start_redis() {
  redis-server --unixsocket "$redis_socket" --unixsocketperm 700 --port 0 --dir "$work_dir" \
    --appendonly yes --appendfsync everysec --save "" --daemonize no --logfile "$work_dir/redis.log" &
  redis_pid=$!
  # PING answers LOADING while the AOF is read: the daemon waits for that itself.
  for _ in $(seq 600); do
    [[ -S $redis_socket ]] && break
    kill -0 "$redis_pid" 2>/dev/null || die "redis-server exited at start"
    sleep 0.02
  done
}
wait_redis_loaded() {
  for _ in $(seq 3000); do
    [[ $(redis-cli -s "$redis_socket" ping 2>/dev/null) == PONG ]] && return 0
    sleep 0.02
  done
  die "redis-server did not load its AOF in 60 s"
}
# Starts leerplekd (daemon_pid) and sets ready_s to the seconds until /healthz answers 200.
# Not in a $(subshell): daemon_pid must reach the traps.
start_daemon_timed() {
  local started ready=0
  started=$(now_s)
  "$bin/leerplekd" --redis "unix:$redis_socket" --listen "unix:$work_dir/leerplekd.sock" \
    --http_listen "127.0.0.1:$http_port" --log_level info >>"$work_dir/leerplekd.log" 2>&1 </dev/null &
  daemon_pid=$!
  for _ in $(seq 12000); do
    if curl --noproxy '*' -sf -o /dev/null "http://127.0.0.1:$http_port/healthz" 2>/dev/null; then ready=1; break; fi
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.005
  done
  [[ $ready == 1 ]] || die "leerplekd did not become ready"
  ready_s=$(awk -v a="$started" -v b="$(now_s)" 'BEGIN { printf "%.2f", b - a }')
}
# The phases of the last start in the log, in ms: "connect read decode build load trend listening"
# (the "state loaded" line: its phases and its wall time, load; read, decode and build overlap;
# the "start-up" line: the trend's scan beside the load, and when the daemon was listening).
load_phases() {
  local loaded started
  loaded=$(grep 'state loaded:' "$work_dir/leerplekd.log" | tail -1 |
    sed -n 's/.*records in \([0-9]*\) ms (connect \([0-9]*\) ms, read \([0-9]*\) ms, decode \([0-9]*\) ms, build \([0-9]*\) ms.*/\2 \3 \4 \5 \1/p')
  started=$(grep 'start-up: listening' "$work_dir/leerplekd.log" | tail -1 |
    sed -n 's/.*listening \([0-9]*\) ms after start (the trend.s snapshots read in \([0-9]*\) ms.*/\2 \1/p')
  echo "${loaded:-- - - - -} ${started:-- -}"
}

declare -a rows results
row_format='%-9s %8s %-19s %8s %7s  %-7s %7s %6s %6s %6s %6s %6s %6s %8s %9s'

for size in "${sizes[@]}"; do
  case $size in
    antwerp) scale=1; target=1 ;;
    flanders) scale=65; target=1 ;;
    germany) scale=200; target=5 ;;
  esac
  work_dir=$(mktemp -d "${TMPDIR:-/tmp}/leerplek-sbench.XXXXXX")
  redis_socket=$work_dir/redis.sock
  http_port=$(free_port)
  echo "== $size: redis-server and leerplekd in $work_dir"
  start_redis
  wait_redis_loaded
  admin_token=$("$bin/leerplekd" --redis "unix:$redis_socket" --create-admin-token --label restart-bench 2>/dev/null |
                grep -o 'lp1\.[0-9a-f.]*' | head -1) || true
  [[ -n $admin_token ]] || die "leerplekd --create-admin-token failed"
  start_daemon_timed
  export LEERPLEK_ADDRESS=unix:$work_dir/leerplekd.sock
  coordinator=$(LEERPLEK_TOKEN=$admin_token "$bin/leerplek" admin create-token --role coordinator --label bench |
                grep -o 'lp1\.[0-9a-f.]*' | head -1)
  [[ -n $coordinator ]] || die "could not create a coordinator token"
  "$bin/leerplek-gen" --demo "$work_dir/demo" --scale "$scale" | sed -n '2,4p'
  import_started=$(now_s)
  for kind in trainings companies locations vacancies pupils organisations offers referrals; do
    flags=()
    [[ $kind == pupils ]] && flags=(--request)
    LEERPLEK_TOKEN=$coordinator "$bin/leerplek" import "$kind" "$work_dir/demo/$kind.csv" "${flags[@]}" >/dev/null \
      || die "import $kind failed"
  done
  keys=$(redis-cli -s "$redis_socket" dbsize)
  imported_rss=$(rss_kib "$daemon_pid")
  redis_memory=$(redis-cli -s "$redis_socket" info memory | awk -F: '/^used_memory:/ {printf "%.0f", $2 / 1048576}')
  echo "   imported in $(awk -v a="$import_started" -v b="$(now_s)" 'BEGIN { printf "%.0f", b - a }') s:" \
       "$keys keys; leerplekd VmRSS $(mib "$imported_rss") MiB, redis used_memory $redis_memory MiB"
  redis-cli -s "$redis_socket" bgrewriteaof >/dev/null # an AOF as a restarted Redis would read it

  ready_times=()
  for run in $(seq "$restarts"); do
    stop_process "$daemon_pid" KILL
    start_daemon_timed
    seconds=$ready_s
    read -r connect read decode build load trend listening < <(load_phases) || true
    rss=$(rss_kib "$daemon_pid")
    ready_times+=("$seconds")
    echo "   restart $run (leerplekd kill -9): ready in $seconds s (load ${load:-?} ms: connect ${connect:-?} ms," \
         "read ${read:-?} ms, decode ${decode:-?} ms, build ${build:-?} ms; trend ${trend:-?} ms beside it;" \
         "listening at ${listening:-?} ms); VmRSS $(mib "$rss") MiB"
    rows+=("$(printf "$row_format" "$size" "$keys" "leerplekd -9 #$run" \
      "$seconds" "<=${target}" "$(awk -v s="$seconds" -v t="$target" 'BEGIN { print (s + 0 <= t + 0) ? "MET" : "MISSED" }')" \
      "${connect:--}" "${read:--}" "${decode:--}" "${build:--}" "${load:--}" "${trend:--}" "${listening:--}" \
      "$(mib "$rss")" "$redis_memory")")
  done

  median=$(printf '%s\n' "${ready_times[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  results+=("RESULT size=$size keys=$keys ready_s=$median target_s=$target verdict=$(awk -v s="$median" -v t="$target" \
    'BEGIN { print (s + 0 <= t + 0) ? "MET" : "MISSED" }') rss_mib=$(mib "$rss") imported_rss_mib=$(mib "$imported_rss") redis_mib=$redis_memory")

  # Both killed: Redis reads its AOF (PING says LOADING meanwhile), then the daemon loads.
  stop_process "$daemon_pid" KILL
  stop_process "$redis_pid" KILL
  both_started=$(now_s)
  start_redis
  wait_redis_loaded
  redis_s=$(awk -v a="$both_started" -v b="$(now_s)" 'BEGIN { printf "%.2f", b - a }')
  start_daemon_timed
  daemon_s=$ready_s
  total=$(awk -v a="$redis_s" -v b="$daemon_s" 'BEGIN { printf "%.2f", a + b }')
  read -r connect read decode build load trend listening < <(load_phases) || true
  echo "   redis and leerplekd kill -9: redis loaded its AOF in $redis_s s, leerplekd ready $daemon_s s later"
  rows+=("$(printf "$row_format" "$size" "$keys" "both -9 (AOF $redis_s s)" \
    "$total" "-" "-" "${connect:--}" "${read:--}" "${decode:--}" "${build:--}" "${load:--}" "${trend:--}" \
    "${listening:--}" "$(mib "$(rss_kib "$daemon_pid")")" "$redis_memory")")
  stop_all
done

echo
echo "===================================================================================================================="
echo "leerplekd start to ready (first /healthz 200), $(nproc) shared cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "===================================================================================================================="
printf "$row_format\n" size keys restart "ready s" target verdict "conn ms" "read" "decode" "build" "load" "trend" \
  "listen" "RSS MiB" "redis MiB"
printf '%s\n' "${rows[@]}"
echo "phases, ms: the daemon's own 'state loaded' log line (connect includes waiting while Redis loads; decode"
echo "and build run on a second thread beside read; load is the wall time of all four), and its 'start-up'"
echo "line: trend, reading the lp:trend:<day> snapshots beside the load; listen, when it listened (after start);"
echo "ready s is until the first /healthz 200, which also waits for the write link's first PING."
echo "RSS: leerplekd's VmRSS once ready; redis MiB: used_memory after the import."
echo "one line per size for scripts (the median of the leerplekd -9 restarts):"
printf '%s\n' "${results[@]}"
exit 0
