#!/usr/bin/env bash
# test_install.sh BUILD_DIR PREFIX LIBDIR CC [CFLAG...]: `cmake --install` of this build into a
# temporary DESTDIR, then what an installed leerplek is for: every file where it belongs, a C
# program from outside the project (install_client.c) compiled and linked against libleerplek
# with only `pkg-config --cflags --libs leerplek`, and that program, the installed leerplekd
# (on a private redis-server) and the installed leerplek (its catalogue found) working together.
# Extra CFLAGs are the build's sanitizer flags, which its static libraries need at link time.
set -uo pipefail
build_dir=$1 prefix=$2 libdir=$3 cc=$4
shift 4
extra_cflags=("$@")
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
redis_pid= daemon_pid=
cleanup() {
  [ -z "$daemon_pid" ] || kill "$daemon_pid" 2>/dev/null
  [ -z "$redis_pid" ] || kill "$redis_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
passed=0 failed=0
ok() { echo "ok $*"; passed=$((passed + 1)); }
not_ok() { echo "FAILED $*"; failed=$((failed + 1)); }
expect() { # expect <what> <command...>
  local what=$1; shift
  if "$@" >"$tmp/last.log" 2>&1; then ok "$what"; else not_ok "$what"; sed 's/^/    /' "$tmp/last.log"; return 1; fi
}
finish() { echo "install: $passed passed, $failed failed"; [ "$failed" = 0 ] && [ "$passed" -gt 0 ]; exit $?; }

dest=$tmp/dest
# A relative LIBDIR (the GNUInstallDirs default) lies under the prefix.
case $libdir in /*) ;; *) libdir=$prefix/$libdir ;; esac
root=$dest$prefix
expect "cmake --install into DESTDIR" env DESTDIR="$dest" cmake --install "$build_dir" || finish

for file in bin/leerplekd bin/leerplek bin/leerplek-solve bin/leerplek-gen \
            include/leerplek/libleerplek.h include/leerplek/leerplek.pb-c.h \
            share/locale/nl/LC_MESSAGES/leerplek.mo share/locale/nl/LC_MESSAGES/leerplekd.mo \
            share/leerplek/leerplekd.conf; do
  expect "installed $file" test -s "$root/$file"
done
for file in libleerplek.a libleerplek_proto.a pkgconfig/leerplek.pc; do
  expect "installed ${libdir#"$prefix"/}/$file" test -s "$dest$libdir/$file"
done

# pkg-config reads the installed leerplek.pc, whose paths name the real prefix: the sysroot
# variable puts DESTDIR in front of them, as for any staged install.
export PKG_CONFIG_PATH=$dest$libdir/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
flags=$(pkg-config --cflags --libs leerplek 2>"$tmp/pkg-config.log")
expect "pkg-config --cflags --libs leerplek" test -n "$flags" || { cat "$tmp/pkg-config.log"; finish; }
[[ $flags == *"-I$dest"* && $flags == *"-lleerplek"* ]] && ok "the flags name the installed headers and libleerplek ($flags)" ||
  not_ok "the flags name the installed headers and libleerplek: $flags"
# Only the flags pkg-config gave: nothing of the source or build tree is on the command line.
# shellcheck disable=SC2086 # $flags is a list of words
expect "install_client.c compiles and links against the installed libleerplek" \
  "$cc" -std=c11 -Wall -Wextra -Werror "${extra_cflags[@]}" -o "$tmp/install_client" "$here/install_client.c" $flags ||
  finish

# The installed programs: leerplekd on a private redis-server, the first admin token, and the
# program just built talking to it.
sock=$tmp/redis.sock
redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 --dir "$tmp" --save '' --appendonly no \
  >"$tmp/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 100); do [ "$(redis-cli -s "$sock" ping 2>/dev/null)" = PONG ] && break; sleep 0.05; done
expect "redis-server answers" test "$(redis-cli -s "$sock" ping 2>/dev/null)" = PONG || finish
daemon_flags=(--config "$root/share/leerplek/leerplekd.conf" --redis "unix:$sock" --listen "unix:$tmp/api.sock"
              --http_listen "" --rematch_nightly_time "")
admin_token=$("$root/bin/leerplekd" "${daemon_flags[@]}" --create-admin-token 2>"$tmp/create-admin.log" |
              grep -o 'lp1\.[0-9a-f.]*' | head -1)
expect "the installed leerplekd creates the first admin token" test -n "$admin_token" || { cat "$tmp/create-admin.log"; finish; }
"$root/bin/leerplekd" "${daemon_flags[@]}" >"$tmp/leerplekd.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 200); do [ -S "$tmp/api.sock" ] && break; sleep 0.05; done
expect "the installed leerplekd listens (with the installed leerplekd.conf)" test -S "$tmp/api.sock" ||
  { cat "$tmp/leerplekd.log"; finish; }
expect "install_client lists the tokens through libleerplek" "$tmp/install_client" "unix:$tmp/api.sock" "$admin_token" &&
  sed 's/^/    /' "$tmp/last.log"
expect "the installed leerplek lists them too" \
  env LEERPLEK_ADDRESS="unix:$tmp/api.sock" LEERPLEK_TOKEN="$admin_token" "$root/bin/leerplek" --json admin tokens
# The installed tool finds its installed catalogue: its help in Dutch.
LANG=nl_BE.UTF-8 LANGUAGE= "$root/bin/leerplek" --help >"$tmp/help-nl.txt" 2>&1
LANG=C.UTF-8 LANGUAGE= "$root/bin/leerplek" --help >"$tmp/help-en.txt" 2>&1
expect "the installed leerplek speaks Dutch from its installed catalogue" \
  bash -c '! cmp -s "$1" "$2" && grep -q "Gebruik" "$1"' _ "$tmp/help-nl.txt" "$tmp/help-en.txt"
finish
