#!/usr/bin/env bash
# Lints proto/leerplek.proto with buf (STANDARD + COMMENTS rules). Installs buf from the npm
# package @bufbuild/buf into a cache directory outside the repository the first time.
#
#   proto/lint.sh              lint; exit status 0 when clean
#
# Environment:
#   BUF              use this buf binary instead of installing one
#   BUF_VERSION      npm version of @bufbuild/buf to install (default below)
#   LEERPLEK_BUF_DIR where to install it (default: ${XDG_CACHE_HOME:-$HOME/.cache}/leerplek/buf-<version>)
#
# Two runs:
#  1. with proto/buf.yaml as committed (STANDARD + COMMENTS, except PACKAGE_DIRECTORY_MATCH,
#     which the fixed repository layout cannot satisfy: the file is proto/leerplek.proto);
#  2. on a staged copy at leerplek/v1/leerplek.proto with STANDARD + COMMENTS and no
#     exceptions at all, so the exception in run 1 hides nothing else.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
version=${BUF_VERSION:-1.75.0}

if [ -z "${BUF:-}" ]; then
  dir=${LEERPLEK_BUF_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/leerplek/buf-$version}
  BUF=$dir/node_modules/.bin/buf
  if [ ! -x "$BUF" ]; then
    command -v npm >/dev/null || { echo "lint.sh: npm is needed to install buf (or set BUF=/path/to/buf)" >&2; exit 2; }
    echo "lint.sh: installing @bufbuild/buf@$version into $dir" >&2
    mkdir -p "$dir"
    [ -f "$dir/package.json" ] || printf '{"name":"leerplek-buf","private":true}\n' > "$dir/package.json"
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "@bufbuild/buf@$version" >&2)
  fi
fi

echo "lint.sh: $("$BUF" --version 2>/dev/null | head -n1) lint (proto/buf.yaml)" >&2
(cd "$here" && "$BUF" lint)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/leerplek/v1"
cp "$here/leerplek.proto" "$stage/leerplek/v1/leerplek.proto"
echo "lint.sh: strict lint of staged leerplek/v1/leerplek.proto (no exceptions)" >&2
(cd "$stage" && "$BUF" lint --config '{"version":"v2","lint":{"use":["STANDARD","COMMENTS"]}}')

echo "lint.sh: leerplek.proto passes buf lint" >&2
