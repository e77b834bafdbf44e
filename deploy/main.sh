#!/usr/bin/env bash
# The README's main command: what a coordinator, or an engineer trying leerplek for the first
# time, runs. Installs what is missing, builds, starts a private redis-server (AOF on, unix
# socket, data under run/) and leerplekd, creates tokens, imports the Antwerp demo dataset
# (leerplek-gen --demo: the SamDuLeA dashboard's 307 pupils, 1,220 companies, 367 locations), puts
# those pupils on the waiting list, imports the seed's 367 agreements (321 running, 46 ended; each
# on a pupil of its own), runs a rematch and prints the proposed, accepted or signed and unplaced
# counts, the agreements, the report (reasons, shortages) and the waiting list; imports the support organisations, their
# offers and the not-ready pupils' referrals, dispatches them and prints the registration
# point's summary per partner; then where to look next.
#
# Run it again and it resets: it stops what the previous run started and starts from an empty
# store (LEERPLEK_KEEP=1 reuses the store and only re-imports and rematches); it says which.
# Everything it starts keeps running afterwards so the CLI can be tried; `bash deploy/main.sh
# stop` stops it (with the same LEERPLEK_RUN_DIR, if one was set).
#
# Settings (environment variables; without any, it is what the README describes):
#   LEERPLEK_RUN_DIR      where the store, logs, pid files, tokens and demo files go
#                         (default: run/ in the checkout; a reset deletes only what this
#                         script puts there)
#   LEERPLEK_BIN          a folder holding already-built leerplekd, leerplek and leerplek-gen:
#                         use them and skip the install and build steps (the test suite does this)
#   LEERPLEK_PORT         the API port on 127.0.0.1 (default 7411)
#   LEERPLEK_HTTP_PORT    the HTTP port on 127.0.0.1: /dashboard, /healthz, /metrics (default 7412)
#   LEERPLEK_LISTEN       the API address instead, host:port or unix:/path (wins over LEERPLEK_PORT)
#   LEERPLEK_HTTP_LISTEN  the HTTP address instead, host:port or unix:/path (wins over
#                         LEERPLEK_HTTP_PORT)
#   LEERPLEK_KEEP=1       reuse the previous run's store instead of resetting it
#   LEERPLEK_SEED         the demo dataset's random seed (default 1)
set -euo pipefail

absolute() { case $1 in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$PWD" "$1" ;; esac; }
run_dir=$(absolute "${LEERPLEK_RUN_DIR:-$(dirname "$0")/../run}")
given_bin=${LEERPLEK_BIN:+$(absolute "$LEERPLEK_BIN")}
cd "$(dirname "$0")/.."
top=$(pwd)
run_dir=$(mkdir -p "$run_dir" && cd "$run_dir" && pwd)

redis_socket=$run_dir/redis.sock
api_address=${LEERPLEK_LISTEN:-127.0.0.1:${LEERPLEK_PORT:-7411}}
http_address=${LEERPLEK_HTTP_LISTEN:-127.0.0.1:${LEERPLEK_HTTP_PORT:-7412}}
seed=${LEERPLEK_SEED:-1}

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'main.sh: %s\n' "$*" >&2; exit 1; }
# A path as the user can type it from the checkout: relative when inside it.
shown() { case $1 in "$top"/*) printf '%s' "${1#"$top"/}" ;; *) printf '%s' "$1" ;; esac; }

# running <pid> <name>: the process exists, is not a zombie (nobody may reap the daemons once
# this script exited) and, where /proc tells, is <name> (not a recycled pid).
running() {
  kill -0 "$1" 2>/dev/null || return 1
  [ -r "/proc/$1/stat" ] || return 0
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
  [ "$state" != Z ] && [ "$state" != X ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]
}

# stop_pidfile <file> <name>: SIGTERM to the process named there, wait until it is gone.
stop_pidfile() {
  local file=$1 name=$2 pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if [[ $pid =~ ^[0-9]+$ ]] && running "$pid" "$name"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 200); do running "$pid" "$name" || break; sleep 0.1; done
    if running "$pid" "$name"; then
      echo "  $name (pid $pid) did not stop within 20 s" >&2
      return 1
    fi
    echo "  stopped $name (pid $pid)"
    stopped_any=1
  fi
  rm -f "$file"
}

# The daemon first, so that it answers what is in flight while Redis still takes writes.
stopped_any=0
stop_everything() {
  stop_pidfile "$run_dir/leerplekd.pid" leerplekd
  stop_pidfile "$run_dir/redis.pid" redis-server
}

wait_for() { # wait_for <seconds> <command...>: polls until the command succeeds
  local seconds=$1; shift
  for _ in $(seq $((seconds * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

if [ "${1:-}" = stop ]; then
  stop_everything
  [ "$stopped_any" = 1 ] || echo "  nothing was running from $(shown "$run_dir")"
  echo "leerplekd and redis-server are stopped (data kept in $(shown "$run_dir"))"
  exit 0
elif [ $# -gt 0 ]; then
  fail "unknown argument \"$1\" (usage: bash deploy/main.sh [stop])"
fi

# Shows cmake's [NN%] lines as they come: on a terminal on one line that is rewritten, else
# one line per further 10 %. Everything stays in the log.
build_progress() {
  local tty=0
  [ -t 1 ] && tty=1
  awk -v tty="$tty" '
    /^\[ *[0-9]+%\] (Building|Linking)/ {
      percent = substr($0, 2, index($0, "%") - 2) + 0
      work++
      if (tty) { printf "\r\033[K  %s", substr($0, 1, 110); open = 1 }
      else if (percent >= next_percent) {
        print "  " $0
        while (next_percent <= percent) next_percent += 10
      }
      fflush()
    }
    END {
      if (open) printf "\n"
      if (work == 0) print "  up to date"
    }'
}

if [ -n "$given_bin" ]; then
  bin=$given_bin
  step "programs from $(shown "$bin") (LEERPLEK_BIN: no install, no build)"
  for program in leerplekd leerplek leerplek-gen; do
    [ -x "$bin/$program" ] || fail "$bin/$program is missing (LEERPLEK_BIN must hold leerplekd, leerplek and leerplek-gen)"
  done
else
  mkdir -p build
  step "install what is missing (apt output in build/main-install.log)"
  : >"$top/build/main-install.log"
  LEERPLEK_INSTALL_LOG=$top/build/main-install.log bash deploy/install-deps.sh | sed 's/^install-deps: /  /'

  build_log=$top/build/main-build.log
  step "build (build/, full log in build/main-build.log)"
  if ! cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build_log" 2>&1; then
    tail -n 30 "$build_log"
    fail "cmake could not configure build/ (log: build/main-build.log)"
  fi
  if ! cmake --build build -j "$(nproc)" --target leerplekd leerplek leerplek-gen leerplek-solve leerplek-translations 2>&1 |
      tee -a "$build_log" | build_progress; then
    grep -E 'error|Error' "$build_log" | head -n 30
    fail "the build failed (log: build/main-build.log)"
  fi
  bin=$top/build/bin
  echo "  built leerplekd, leerplek, leerplek-gen and leerplek-solve in build/bin"
fi

# The tool's --json output is read with jq (install-deps.sh installs it; LEERPLEK_BIN skips that).
command -v jq >/dev/null || fail "jq is missing (bash deploy/install-deps.sh installs it)"
[ ${#redis_socket} -lt 104 ] || fail "the run folder's path is too long for a unix socket: $run_dir"

step "stop what a previous run started"
stop_everything
[ "$stopped_any" = 1 ] || echo "  nothing was running"

# A TCP address another program listens on (a daemon of another run folder, say) would answer
# our health check and our calls: refuse it up front. Unix sockets live in the run folder.
in_use() {
  [[ $1 == unix:* ]] && return 1
  (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null
}
for address in "$api_address" "$http_address"; do
  ! in_use "$address" ||
    fail "$address is in use by another program (a leerplekd of another LEERPLEK_RUN_DIR?): stop it or set LEERPLEK_PORT and LEERPLEK_HTTP_PORT"
done

if [ "${LEERPLEK_KEEP:-0}" = 1 ] && [ -d "$run_dir/redis" ]; then
  step "store: reusing the store in $(shown "$run_dir/redis") (LEERPLEK_KEEP=1; the demo data is imported again over it)"
else
  if [ -d "$run_dir/redis" ]; then
    step "store: reset, the previous store in $(shown "$run_dir/redis") is deleted (LEERPLEK_KEEP=1 reuses it)"
  else
    step "store: new, in $(shown "$run_dir/redis")"
  fi
  # Only what this script puts there: LEERPLEK_RUN_DIR may name a folder holding other things.
  rm -rf "$run_dir/redis" "$run_dir/demo" "$run_dir/tokens.txt" "$run_dir/redis.log" \
    "$run_dir/leerplekd.log" "$run_dir/demo-overview.txt" "$run_dir/rematch.txt" \
    "$run_dir/report.json" "$run_dir/waiting.txt" "$run_dir/rematch.json" \
    "$run_dir/proposals.json" "$run_dir/locations.json" "$redis_socket"
fi
mkdir -p "$run_dir/redis"

step "start redis-server (AOF, unix socket $(shown "$redis_socket"))"
# appendfsync everysec, not the production config's always: a demo on one machine, where a
# power cut may take the last second of changes (deploy/redis/redis.conf explains both).
redis-server --port 0 --unixsocket "$redis_socket" --unixsocketperm 700 \
  --appendonly yes --appendfsync everysec --dir "$run_dir/redis" --save '' \
  --daemonize yes --pidfile "$run_dir/redis.pid" --logfile "$run_dir/redis.log"
# PONG, not just an answer: while it loads the AOF it answers LOADING (and redis-cli exits 0).
redis_ready() { [ "$(redis-cli -s "$redis_socket" ping 2>/dev/null)" = PONG ]; }
wait_for 30 redis_ready || fail "redis-server did not start: $run_dir/redis.log"

daemon_flags=(--config deploy/leerplekd.conf --redis "unix:$redis_socket" --listen "$api_address"
              --http_listen "$http_address" --log_level info)
if [ ! -f "$run_dir/tokens.txt" ]; then
  step "create the first admin token"
  admin_token=$("$bin/leerplekd" "${daemon_flags[@]}" --create-admin-token 2>>"$run_dir/leerplekd.log" |
                grep -o 'lp1\.[0-9a-f.]*' | head -1) || true
  [ -n "$admin_token" ] || fail "could not create the admin token (see $run_dir/leerplekd.log)"
fi

step "generate the Antwerp demo dataset (seed $seed) -> $(shown "$run_dir/demo")"
"$bin/leerplek-gen" --demo "$run_dir/demo" --seed "$seed" >"$run_dir/demo-overview.txt"
sed -n '1,4p' "$run_dir/demo-overview.txt"
echo "  (pupils and seats per training and per area: $(shown "$run_dir/demo-overview.txt"))"
# The dashboard's trend: the demo's earlier snapshot (the network's October figure), kept if
# the store has one already (LEERPLEK_KEEP=1); the daemon reads lp:trend:* when it starts.
while read -r day figures; do
  [ -n "$day" ] || continue
  redis-cli -s "$redis_socket" SET "lp:trend:$day" "$figures" NX >/dev/null
done <"$run_dir/demo/trend.txt"

# HTTP over TCP or a unix socket: the base URL and the curl options that reach it.
if [[ $http_address == unix:* ]]; then
  http_socket=${http_address#unix:}
  http_base=http://localhost
  curl_to_http=(curl --unix-socket "$http_socket")
else
  http_base=http://$http_address
  curl_to_http=(curl)
fi

step "start leerplekd on $api_address (HTTP $http_address, log $(shown "$run_dir/leerplekd.log"))"
"$bin/leerplekd" "${daemon_flags[@]}" >>"$run_dir/leerplekd.log" 2>&1 </dev/null &
daemon_pid=$!
echo "$daemon_pid" >"$run_dir/leerplekd.pid"
ready=0
for _ in $(seq 200); do
  if "${curl_to_http[@]}" --noproxy '*' -sf -o /dev/null "$http_base/healthz" 2>/dev/null; then ready=1; break; fi
  kill -0 "$daemon_pid" 2>/dev/null || break
  sleep 0.1
done
if [ "$ready" != 1 ]; then
  tail -n 20 "$run_dir/leerplekd.log" >&2
  fail "leerplekd is not ready (log: $run_dir/leerplekd.log)"
fi
echo "  ready (pid $daemon_pid)"

export LEERPLEK_ADDRESS=$api_address
new_token() { # new_token <admin token> <create-token flags...>: prints the new token
  local admin=$1; shift
  LEERPLEK_TOKEN=$admin "$bin/leerplek" --json admin create-token "$@" | jq -r '.token // empty'
}
if [ ! -f "$run_dir/tokens.txt" ]; then
  step "create the coordinator token -> $(shown "$run_dir/tokens.txt")"
  coordinator_token=$(new_token "$admin_token" --role coordinator --label "demo coordinator")
  [ -n "$coordinator_token" ] || fail "could not create the coordinator token"
  (
    umask 077
    printf 'admin        %s\ncoordinator  %s\n' "$admin_token" "$coordinator_token" >"$run_dir/tokens.txt"
  )
  chmod 600 "$run_dir/tokens.txt"
else
  step "tokens: reusing $(shown "$run_dir/tokens.txt")"
fi
coordinator_token=$(awk '$1 == "coordinator" {print $2}' "$run_dir/tokens.txt")
admin_token=$(awk '$1 == "admin" {print $2}' "$run_dir/tokens.txt")


step "import it (each file checked whole first, then pipelined)"
export LEERPLEK_TOKEN=$coordinator_token
# The pupils of the agreements are registered without a request (import agreements places
# them and records their agreements, so a second run finds them recorded and leaves them).
files=(trainings companies locations vacancies pupils agreement-pupils agreements organisations offers referrals)
for i in "${!files[@]}"; do
  file=${files[$i]}
  kind=${file#agreement-}
  flags=()
  [ "$file" = pupils ] && flags=(--request)
  printf '  %d/%d ' $((i + 1)) ${#files[@]}
  "$bin/leerplek" import "$kind" "$run_dir/demo/$file.csv" "${flags[@]}"
done

step "rematch (the nightly job, run now; its output with the first changes: $(shown "$run_dir/rematch.txt"))"
"$bin/leerplek" coordinator rematch >"$run_dir/rematch.txt"
sed '/^  \(changes\|wijzigingen\):/,$d' "$run_dir/rematch.txt"

# The headline: pupils proposed by this rematch (both sides still to answer), those already
# accepted or with an agreement (kept as they were: the demo's running agreements), and the rest.
# The figures come from the tool's --json (proto field names, whatever the language): the
# report's last_rematch (the same RematchResult the table above shows) and its headline.
"$bin/leerplek" --json coordinator report >"$run_dir/report.json"
jq '.report.last_rematch' "$run_dir/report.json" >"$run_dir/rematch.json"
figure() { jq -r --arg key "$1" '.[$key] | if . == null then 0 else . end' "$run_dir/rematch.json"; }
# A reason in the language of the tool's tables (its own catalogue, beside bin/ as the tool
# looks for it): what the table above says, in the same words.
reason_text() {
  if command -v gettext >/dev/null; then
    TEXTDOMAINDIR=$bin/../share/locale gettext -d leerplek -c value "$1"
  else
    printf '%s' "$1"
  fi
}
# RematchResult.placed counts proposals, .fixed the accepted and agreement placements kept.
proposed=$(figure placed)
kept=$(figure fixed)
unplaced=$(figure unplaced)
reasons=
while read -r reason pupils; do
  [ -n "$reason" ] || continue
  reasons+=${reasons:+, }"$(reason_text "$reason") $pupils"
done < <(jq -r '.unplaced_by_reason[]? | "\(.reason) \(.pupils)"' "$run_dir/rematch.json")
step "result: $proposed pupils proposed, $kept accepted or with an agreement, $unplaced unplaced (of $((proposed + kept + unplaced)) pupils with a placement request)"
echo "  proposed: a workplace proposed to both sides, who still have to answer ($(figure newly_proposed) of them new in this rematch); accepted: both said yes; agreement: the OAO is signed"
# The agreements the demo starts with, from the report's headline.
headline() { jq -r --arg key "$1" '.report.headline[$key] // 0' "$run_dir/report.json"; }
agreements_all=$(headline agreements_all)
agreements_signed=$(headline agreements)
agreements_running=$(headline agreements_running)
echo "  agreements: $agreements_all in all, $agreements_running running, $((agreements_all - agreements_signed)) ended (the SamDuLeA dashboard of February 2022: 367 in all, 321 running; each pupil holds one)"
echo "  why unplaced: ${reasons:-nobody is unplaced}"
if [ "$(figure proven_optimal)" = true ]; then
  echo "  proof: proven optimal (objective $(figure objective) = dual bound $(figure dual_bound), checked by the verifier)"
else
  echo "  proof: not proven optimal (see $run_dir/rematch.txt)"
fi
echo "  hints: $(figure hints_checked) of the $unplaced unplaced pupils have a hint checked by re-solving (in the waiting list)"

step "report (headline, per training, per district, the shortages, the unplaced reasons)"
"$bin/leerplek" coordinator report

step "the shared waiting list (first 15)"
"$bin/leerplek" coordinator waiting >"$run_dir/waiting.txt"
head -n 16 "$run_dir/waiting.txt"  # the header and 15 pupils

step "dispatch the preparatory track (referrals of the not-ready pupils to the support organisations' offers; output: $(shown "$run_dir/dispatch.txt"))"
"$bin/leerplek" coordinator dispatch >"$run_dir/dispatch.txt"
head -n 12 "$run_dir/dispatch.txt"

step "the central registration point, per partner (days from request to start; every request: coordinator requests)"
"$bin/leerplek" coordinator requests --by partner

# tokens.txt: "<role> <token> [<school or company id>]" per line.
# The id of the school or company a token was made for (the demo plan's first one for a
# tokens.txt without ids).
scope_of() {
  local id
  id=$(awk -v role="$1" '$1 == role {print $3; exit}' "$run_dir/tokens.txt")
  [ -n "$id" ] || id=$(first_in_plan "$1")
  printf '%s' "$id"
}
first_in_plan() { awk -v role="$1" '$1 == role {sub(role ":", "", $2); print $2; exit}' "$run_dir/demo/tokens-plan.txt"; }
if ! grep -q '^school ' "$run_dir/tokens.txt" || ! grep -q '^company ' "$run_dir/tokens.txt"; then
  step "tokens for a demo school and company -> $(shown "$run_dir/tokens.txt")"
fi
if ! grep -q '^school ' "$run_dir/tokens.txt"; then
  school=$(first_in_plan school)
  school_token=$(new_token "$admin_token" --role school --scope "$school" --label "demo school")
  [ -n "$school_token" ] || fail "could not create the school token"
  printf 'school       %s  %s\n' "$school_token" "$school" >>"$run_dir/tokens.txt"
  echo "  school $school (the first school of the demo)"
fi
school=$(scope_of school)

# The demo company: the one with the most proposals (ties: the smallest id), so that trying
# the CLI as it shows some. Proposals name their location, locations their company.
if ! grep -q '^company ' "$run_dir/tokens.txt"; then
  "$bin/leerplek" --json coordinator proposals >"$run_dir/proposals.json"
  "$bin/leerplek" --json coordinator locations >"$run_dir/locations.json"
  company=$(jq -rn --slurpfile proposals "$run_dir/proposals.json" --slurpfile locations "$run_dir/locations.json" '
    ($locations[0] | map({key: .id, value: .company_id}) | from_entries) as $company_of
    | [$proposals[0][] | $company_of[.location_id] // empty | select(. != "")]
    | group_by(.) | map({company: .[0], proposals: length})
    | sort_by(-.proposals, .company) | .[0].company // empty')
  rm -f "$run_dir/proposals.json" "$run_dir/locations.json"
  [ -n "$company" ] ||
    company=$(first_in_plan company)
  company_token=$(new_token "$admin_token" --role company --scope "$company" --label "demo company")
  [ -n "$company_token" ] || fail "could not create the company token"
  printf 'company      %s  %s\n' "$company_token" "$company" >>"$run_dir/tokens.txt"
  echo "  company $company (the one with the most proposals)"
fi
company=$(scope_of company)

if [[ $http_address == unix:* ]]; then
  dashboard="$http_base/dashboard through the unix socket: curl --unix-socket $http_socket $http_base/dashboard"
  metrics="curl --unix-socket $http_socket $http_base/metrics (and /healthz)"
else
  dashboard="$http_base/dashboard (open it in a browser)"
  metrics="$http_base/metrics   $http_base/healthz"
fi
stop_command="bash deploy/main.sh stop"
[ -z "${LEERPLEK_RUN_DIR:-}" ] || stop_command="LEERPLEK_RUN_DIR=$run_dir $stop_command"
tokens=$(shown "$run_dir/tokens.txt")
cli=$(shown "$bin/leerplek")
token_of() { printf "LEERPLEK_TOKEN=\$(awk '\$1 == \"%s\" {print \$2}' %s)" "$1" "$tokens"; }

cat <<EOF

== where to look next
  dashboard:           $dashboard
  metrics and health:  $metrics
  tokens:              $tokens (admin, coordinator, school $school, company $company; keep them secret)
  logs:                $(shown "$run_dir/leerplekd.log")   $(shown "$run_dir/redis.log")
  try the CLI, from $top:
    export LEERPLEK_ADDRESS=$api_address
    $(printf '%-24s' "as a coordinator:") $(token_of coordinator) $cli coordinator placements
    $(printf '%-24s' "as school $school:") $(token_of school) $cli school placements
    $(printf '%-24s' "as company $company:") $(token_of company) $cli company proposals
    $(printf '%-24s' "every command:") $cli --help
  stop it:             $stop_command
EOF
