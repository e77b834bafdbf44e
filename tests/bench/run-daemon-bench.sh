#!/usr/bin/env bash
# run-daemon-bench.sh: the daemon benchmark of issue 3. Builds leerplekd and leerplek-bench
# (Release, benchmarks on) into build-dbench, starts a private redis-server (unix socket for the
# daemon, a 127.0.0.1 TCP port for redis-benchmark, AOF on as in production, data in a temp dir)
# and leerplekd against it, runs redis-benchmark GET/SET and leerplek-bench reads/writes at the
# same connections and pipeline depths, measures the daemon's memory per idle connection and
# its VmRSS after each run and Redis' time per write by command (INFO commandstats), and prints
# one table with the ratios against the targets. Then (issue
# 15) it runs tests/bench/run-restart-bench.sh with the same binaries: start to ready after a
# kill -9 at each size of BENCH_RESTART_SIZES, and ends with the issue's rows (reads at depth P
# against redis GET, writes' p99 at C connections, start to ready) beside their targets. Everything it starts is stopped on
# exit (the restart benchmark stops its own).
#
# Not a timed test: run it by hand on an otherwise idle machine.
#   tests/bench/run-daemon-bench.sh
# Environment (all optional):
#   BENCH_SECONDS=4            length of each measured run, seconds
#   BENCH_CONNECTIONS=50       connections (-c) of every run
#   BENCH_PIPELINE=16          the pipelined depth (-P) compared besides 1
#   BENCH_IDLE_CONNECTIONS=1000  idle connections opened for the memory figure
#   BENCH_BUILD_DIR=<repo>/build-dbench
#   BENCH_C_FLAGS=             extra CMAKE_C_FLAGS for the build
#   BENCH_NO_BUILD=1           use the binaries already in the build dir
#   BENCH_APPENDFSYNC=everysec Redis' appendfsync: everysec (the main job's) or always
#                              (deploy/redis/redis.conf's: fsync before every reply)
#   BENCH_RESTART_SIZES="flanders germany"  sizes of the restart benchmark ("" skips it;
#                              germany imports about 490,000 records first: minutes)
# Exit status: 0 when every run was valid (no error responses), else 1. Missed targets are
# reported in the table, not in the exit status.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=${BENCH_BUILD_DIR:-$repo/build-dbench}
run_seconds=${BENCH_SECONDS:-4}
connections=${BENCH_CONNECTIONS:-50}
pipeline=${BENCH_PIPELINE:-16}
idle_connections=${BENCH_IDLE_CONNECTIONS:-1000}
appendfsync=${BENCH_APPENDFSYNC:-everysec}

die() { echo "run-daemon-bench: $*" >&2; exit 1; }
for number in "$run_seconds" "$connections" "$pipeline" "$idle_connections"; do
  [[ $number =~ ^[0-9]+$ && $number -gt 0 ]] || die "BENCH_* values must be positive whole numbers (got '$number')"
done
[[ $appendfsync == everysec || $appendfsync == always ]] || die "BENCH_APPENDFSYNC must be everysec or always (got '$appendfsync')"
for tool in cmake redis-server redis-cli redis-benchmark awk; do
  command -v "$tool" >/dev/null || die "$tool not found on PATH"
done

# ---------------------------------------------------------------------------------------------
# A temp dir for the data, sockets and logs; redis-server and leerplekd are stopped on any exit
# ---------------------------------------------------------------------------------------------
work_dir=$(mktemp -d "${TMPDIR:-/tmp}/leerplek-dbench.XXXXXX")
redis_pid=""
daemon_pid=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -n $daemon_pid ]] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  if [[ -n $redis_pid ]] && kill -0 "$redis_pid" 2>/dev/null; then
    kill -TERM "$redis_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$redis_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
  if [[ $status -ne 0 ]]; then
    for log in "$work_dir/leerplekd.log" "$work_dir/redis.log"; do
      [[ -s $log ]] && { echo "--- last lines of $log" >&2; tail -20 "$log" >&2; }
    done
  fi
  rm -rf "$work_dir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# Build (output kept in the temp dir; shown only when the build fails)
# ---------------------------------------------------------------------------------------------
if [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
  echo "== building (Release, LEERPLEK_BENCHMARKS=ON) in $build_dir"
  { cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DLEERPLEK_BENCHMARKS=ON \
          -DLEERPLEK_TESTS=OFF -DCMAKE_C_FLAGS="${BENCH_C_FLAGS:-}" &&
    cmake --build "$build_dir" -j "$(nproc)" --target leerplekd leerplek-bench leerplek leerplek-gen; } >"$work_dir/build.log" 2>&1 \
    || { tail -40 "$work_dir/build.log" >&2; die "build failed (Release, -Werror): see above"; }
fi
leerplekd=$build_dir/bin/leerplekd
bench=$build_dir/bin/leerplek-bench
[[ -x $leerplekd && -x $bench ]] || die "no $leerplekd or $bench (build first)"

# shellcheck source=bench-common.sh
source "$repo/tests/bench/bench-common.sh" # free_port

# The idle connections need file descriptors in the daemon and in the bench.
ulimit -n $((idle_connections + connections + 1024)) 2>/dev/null \
  || echo "run-daemon-bench: note: could not raise ulimit -n (now $(ulimit -n))" >&2

redis_port=$(free_port)
redis_socket=$work_dir/redis.sock
echo "== starting redis-server (AOF on, appendfsync $appendfsync; unix socket + 127.0.0.1:$redis_port)"
redis-server --bind 127.0.0.1 --port "$redis_port" --unixsocket "$redis_socket" --unixsocketperm 700 \
  --dir "$work_dir" --appendonly yes --appendfsync "$appendfsync" --save "" --daemonize no \
  --logfile "$work_dir/redis.log" &
redis_pid=$!
for _ in $(seq 100); do
  [[ $(redis-cli -s "$redis_socket" ping 2>/dev/null) == PONG ]] && break
  kill -0 "$redis_pid" 2>/dev/null || die "redis-server exited at start"
  sleep 0.05
done
[[ $(redis-cli -s "$redis_socket" ping 2>/dev/null) == PONG ]] || die "redis-server did not answer in 5 s"

admin_token=$("$leerplekd" --redis "unix:$redis_socket" --create-admin-token --label "run-daemon-bench") \
  || die "leerplekd --create-admin-token failed"
[[ -n $admin_token ]] || die "leerplekd --create-admin-token printed no token"

daemon_port=$(free_port)
daemon_address=127.0.0.1:$daemon_port
echo "== starting leerplekd on $daemon_address (redis over its unix socket)"
"$leerplekd" --redis "unix:$redis_socket" --listen "$daemon_address" --log_level warn \
  --max_connections $((idle_connections + connections + 100)) \
  --max_connections_per_address $((idle_connections + connections + 100)) --idle_timeout_s 0 \
  2>"$work_dir/leerplekd.log" &
daemon_pid=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$daemon_port") 2>/dev/null && break
  kill -0 "$daemon_pid" 2>/dev/null || die "leerplekd exited at start"
  sleep 0.05
done
(exec 3<>"/dev/tcp/127.0.0.1/$daemon_port") 2>/dev/null || die "leerplekd did not listen in 5 s"

cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
echo
echo "NOTE: this machine has $(nproc) cores (${cpu_model:-unknown CPU}); the benchmark clients,"
echo "      leerplekd and redis-server all share them, so every figure includes the client's cost."
echo "      redis-benchmark and leerplek-bench both run with one client thread."
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "      load average before the runs: $load_before (other work on the machine skews every figure)"
echo

# ---------------------------------------------------------------------------------------------
# redis-benchmark: GET and SET at -c C -P 1 and -c C -P P, sized for about run_seconds each
# ---------------------------------------------------------------------------------------------
# Prints "rps p50_ms p99_ms" of one redis-benchmark test from its CSV output.
redis_run() { # test pipeline requests
  redis-benchmark -h 127.0.0.1 -p "$redis_port" -c "$connections" -P "$2" -n "$3" -t "$1" --csv 2>/dev/null |
    awk -F'","' -v test="$(echo "$1" | tr "[:lower:]" "[:upper:]")" '
      { gsub(/^"|"$/, "") }
      $1 == test { printf "%.0f %s %s\n", $2, $5, $7; found = 1 }
      END { if (!found) exit 1 }'
}
# A short first run per depth estimates the rate, so the measured run lasts about run_seconds.
redis_requests() { # pipeline
  local probe rate
  probe=$(redis_run set "$1" $((50000 * $1))) || die "redis-benchmark failed"
  rate=${probe%% *}
  echo $(( rate * run_seconds > 100000 ? rate * run_seconds : 100000 ))
}

declare -A rps p50 p99 p999 client_cpu daemon_cores redis_cores daemon_us daemon_rss redis_per_call
clock_ticks=$(getconf CLK_TCK)
# CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat.
cpu_seconds() { awk -v hz="$clock_ticks" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat"; }
redis_measure() { # test pipeline requests
  local key=redis_$1_$2
  echo
  echo "== redis-benchmark -t $1 -c $connections -P $2 -n $3"
  read -r "rps[$key]" "p50[$key]" "p99[$key]" < <(redis_run "$1" "$2" "$3") || die "redis-benchmark $1 failed"
  p999[$key]="-"
  client_cpu[$key]="-"
  echo "   ${rps[$key]} requests/s, p50 ${p50[$key]} ms, p99 ${p99[$key]} ms"
}

# ---------------------------------------------------------------------------------------------
# leerplek-bench: memory per idle connection (also preloads), then reads and writes
# ---------------------------------------------------------------------------------------------
invalid=0
echo "== leerplek-bench: preload and $idle_connections idle connections"
memory_output=$("$bench" --address "$daemon_address" --token "$admin_token" --daemon-pid "$daemon_pid" \
                  --idle-connections "$idle_connections" -n 0) || die "leerplek-bench memory run failed"
echo "$memory_output" | grep -v '^MEMORY'
bytes_per_connection=$(echo "$memory_output" | awk '/^MEMORY/ { for (i = 2; i <= NF; i++) if ($i ~ /^bytes_per_connection=/) { sub(/.*=/, "", $i); print $i } }')

leerplek_run() { # mix pipeline key
  local output status=0
  echo
  echo "== leerplek-bench --mix $1 -c $connections -P $2 --duration $run_seconds"
  local daemon_before redis_before
  daemon_before=$(cpu_seconds "$daemon_pid")
  redis_before=$(cpu_seconds "$redis_pid")
  redis-cli -s "$redis_socket" config resetstat >/dev/null # per-command times of this run alone
  output=$("$bench" --address "$daemon_address" --token "$admin_token" --skip-preload --mix "$1" \
             -c "$connections" -P "$2" -n 0 --duration "$run_seconds") || status=$?
  local daemon_used redis_used
  daemon_used=$(awk -v a="$daemon_before" -v b="$(cpu_seconds "$daemon_pid")" 'BEGIN { print b - a }')
  redis_used=$(awk -v a="$redis_before" -v b="$(cpu_seconds "$redis_pid")" 'BEGIN { print b - a }')
  echo "$output" | grep -v '^RESULT'
  if [[ $status -ne 0 ]]; then
    echo "   INVALID RUN (leerplek-bench exit status $status)"
    invalid=1
  fi
  local line
  line=$(echo "$output" | grep '^RESULT' || true)
  rps[$3]=$(echo "$line" | sed -n 's/.* rps=\([0-9.]*\).*/\1/p')
  p50[$3]=$(echo "$line" | sed -n 's/.* p50_ms=\([0-9.]*\).*/\1/p')
  p99[$3]=$(echo "$line" | sed -n 's/.* p99_ms=\([0-9.]*\).*/\1/p')
  p999[$3]=$(echo "$line" | sed -n 's/.* p999_ms=\([0-9.]*\).*/\1/p')
  client_cpu[$3]=$(echo "$line" | sed -n 's/.* client_cpu=\([0-9.]*\).*/\1/p')
  : "${rps[$3]:=0}" "${p50[$3]:=-}" "${p99[$3]:=-}" "${p999[$3]:=-}" "${client_cpu[$3]:=-}"
  local seconds
  seconds=$(echo "$line" | sed -n 's/.* seconds=\([0-9.]*\).*/\1/p')
  daemon_cores[$3]=$(awk -v u="$daemon_used" -v s="${seconds:-0}" 'BEGIN { if (s > 0) printf "%.2f", u / s; else print "-" }')
  redis_cores[$3]=$(awk -v u="$redis_used" -v s="${seconds:-0}" 'BEGIN { if (s > 0) printf "%.2f", u / s; else print "-" }')
  daemon_us[$3]=$(awk -v u="$daemon_used" -v r="${rps[$3]}" -v s="${seconds:-0}" \
                    'BEGIN { if (r * s > 0) printf "%.2f", u * 1e6 / (r * s); else print "-" }')
  daemon_rss[$3]=$(awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$daemon_pid/status")
  # Where Redis' time goes per acknowledged call (INFO commandstats: usec of each command over
  # the calls made), the largest first: for writes the block's commands, the event script and
  # the follower's re-read.
  redis_per_call[$3]=$(redis-cli -s "$redis_socket" info commandstats | tr -d '\r' |
    awk -F'[:,=]' -v calls="$(awk -v r="${rps[$3]}" -v s="${seconds:-0}" 'BEGIN { printf "%.0f", r * s }')" '
      /^cmdstat_/ && $1 !~ /config/ { sub(/^cmdstat_/, "", $1); usec[$1] = $5 }
      END {
        if (calls <= 0) { print "-"; exit }
        line = ""
        n = 0
        while (n < 7) {
          best = ""; for (c in usec) if (best == "" || usec[c] > usec[best]) best = c
          if (best == "" || usec[best] <= 0) break
          line = line sprintf(" %s %.1f", tolower(best), usec[best] / calls); delete usec[best]; n++
        }
        print line
      }')
}

# Each leerplek run follows the redis run it is compared with, so that a change in the
# machine's other load between runs skews a ratio as little as possible.
for depth in 1 "$pipeline"; do
  requests=$(redis_requests "$depth")
  redis_measure get "$depth" "$requests"
  leerplek_run read "$depth" "lp_read_$depth"
  redis_measure set "$depth" "$requests"
  leerplek_run write "$depth" "lp_write_$depth"
done

# ---------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------
# row label leerplek_key redis_key ratio_target(or -)
row() {
  local ours=${rps[$2]} theirs=${rps[$3]} target=$4
  local ratio verdict
  ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
  if [[ $target == - ]]; then verdict="(no target)"
  else verdict=$(awk -v r="$ratio" -v t="$target" 'BEGIN { print (r + 0 >= t + 0) ? "MET" : "MISSED" }'); fi
  printf "%-30s %12s %12s %7sx %8s  %-11s %8s %8s %8s %6s\n" "$1" "$ours" "$theirs" "$ratio" \
    "$([[ $target == - ]] && echo - || echo ">=${target}x")" "$verdict" "${p50[$2]}" "${p99[$2]}" "${p999[$2]}" \
    "${client_cpu[$2]}"
}
p99_verdict() { # key
  awk -v p="${p99[$1]}" 'BEGIN { if (p == "-" || p == "") print "n/a"; else print (p + 0 <= 1.0) ? "MET" : "MISSED" }'
}

echo
echo "================================================================================================================"
echo "leerplekd vs redis-benchmark, same redis-server (AOF $appendfsync), $connections connections, $(nproc) shared cores"
echo "================================================================================================================"
printf "%-30s %12s %12s %8s %8s  %-11s %8s %8s %8s %6s\n" "run" "leerplek/s" "redis/s" "ratio" "target" "verdict" \
  "p50 ms" "p99 ms" "p99.9 ms" "bench CPU"
row "reads  P=1  vs redis GET P=1" lp_read_1 redis_get_1 1.0
row "reads  P=$pipeline vs redis GET P=$pipeline" "lp_read_$pipeline" "redis_get_$pipeline" 0.8
row "writes P=1  vs redis SET P=1" lp_write_1 redis_set_1 0.5
row "writes P=$pipeline vs redis SET P=$pipeline" "lp_write_$pipeline" "redis_set_$pipeline" -
echo
printf "redis-benchmark itself:  GET P=1 p50 %s p99 %s ms;  SET P=1 p50 %s p99 %s ms\n" \
  "${p50[redis_get_1]}" "${p99[redis_get_1]}" "${p50[redis_set_1]}" "${p99[redis_set_1]}"
echo "p99 <= 1 ms at $connections connections (P=1): reads $(p99_verdict lp_read_1) (${p99[lp_read_1]} ms)," \
  "writes $(p99_verdict lp_write_1) (${p99[lp_write_1]} ms)"
echo "memory per open connection (idle, after Hello, $idle_connections connections): ${bytes_per_connection:-?} bytes (daemon VmRSS growth)"
echo "bench CPU: leerplek-bench's own CPU use in cores (1.00 = a full core: then the client would be the limit)"
echo
echo "CPU during the leerplek runs (cores busy; 1.00 = one full core of the $(nproc)):"
printf "  %-14s %10s %10s %10s %22s %18s\n" "run" "leerplekd" "redis" "bench" "leerplekd us/request" "leerplekd RSS MiB"
for key in lp_read_1 "lp_read_$pipeline" lp_write_1 "lp_write_$pipeline"; do
  printf "  %-14s %10s %10s %10s %22s %18s\n" "$key" "${daemon_cores[$key]:--}" "${redis_cores[$key]:--}" \
    "${client_cpu[$key]:--}" "${daemon_us[$key]:--}" "${daemon_rss[$key]:--}"
done
echo
echo "Redis' time per leerplek call (INFO commandstats over the run, us per acknowledged call, by command;"
echo "exec includes the commands of its block, eval those its script calls):"
for key in lp_write_1 "lp_write_$pipeline"; do
  printf "  %-14s %s\n" "$key" "${redis_per_call[$key]:--}"
done
echo
echo "reads: get_training/get_vacancy/get_pupil from memory; writes: upsert_training/update_vacancy, acknowledged after MULTI/EXEC"
echo "NOTE: $(nproc) cores shared by leerplek-bench/redis-benchmark, leerplekd and redis-server;"
echo "      load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)."
echo "leerplek runs: leerplek-bench --address ADDR --token ADMIN --skip-preload --mix read|write -c $connections -P 1|$pipeline -n 0 --duration $run_seconds"

# ---------------------------------------------------------------------------------------------
# Issue 15: start to ready (the restart benchmark, same binaries), then the issue's rows
# ---------------------------------------------------------------------------------------------
read -r -a restart_sizes <<<"${BENCH_RESTART_SIZES-flanders germany}"
restart_results=""
if [[ ${#restart_sizes[@]} -gt 0 ]]; then
  echo
  echo "== tests/bench/run-restart-bench.sh ${restart_sizes[*]} (leerplekd kill -9, start, time to /healthz 200)"
  restart_output=$(BENCH_BIN=$build_dir/bin "$repo/tests/bench/run-restart-bench.sh" "${restart_sizes[@]}") \
    || { echo "$restart_output"; die "the restart benchmark failed"; }
  echo "$restart_output" | grep -v '^RESULT'
  restart_results=$(echo "$restart_output" | grep '^RESULT' || true)
fi
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
echo
echo "issue 15 (speed where users feel it), this run:"
printf "  %-44s %12s %10s  %s\n" "row" "measured" "target" "verdict"
ratio16=$(awk -v a="${rps[lp_read_$pipeline]}" -v b="${rps[redis_get_$pipeline]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print 0 }')
printf "  %-44s %11sx %9sx  %s   (%s vs %s req/s; leerplekd RSS %s MiB)\n" "reads P=$pipeline vs redis GET P=$pipeline, same connections" \
  "$ratio16" ">=0.8" "$(awk -v r="$ratio16" 'BEGIN { print (r + 0 >= 0.8) ? "MET" : "MISSED" }')" \
  "${rps[lp_read_$pipeline]}" "${rps[redis_get_$pipeline]}" "${daemon_rss[lp_read_$pipeline]:--}"
write_p99=${p99[lp_write_1]:--}
printf "  %-44s %10sms %8sms  %s   (%s writes/s, %sx redis SET P=1 (%s/s, p99 %s ms); appendfsync %s)\n" \
  "writes P=1 at $connections connections, p99" "$write_p99" "<=1" "$(p99_verdict lp_write_1)" "${rps[lp_write_1]}" \
  "$(awk -v a="${rps[lp_write_1]}" -v b="${rps[redis_set_1]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')" \
  "${rps[redis_set_1]}" "${p99[redis_set_1]}" "$appendfsync"
while read -r line; do
  [[ -n $line ]] || continue
  printf "  %-44s %11ss %9ss  %s   (%s keys; leerplekd RSS %s MiB once ready, %s MiB after the import; redis %s MiB)\n" \
    "start to ready, $(field "$line" size) (median of the kill -9 restarts)" "$(field "$line" ready_s)" \
    "<=$(field "$line" target_s)" "$(field "$line" verdict)" "$(field "$line" keys)" "$(field "$line" rss_mib)" \
    "$(field "$line" imported_rss_mib)" "$(field "$line" redis_mib)"
done <<<"$restart_results"
[[ $invalid -eq 0 ]] || { echo "SOME RUNS WERE INVALID (error responses): see above"; exit 1; }
