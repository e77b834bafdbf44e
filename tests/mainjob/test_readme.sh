#!/usr/bin/env bash
# test_readme.sh SOURCE_DIR BIN_DIR: every command the README shows in a ```sh block works right
# after the main job. The main job runs first (deploy/main.sh with this build's programs,
# LEERPLEK_BIN, in a temporary run folder); then each block runs as one bash script from the
# checkout, line by line, each line required to exit 0, with only what must differ on a shared
# machine rewritten: build/bin/ -> this build's programs, run/ -> the temporary run folder,
# ports 7411/7412 -> the main job's free ones, 7421/7422 and /tmp/leerplek-redis.sock and
# ./data -> free ports and temporary paths. A line ending in '&' starts a server: it runs in
# the background and must answer (HTTP /healthz) before the next line. Not run:
# `bash deploy/test.sh` (this test is part of it), the three benchmark scripts and the fuzzing
# scripts (minutes each, in builds of their own; ctest's fuzz_* tests run every fuzz target);
# the main job itself is the first thing run.
set -uo pipefail
source_dir=$1
bin=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/leerplek-readme.XXXXXX")
run_dir=$work/run
passed=0
failed=0
pids=()

taken=" "
# Ports are drawn below the kernel's ephemeral range: a port inside it can be taken, between the
# check and the daemon's listen, as the local end of some other test's outgoing connection
# (ctest runs suites in parallel), and the daemon's listen then fails.
ephemeral_low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
[[ $ephemeral_low =~ ^[0-9]+$ && $ephemeral_low -gt 12000 ]] || ephemeral_low=32768
free_port() { # a port nothing listens on now, not handed out before by this script
  local port
  while :; do
    port=$((10000 + RANDOM % (ephemeral_low - 10000)))
    [[ $taken == *" $port "* ]] && continue
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
    taken="$taken$port "
    echo "$port"
    return
  done
}
api_port=$(free_port); taken="$taken$api_port "
http_port=$(free_port); taken="$taken$http_port "
own_api_port=$(free_port); taken="$taken$own_api_port "
own_http_port=$(free_port)

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  redis-cli -s "$work/redis.sock" shutdown nosave >/dev/null 2>&1
  LEERPLEK_RUN_DIR=$run_dir bash "$source_dir/deploy/main.sh" stop >/dev/null 2>&1
  if [ -n "${LEERPLEK_KEEP_TEST_DIR:-}" ]; then echo "readme: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok      $*"; }
not_ok() { failed=$((failed + 1)); echo "FAILED  $*"; }

cd "$source_dir" || exit 1
if LEERPLEK_BIN=$bin LEERPLEK_RUN_DIR=$run_dir LEERPLEK_PORT=$api_port LEERPLEK_HTTP_PORT=$http_port \
    bash deploy/main.sh >"$work/main.log" 2>&1; then
  ok "bash deploy/main.sh"
else
  not_ok "bash deploy/main.sh"
  tail -n 30 "$work/main.log"
  exit 1
fi

# The README's ```sh blocks, one command per line (continuations joined), comments removed.
blocks=$work/blocks
mkdir -p "$blocks"
awk -v dir="$blocks" '
  /^```sh$/ { inside = 1; n++; file = sprintf("%s/%02d.sh", dir, n); next }
  /^```$/ { inside = 0; next }
  inside {
    line = (pending != "" ? pending " " : "") $0
    if (line ~ /\\$/) { sub(/[ \t]*\\$/, "", line); pending = line; next }
    pending = ""
    sub(/[ \t]+# .*$/, "", line)
    gsub(/^[ \t]+|[ \t]+$/, "", line)
    if (line != "") print line > file
  }' "$source_dir/README.md"

rewrite() {
  sed -e "s#build/bin/#$bin/#g" -e "s#\([ =(]\)run/#\1$run_dir/#g" \
      -e "s#127\.0\.0\.1:7411#127.0.0.1:$api_port#g" -e "s#127\.0\.0\.1:7412#127.0.0.1:$http_port#g" \
      -e "s#127\.0\.0\.1:7421#127.0.0.1:$own_api_port#g" -e "s#127\.0\.0\.1:7422#127.0.0.1:$own_http_port#g" \
      -e "s#/tmp/leerplek-redis\.sock#$work/redis.sock#g" -e "s#\./data#$work/data#g" \
      -e "s#-o x\.instance#-o $work/x.instance#g" -e "s# x\.instance# $work/x.instance#g"
}

shown=0
for block in "$blocks"/*.sh; do
  script=$work/$(basename "$block" .sh).run.sh
  : >"$script"
  while IFS= read -r line; do
    shown=$((shown + 1))
    case $line in
      "bash deploy/main.sh") continue ;;   # ran first
      "bash deploy/test.sh") echo "skipped $line (this test runs inside it)"; continue ;;
      "bash tests/bench/"*) echo "skipped $line (a benchmark: minutes, a Release build of its own)"; continue ;;
      *"bash tests/fuzz/"*) echo "skipped $line (fuzzing for minutes in a clang build of its own; ctest's fuzz_* tests run every target)"; continue ;;
    esac
    command=$(printf '%s\n' "$line" | rewrite)
    printf '%s\n' "$command" >>"$script"
  done <"$block"
  [ -s "$script" ] || continue
  # One shell per block (an export in one line holds for the next), each line checked.
  (
    set -o pipefail
    while IFS= read -r command; do
      if [[ $command == *"&" ]]; then
        bash -c "${command%&}" >>"$work/servers.log" 2>&1 &
        echo "$!" >>"$work/server.pids"
        for _ in $(seq 100); do
          curl --noproxy '*' -sf -o /dev/null "http://127.0.0.1:$own_http_port/healthz" && break
          sleep 0.1
        done
        if curl --noproxy '*' -sf -o /dev/null "http://127.0.0.1:$own_http_port/healthz"; then
          echo "ok      $command"
        else
          echo "FAILED  $command (never answered /healthz; log: $work/servers.log)"
          tail -n 5 "$work/servers.log"
        fi
        continue
      fi
      if eval "$command" >"$work/out.txt" 2>&1; then
        echo "ok      $command"
      else
        echo "FAILED  $command (exit $?)"
        tail -n 10 "$work/out.txt"
      fi
    done <"$script"
  ) >"$work/block.log" 2>&1
  cat "$work/block.log"
  passed=$((passed + $(grep -c '^ok ' "$work/block.log")))
  failed=$((failed + $(grep -c '^FAILED ' "$work/block.log")))
  if [ -f "$work/server.pids" ]; then
    while read -r pid; do pids+=("$pid"); done <"$work/server.pids"
    rm -f "$work/server.pids"
  fi
done

# What the commands must have done, beyond their exit status.
if [ -f "$work/x.instance" ]; then ok "leerplek-gen wrote x.instance"; else not_ok "no x.instance"; fi
check_output() { # check_output <what> <expected text> <command...>
  local what=$1 expected=$2; shift 2
  local output
  output=$("$@" 2>&1)
  if [[ $output == *"$expected"* ]]; then ok "$what"; else not_ok "$what: no \"$expected\""; fi
}
coordinator=$(awk '$1 == "coordinator" {print $2}' "$run_dir/tokens.txt")
check_output "P-0042 is registered and waiting" "VT001,P-0042,ELEKTRO-INST" \
  env LEERPLEK_ADDRESS=127.0.0.1:$api_port LEERPLEK_TOKEN=$coordinator "$bin/leerplek" coordinator placements --csv
check_output "the README's daemon serves its dashboard" "<title>leerplek: dual learning placements</title>" \
  curl --noproxy '*' -s "http://127.0.0.1:$own_http_port/dashboard"
check_output "the main job's dashboard in Dutch" "<title>leerplek: werkplekken duaal leren</title>" \
  curl --noproxy '*' -s -H 'Accept-Language: nl-BE,nl;q=0.9' "http://127.0.0.1:$http_port/dashboard"
check_output "tokens-plan.txt's example works as written" "scope_id: VT001" \
  env LEERPLEK_ADDRESS=127.0.0.1:$api_port LEERPLEK_TOKEN=$(awk '$1 == "admin" {print $2}' "$run_dir/tokens.txt") \
  bash -c "$(sed -n 's/^# e\.g\. leerplek /"$0" /p' "$run_dir/demo/tokens-plan.txt")" "$bin/leerplek"
check_output "the daemon's log shows what it does (info)" "listening on" cat "$run_dir/leerplekd.log"

[ "$shown" -ge 15 ] || not_ok "only $shown commands found in the README's sh blocks"
echo "readme: $passed passed, $failed failed ($shown commands in the README)"
[ "$failed" -eq 0 ]
