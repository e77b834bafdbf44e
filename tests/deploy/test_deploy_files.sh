#!/usr/bin/env bash
# The production deployment files in deploy/, exercised for real (no root needed):
# - deploy/redis/redis.conf with the ACL users of deploy/redis/users.acl.example: Redis demands
#   a password, the persistence settings are on, the daemon's user cannot run dangerous
#   commands, a missing ACL file stops Redis from starting;
# - the real leerplekd against that Redis with --redis_password_file: healthy, tokens, a
#   rematch (every Redis command it sends passes the ACL), clean exit on SIGTERM; with a wrong
#   or empty password it never becomes healthy and says why;
# - the backup procedure of deploy/README.md: copy appendonlydir with rewrites paused, start a
#   new Redis on the copy, the daemon loads the same tokens;
# - deploy/redis/sentinel.conf loads and monitors "leerplek" with quorum 2;
# - the systemd units pass `systemd-analyze verify` (skipped only where it does not exist) and
#   LimitNOFILE covers max_connections;
# - the container's runtime packages cover every library the binaries link against.
# Everything listens on unix sockets in a private directory, so no port can clash
# (KEEP=1 keeps that directory, with the logs, for a look afterwards).
#
# usage: test_deploy_files.sh LEERPLEKD LEERPLEK      (ctest passes the built targets)
set -uo pipefail

leerplekd=$(readlink -f "${1:?usage: test_deploy_files.sh LEERPLEKD LEERPLEK}")
leerplek=$(readlink -f "${2:?usage: test_deploy_files.sh LEERPLEKD LEERPLEK}")
src=$(cd "$(dirname "$0")/../.." && pwd)
deploy=$src/deploy

for tool in redis-server redis-cli curl sha256sum; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing (deploy/install-deps.sh installs it)"; exit 1; }
done

# Short paths: a unix socket path holds at most 107 bytes.
tmp=$(mktemp -d /tmp/lp-deploy.XXXXXX)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
# expect <description> <command...>: the command must succeed.
expect() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }
wait_for() { # wait_for <seconds> <command...>
  local seconds=$1; shift
  for _ in $(seq $((seconds * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}
quietly() { "$@" >/dev/null 2>&1; }
show_log() { echo "---- $1"; tail -n 20 "$1"; echo "----"; }

# ---- Redis with the production config --------------------------------------------------------

daemon_password=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
ops_password=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
hash() { printf %s "$1" | sha256sum | cut -d' ' -f1; }

# users.acl as the README makes it: the "user " lines of the example, placeholders filled.
grep '^user ' "$deploy/redis/users.acl.example" |
  sed "s/DAEMON_PASSWORD_SHA256/$(hash "$daemon_password")/; s/OPS_PASSWORD_SHA256/$(hash "$ops_password")/" \
    >"$tmp/users.acl"
printf '%s\n' "$daemon_password" >"$tmp/redis-password"
chmod 600 "$tmp/redis-password" "$tmp/users.acl"

# redis.conf exactly as shipped, installed where deploy/README.md puts it (here under $tmp/etc)
# and started from a working folder that is neither its own nor the data's, as systemd does
# (from /). The machine-specific settings (port, unix socket, dir, ACL file, foreground, log
# file) are given on the command line, as an operator would for a second instance.
mkdir -p "$tmp/etc/redis-leerplek"
install -m 0644 "$deploy/redis/redis.conf" "$tmp/etc/redis-leerplek/redis.conf"
conf=$tmp/etc/redis-leerplek/redis.conf
expect "the installed redis.conf is the shipped one" cmp -s "$conf" "$deploy/redis/redis.conf"

start_redis() { # start_redis <name> <data dir> <acl file>: socket $tmp/<name>.sock, log $tmp/<name>.log
  local name=$1 data=$2 acl=$3
  mkdir -p "$data"
  (cd / && exec redis-server "$conf" --port 0 --unixsocket "$tmp/$name.sock" --dir "$data" \
    --aclfile "$acl" --daemonize no --supervised no --logfile "$tmp/$name.log") &
  pids+=($!)
  wait_for 10 test -S "$tmp/$name.sock"
}

expect "redis-server starts from deploy/redis/redis.conf" start_redis redis "$tmp/data" "$tmp/users.acl" ||
  { show_log "$tmp/redis.log"; exit 1; }
sock=$tmp/redis.sock
as_daemon() { redis-cli -s "$sock" --no-auth-warning -a "$daemon_password" "$@"; }  # AUTH <password>, as leerplekd
as_ops() { redis-cli -s "$sock" --no-auth-warning --user ops --pass "$ops_password" "$@"; }

expect "without a password Redis answers NOAUTH" grep -q NOAUTH <(redis-cli -s "$sock" ping 2>&1)
expect "a wrong password is refused" grep -q WRONGPASS <(redis-cli -s "$sock" --no-auth-warning -a wrong ping 2>&1)
expect "the daemon's password works (AUTH <password>)" test "$(as_daemon ping)" = PONG
config() { as_ops config get "$1" | sed -n 2p; }
expect "appendonly is yes" test "$(config appendonly)" = yes
expect "appendfsync is always (acknowledged = on disk)" test "$(config appendfsync)" = always
expect "the data is in --dir, not in the working folder /" test "$(config dir)" = "$tmp/data"
expect "aof-use-rdb-preamble is yes" test "$(config aof-use-rdb-preamble)" = yes
expect "maxmemory-policy is noeviction" test "$(config maxmemory-policy)" = noeviction
expect "maxmemory is set" test "$(config maxmemory)" -gt 0
expect "no RDB snapshots (save is empty)" test -z "$(config save)"
expect "TCP only on loopback" test "$(config bind)" = "127.0.0.1 -::1"
expect "the AOF is in appendonlydir (Redis 7 multi-part AOF)" test -f "$tmp/data/appendonlydir/appendonly.aof.manifest"
expect "the daemon's user cannot FLUSHALL" grep -q NOPERM <(as_daemon flushall 2>&1)
expect "the daemon's user cannot CONFIG SET" grep -q NOPERM <(as_daemon config set dir /tmp 2>&1)
expect "the daemon's user cannot touch keys outside lp:*" grep -q NOPERM <(as_daemon set other 1 2>&1)
expect "the daemon's user can write lp:* keys in MULTI/EXEC" \
  grep -q OK <(printf 'MULTI\nSET lp:deploytest 1\nDEL lp:deploytest\nEXEC\n' | as_daemon 2>&1)

# The commented users for Sentinel setups must load too.
sed -n 's/^\(# \)\{0,1\}\(user .*\)/\2/p' "$deploy/redis/users.acl.example" |
  sed -E "s/[A-Z_]+_PASSWORD_SHA256/$(hash x)/" >"$tmp/users-sentinel.acl"
if start_redis acl-check "$tmp/acl-check" "$tmp/users-sentinel.acl"; then
  users=$(redis-cli -s "$tmp/acl-check.sock" --no-auth-warning --user ops --pass x acl users | sort | tr '\n' ' ')
  expect "the Sentinel users of users.acl.example load (default haproxy ops replica sentinel)" \
    test "$users" = "default haproxy ops replica sentinel "
  redis-cli -s "$tmp/acl-check.sock" --no-auth-warning --user ops --pass x shutdown nosave >/dev/null 2>&1
else
  fail "the Sentinel users of users.acl.example load"; show_log "$tmp/acl-check.log"
fi

# No ACL file, no Redis (never a Redis without passwords).
redis-server "$conf" --port 0 --unixsocket "$tmp/noacl.sock" --dir "$tmp" \
  --aclfile "$tmp/missing.acl" --daemonize no --supervised no --logfile "$tmp/noacl.log" &
noacl_pid=$!
pids+=("$noacl_pid")
if wait_for 10 bash -c "! kill -0 $noacl_pid"; then
  wait "$noacl_pid"; status=$?
  expect "a missing ACL file stops Redis (exit status $status)" test "$status" -ne 0
else
  fail "a missing ACL file stops Redis (it is still running)"
fi

# As compose.yaml starts it: no --dir, the working folder is the data folder.
mkdir -p "$tmp/workdir"
(cd "$tmp/workdir" && exec redis-server "$conf" --port 0 --unixsocket "$tmp/workdir.sock" --aclfile "$tmp/users.acl" \
  --daemonize no --supervised no --logfile "$tmp/workdir.log") &
pids+=($!)
if wait_for 10 test -S "$tmp/workdir.sock"; then
  expect "without --dir the AOF goes to the working folder (compose.yaml's working_dir)" \
    wait_for 5 test -f "$tmp/workdir/appendonlydir/appendonly.aof.manifest"
  redis-cli -s "$tmp/workdir.sock" --no-auth-warning --user ops --pass "$ops_password" shutdown >/dev/null 2>&1
else
  fail "redis.conf starts without --dir from its working folder"; show_log "$tmp/workdir.log"
fi

# ---- leerplekd against it -----------------------------------------------------------------

daemon_flags=(--config "$deploy/leerplekd.conf" --redis "unix:$sock" --redis_password_file "$tmp/redis-password"
              --rematch_nightly_time= --log_level info)
help=$("$leerplekd" --help)
expect "leerplekd --help lists --redis_password_file" grep -q -- --redis_password_file <<<"$help"
admin_token=$("$leerplekd" "${daemon_flags[@]}" --create-admin-token 2>"$tmp/create-admin.log" | grep -o 'lp1\.[0-9a-f.]*' | head -1)
expect "leerplekd --create-admin-token prints the first admin token" test -n "$admin_token" ||
  show_log "$tmp/create-admin.log"

start_daemon() { # start_daemon <name> <flags...>: API $tmp/<name>.api, HTTP $tmp/<name>.http, log $tmp/<name>.log
  local name=$1; shift
  "$leerplekd" "$@" --listen "unix:$tmp/$name.api" --http_listen "unix:$tmp/$name.http" >"$tmp/$name.log" 2>&1 &
  last_pid=$!
  pids+=("$last_pid")
}
http_status() { # http_status <name> <path>
  curl -s -o /dev/null -w '%{http_code}' --max-time 2 --unix-socket "$tmp/$1.http" "http://localhost$2"
}
healthy() { test "$(http_status "$1" /healthz)" = 200; }

# follow_events 1 as in a scale-out: XREAD on the second connection goes through the ACL too.
start_daemon d1 "${daemon_flags[@]}" --follow_events 1
d1_pid=$last_pid
expect "leerplekd with --redis_password_file answers /healthz with 200" wait_for 15 healthy d1 || show_log "$tmp/d1.log"
expect "/metrics answers 200" test "$(http_status d1 /metrics)" = 200

cli() { # cli <name> <token> <args...>
  local name=$1 token=$2; shift 2
  LEERPLEK_TOKEN=$token "$leerplek" --address "unix:$tmp/$name.api" "$@"
}
coordinator_token=$(cli d1 "$admin_token" admin create-token --role coordinator --label "deploy coordinator" | grep -o 'lp1\.[0-9a-f.]*' | head -1)
expect "an admin creates a coordinator token" test -n "$coordinator_token"
school_token=$(cli d1 "$admin_token" admin create-token --role school --scope S01 --label "deploy school S01" | grep -o 'lp1\.[0-9a-f.]*' | head -1)
expect "an admin creates a school token (--role school --scope S01)" test -n "$school_token"
expect "admin tokens lists them" grep -q "deploy school S01" <(cli d1 "$admin_token" admin tokens --csv)
expect "a coordinator runs a rematch (lock SET NX PX, GET, MGET, MULTI/EXEC)" \
  quietly cli d1 "$coordinator_token" coordinator rematch
# The lock is released by an EVAL compare-and-delete; were EVAL refused, the lock would stay
# until its TTL and this second rematch would get ABORTED.
expect "a second rematch right after it runs (the lock was released with EVAL)" \
  quietly cli d1 "$coordinator_token" coordinator rematch
expect "the school token works before it is revoked" quietly cli d1 "$school_token" school pupils
school_id=$(cli d1 "$admin_token" admin tokens --role school --csv | awk -F, '/deploy school S01/ {print $1}')
expect "admin revoke-token revokes the school token" quietly cli d1 "$admin_token" admin revoke-token "$school_id"
expect "the revoked school token is refused" bash -c '! "$@" >/dev/null 2>&1' _ \
  env LEERPLEK_TOKEN="$school_token" "$leerplek" --address "unix:$tmp/d1.api" school pupils
expect "a valid token still works after the revocation" quietly cli d1 "$coordinator_token" coordinator waiting
expect "no Redis permission errors in the daemon's log" bash -c "! grep -Eqi 'NOPERM|NOAUTH' '$tmp/d1.log'" ||
  grep -Ei -m 3 'NOPERM|NOAUTH' "$tmp/d1.log"

# ---- backup and restore as deploy/README.md says ---------------------------------------------

previous=$(config auto-aof-rewrite-percentage)
as_ops config set auto-aof-rewrite-percentage 0 >/dev/null
wait_for 30 bash -c "redis-cli -s '$sock' --no-auth-warning --user ops --pass '$ops_password' info persistence | grep -q '^aof_rewrite_in_progress:0'"
mkdir -p "$tmp/backup"
cp -a "$tmp/data/appendonlydir" "$tmp/backup/"
as_ops config set auto-aof-rewrite-percentage "$previous" >/dev/null
expect "auto-aof-rewrite-percentage is back at $previous" test "$(config auto-aof-rewrite-percentage)" = "$previous"
expect "the backup holds the AOF manifest" test -f "$tmp/backup/appendonlydir/appendonly.aof.manifest"

expect "leerplekd exits 0 on SIGTERM" bash -c "kill -TERM $d1_pid; for _ in \$(seq 100); do kill -0 $d1_pid 2>/dev/null || break; sleep 0.1; done"
wait "$d1_pid"; status=$?
expect "its exit status is 0 (drained; systemd sees a clean stop)" test "$status" -eq 0

mkdir -p "$tmp/restored"
cp -a "$tmp/backup/appendonlydir" "$tmp/restored/"
expect "Redis starts from the restored appendonlydir" start_redis restored "$tmp/restored" "$tmp/users.acl" ||
  show_log "$tmp/restored.log"
start_daemon d2 "${daemon_flags[@]}" --redis "unix:$tmp/restored.sock"
expect "leerplekd on the restored store is healthy" wait_for 15 healthy d2 || show_log "$tmp/d2.log"
expect "the restored store has the tokens (coordinator token works, labels listed)" \
  grep -q "deploy coordinator" <(cli d2 "$admin_token" admin tokens --all --csv)
expect "the restored coordinator token works" quietly cli d2 "$coordinator_token" coordinator waiting

# ---- wrong or empty password ---------------------------------------------------------------

printf 'not-the-password\n' >"$tmp/wrong-password"
start_daemon wrong --config "$deploy/leerplekd.conf" --redis "unix:$sock" --redis_password_file "$tmp/wrong-password"
sleep 3
expect "with a wrong password leerplekd does not become healthy" bash -c "! test \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --unix-socket '$tmp/wrong.http' http://localhost/healthz)\" = 200"
expect "with a wrong password leerplekd logs the AUTH error" grep -Eq 'AUTH.*(WRONGPASS|invalid)|WRONGPASS' "$tmp/wrong.log" ||
  show_log "$tmp/wrong.log"

: >"$tmp/empty-password"
"$leerplekd" --config "$deploy/leerplekd.conf" --redis "unix:$sock" --redis_password_file "$tmp/empty-password" \
  --listen "unix:$tmp/empty.api" >"$tmp/empty.log" 2>&1 &
empty_pid=$!
pids+=("$empty_pid")
if wait_for 10 bash -c "! kill -0 $empty_pid"; then
  wait "$empty_pid"; status=$?
  expect "an empty password file stops leerplekd at start (exit $status)" test "$status" -ne 0
  expect "and it says which file" grep -q "$tmp/empty-password" "$tmp/empty.log"
else
  fail "an empty password file stops leerplekd at start (it is still running)"
fi

# ---- Sentinel ------------------------------------------------------------------------------

sed "s#^dir .*#dir $tmp#" "$deploy/redis/sentinel.conf" >"$tmp/sentinel.conf"
redis-server "$tmp/sentinel.conf" --sentinel --port 0 --bind 127.0.0.1 --unixsocket "$tmp/sentinel.sock" \
  --logfile "$tmp/sentinel.log" &
pids+=($!)
if wait_for 10 test -S "$tmp/sentinel.sock"; then
  sentinel_password=$(awk '$1 == "requirepass" {print $2}' "$deploy/redis/sentinel.conf")
  quorum=$(redis-cli -s "$tmp/sentinel.sock" --no-auth-warning -a "$sentinel_password" sentinel master leerplek |
    awk 'previous == "quorum" {print; exit} {previous = $0}')
  expect "sentinel.conf loads and monitors leerplek with quorum 2" test "$quorum" = 2
  expect "the sentinel demands its password" grep -q NOAUTH <(redis-cli -s "$tmp/sentinel.sock" ping 2>&1)
else
  fail "sentinel.conf loads"; show_log "$tmp/sentinel.log"
fi

# ---- systemd units -------------------------------------------------------------------------

for directive in User=leerplek NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
                 PrivateDevices=yes 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' CapabilityBoundingSet= \
                 SystemCallFilter=@system-service MemoryDenyWriteExecute=yes Restart=on-failure \
                 LoadCredential=redis-password:/etc/leerplek/redis-password; do
  expect "leerplekd.service has $directive" grep -qx "$directive" "$deploy/systemd/leerplekd.service"
done
expect "leerplekd.service passes the credential with --redis_password_file" \
  grep -qF -- '--redis_password_file ${CREDENTIALS_DIRECTORY}/redis-password' "$deploy/systemd/leerplekd.service"
max_connections=$(awk -F' *= *' '$1 == "max_connections" {print $2}' "$deploy/leerplekd.conf")
nofile=$(awk -F= '$1 == "LimitNOFILE" {print $2}' "$deploy/systemd/leerplekd.service")
expect "LimitNOFILE ($nofile) leaves room above max_connections ($max_connections)" \
  test "$nofile" -ge $((max_connections + 64))

if command -v systemd-analyze >/dev/null; then
  mkdir -p "$tmp/units"
  # The binaries at the paths of this machine; everything else as shipped.
  sed "s#/usr/local/bin/leerplekd#$leerplekd#" "$deploy/systemd/leerplekd.service" >"$tmp/units/leerplekd.service"
  sed "s#/usr/bin/redis-server#$(command -v redis-server)#" "$deploy/systemd/redis-leerplek.service" \
    >"$tmp/units/redis-leerplek.service"
  for unit in leerplekd.service redis-leerplek.service; do
    output=$(cd "$tmp/units" && SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no "./$unit" 2>&1); status=$?
    problems=$(printf '%s\n' "$output" | grep -F "$unit")
    if [ "$status" -eq 0 ] && [ -z "$problems" ]; then
      ok "systemd-analyze verify $unit"
    else
      fail "systemd-analyze verify $unit (exit $status):"; printf '%s\n' "$output"
    fi
  done
else
  echo "skip systemd-analyze verify: systemd-analyze is not installed here (the other unit checks ran)"
fi

# ---- container files -----------------------------------------------------------------------

containerfile=$deploy/container/Containerfile
for path in $(awk '$1 == "COPY" && $2 !~ /^--from/ {for (i = 2; i < NF; i++) print $i}' "$containerfile"); do
  expect "Containerfile copies $path, which exists" test -e "$src/$path"
done
expect "compose.yaml mounts deploy/redis/redis.conf" test -f "$deploy/container/../redis/redis.conf"
expect "the Containerfile exposes 7411 7412 and checks /healthz" \
  bash -c "grep -q '^EXPOSE 7411 7412\$' '$containerfile' && grep -q '^HEALTHCHECK' '$containerfile' && grep -q /healthz '$containerfile'"
if command -v dpkg-query >/dev/null && command -v ldd >/dev/null; then
  # The runtime stage's package list: the apt-get install of the last FROM.
  runtime=$(awk '/^FROM/ {stage = ""} {stage = stage "\n" $0} END {print stage}' "$containerfile" |
    sed -n '/apt-get install/,/rm -rf/p' | tr ' \\' '\n\n' | grep -E '^lib[a-z0-9.+-]+$' | sort -u)
  missing=""
  for library in $(ldd "$leerplekd" "$leerplek" | awk '$3 ~ /^\// {print $3}' | sort -u); do
    package=$(dpkg-query -S "$(readlink -f "$library")" 2>/dev/null | head -1 | cut -d: -f1)
    case "$package" in
      "" | libc6 | libgcc-s1 | libstdc++6 | libasan* | libubsan* | liblsan* | libtsan*) continue ;; # base image or sanitizer builds
    esac
    grep -qx "$package" <<<"$runtime" || missing="$missing $package($library)"
  done
  expect "the Containerfile's runtime packages cover every linked library${missing:+ (missing:$missing)}" test -z "$missing"
else
  echo "skip the runtime library check: no dpkg-query/ldd here"
fi

echo "deploy: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
