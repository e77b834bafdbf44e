#!/usr/bin/env bash
# check_catalogues.sh SOURCE_DIR: every message the sources mark for translation (xgettext,
# the same keywords as the build) has a Dutch translation in its catalogue, none fuzzy or
# empty (msgcmp), and every translation keeps its msgid's printf directives (msgfmt --check).
# Run by ctest; a message added without its translation fails the suite.
set -euo pipefail
source_dir=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
check() { # check <domain> <po dir> <xgettext keywords...>
  local domain=$1 po_dir=$2; shift 2
  local files=()
  while read -r file; do [ -n "$file" ] && files+=("$source_dir/$file"); done <"$source_dir/$po_dir/POTFILES"
  xgettext --language=C --from-code=UTF-8 "$@" --no-location -o "$work/$domain.pot" "${files[@]}"
  local count failed=0
  count=$(grep -c '^msgid ' "$work/$domain.pot")
  if ! msgcmp "$source_dir/$po_dir/nl.po" "$work/$domain.pot"; then
    echo "check_catalogues: $po_dir/nl.po lacks translations of the messages above ($domain)" >&2
    failed=1
  fi
  if ! msgfmt --check --statistics -o /dev/null "$source_dir/$po_dir/nl.po" 2>"$work/$domain.stats"; then
    cat "$work/$domain.stats" >&2
    failed=1
  elif grep -Eq 'fuzzy|untranslated' "$work/$domain.stats"; then
    echo "check_catalogues: $po_dir/nl.po: $(cat "$work/$domain.stats")" >&2
    failed=1
  fi
  if [ "$failed" = 0 ]; then
    echo "check_catalogues: $domain: $((count - 1)) messages, all translated in $po_dir/nl.po"
  else
    status=1
  fi
}
check leerplek clients/cli/po --keyword=_ --keyword=N_ --keyword=NC_:1c,2
check leerplekd daemon/po --keyword=T --keyword=N_ --add-comments=TRANSLATORS
exit $status
