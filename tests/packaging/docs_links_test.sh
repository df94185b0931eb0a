#!/bin/sh
# Every relative link in README.md, docs/*.md and mixin/README.md resolves: the file exists
# (relative to the page, as GitHub reads it), and a #fragment names a heading of the target
# page (GitHub's slug: lower case, punctuation dropped, spaces to hyphens). Web links are
# not fetched.
# Usage: docs_links_test.sh SOURCE_DIR
set -eu
source=$(cd "$1" && pwd)
failures=0
checked=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

slugs() {  # slugs FILE: the anchor of each heading outside fenced code, one a line
  awk '/^```/ { fenced = !fenced; next } !fenced && /^#+ / { print }' "$1" \
    | sed 's/^#* *//' | tr 'A-Z' 'a-z' | sed 's/[^a-z0-9 _-]//g; s/ /-/g'
}

for page in "$source/README.md" "$source"/docs/*.md "$source/mixin/README.md"; do
  dir=$(dirname "$page")
  name=${page#"$source"/}
  # Inline links outside fenced code: the text between "](" and the next ")".
  links=$(awk '/^```/ { fenced = !fenced; next } !fenced' "$page" \
    | grep -o '\]([^)[:space:]]*)' | sed 's/^](//; s/)$//' || true)
  for link in $links; do
    case "$link" in http://* | https://* | mailto:*) continue ;; esac
    checked=$((checked + 1))
    file=${link%%#*}
    fragment=
    case "$link" in *'#'*) fragment=${link#*#} ;; esac
    target=$page
    [ -z "$file" ] || target=$dir/$file
    if [ ! -e "$target" ]; then fail "$name: $link: no such file"; continue; fi
    if [ -n "$fragment" ] && ! slugs "$target" | grep -qx -- "$fragment"; then
      fail "$name: $link: no heading with that anchor in ${target#"$source"/}"
    fi
  done
done

[ "$checked" -gt 0 ] || { echo "FAIL: no relative links found"; exit 1; }
[ "$failures" -eq 0 ] || { echo "$failures of $checked relative links broken"; exit 1; }
echo "all $checked relative links resolve"
