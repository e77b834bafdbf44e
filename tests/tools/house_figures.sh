#!/usr/bin/env bash
# The house figures of issue 10, to compare before and after a restructuring: the longest
# functions, duplicate pairs and include circles (house_figures.py), and, given a -O0 build,
# the files a reader opens to follow one register_pupil and one run_rematch through leerplekd
# (every function entered, traced with gdb on a real redis-server and leerplekd).
#   bash tests/tools/house_figures.sh                 # static figures only
#   bash tests/tools/house_figures.sh /tmp/b-debug    # and the request paths (a Debug build dir)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
python3 "$root/tests/tools/house_figures.py" "$root"
build=${1:-}
[ -n "$build" ] || exit 0
bin=$build/bin
for tool in gdb redis-server redis-cli ctags; do command -v $tool >/dev/null || { echo "no $tool: no path figures"; exit 0; }; done

work=$(mktemp -d)
cleanup() {
  [ -n "${daemon_pid:-}" ] && kill "$daemon_pid" 2>/dev/null || true
  redis-cli -s "$work/redis.sock" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
redis-server --port 0 --unixsocket "$work/redis.sock" --save '' --appendonly no --dir "$work" \
             --daemonize yes --logfile "$work/redis.log"
until [ "$(redis-cli -s "$work/redis.sock" ping 2>/dev/null)" = PONG ]; do sleep 0.1; done
admin=$("$bin/leerplekd" --redis "unix:$work/redis.sock" --create-admin-token 2>/dev/null | grep -o 'lp1\.[0-9a-f.]*' | head -1)
port=$((20000 + RANDOM % 8000))
"$bin/leerplekd" --redis "unix:$work/redis.sock" --listen "127.0.0.1:$port" --log_level warn 2>"$work/daemon.log" &
daemon_pid=$!
export LEERPLEK_ADDRESS=127.0.0.1:$port
until LEERPLEK_TOKEN=$admin "$bin/leerplek" admin tokens >/dev/null 2>&1; do sleep 0.2; done
LEERPLEK_TOKEN=$admin "$bin/leerplek" admin create-token --role coordinator --label figures >"$work/token.txt"
export LEERPLEK_TOKEN=$(grep -o 'lp1\.[0-9a-f.]*' "$work/token.txt" | head -1)
for kind in trainings companies locations vacancies pupils; do
  "$bin/leerplek" import $kind "$root/tests/cli/data/$kind.csv" >/dev/null
done
(cd "$root" && ctags --fields=+n --kinds-C=f --language-force=C -o - daemon/*.c) | awk -F'\t' '{print $2, $1}' >"$work/functions.txt"

trace() { # trace <name> <leerplek arguments...>: the entries of one call, into $work/<name>.log
  local name=$1; shift
  rm -f "$work/ready"
  TRACE_LOG=$work/$name.log TRACE_READY=$work/ready TRACE_FUNCTIONS=$work/functions.txt \
    gdb -p "$daemon_pid" -batch -nx -x "$root/tests/tools/trace_path.py" >"$work/gdb-$name.txt" 2>&1 &
  local gdb_pid=$!
  until [ -f "$work/ready" ]; do sleep 0.2; done
  "$bin/leerplek" "$@" >/dev/null
  kill -INT "$gdb_pid"
  wait "$gdb_pid" || true
  python3 - "$work/$name.log" "$root/daemon" "$name" <<'PY'
import collections, os, re, sys
log, daemon, name = sys.argv[1:]
entries = [l.split() for l in open(log) if not l.startswith("#")]
# From the moment the server reads the request (timers that fired before are not on its path).
first = next(i for i, e in enumerate(entries) if e[1] == "lp_server.c")
entries = entries[first:]
headers = {h: open(os.path.join(daemon, h)).read() for h in os.listdir(daemon) if h.endswith(".h")}
# Leaf libraries every layer may call (memory, logging, the maps, tokens, record copies): not
# steps of the request's path. The rest are the files a reader follows the request through.
UTILITY = {"lp_alloc.c", "lp_log.c", "lp_state.c", "lp_pool.c", "lp_records.c", "lp_auth.c"}
def figures(entries, skip):
    files, opened, into, switches = [], set(), collections.Counter(), 0
    for thread, here, function, there in entries:
        if here in skip:
            continue
        if here not in files:
            files.append(here)
        if there != here:
            switches += 1
            into[here] += 1
            for header, text in headers.items():
                if re.search(r"\b%s\s*\(" % re.escape(function), text):
                    opened.add(header)
    return files, opened, into, switches
for label, skip in (("every daemon file", set()), ("without " + ", ".join(sorted(UTILITY)), UTILITY)):
    files, opened, into, switches = figures(entries, skip)
    print(f"== {name}, {label}: {len(files)} .c files, {len(opened)} headers declaring a function called from "
          f"another file, {switches} calls from another file (or the loop)")
    print("   files in order first entered: " + " ".join(files))
    print("   headers: " + " ".join(sorted(opened)))
    print("   entered from another file (or the loop): " + ", ".join(f"{f} {n}" for f, n in into.most_common()))
PY
}
trace register_pupil school register --school VT001 --ref FIG-1 --training ELEKTRO-INST --readiness ready \
      --postcode 2060 --lat 51.22 --lon 4.42 --max-commute-km 12 --days mon,tue
trace run_rematch coordinator rematch
