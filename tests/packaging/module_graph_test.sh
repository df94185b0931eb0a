#!/bin/sh
# The module graph docs/architecture.md draws is the one CMake builds: configures a scratch
# tree with --graphviz, reads every dlrd_<module> -> dlrd_<module> link (public or private;
# the warnings target and the test libraries left out) and compares them with the
# ```modules block of docs/architecture.md. Also fails on a cycle.
# Usage: module_graph_test.sh SOURCE_DIR
set -eu
source=$(cd "$1" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake -S "$source" -B "$tmp/build" -G Ninja -DDLRD_BENCH=OFF --graphviz="$tmp/graph.dot" >"$tmp/cmake.log" 2>&1 \
  || { cat "$tmp/cmake.log"; exit 1; }

# "node3" -> "node5" [ style = dotted ] // dlrd_app -> dlrd_alert
sed -n 's|.*// dlrd_\([a-z_]*\) -> dlrd_\([a-z_]*\)$|\1 \2|p' "$tmp/graph.dot" \
  | grep -vE ' (warnings)$|^(test_support|e2e_harness|warnings) ' | sort -u >"$tmp/edges"
awk '{ deps[$1] = deps[$1] " " $2 } END { for (m in deps) print m ":" deps[m] }' "$tmp/edges" | sort >"$tmp/built"
sed -n '/^```modules$/,/^```$/p' "$source/docs/architecture.md" | sed '1d;$d' | sort >"$tmp/documented"
status=0
if diff -u "$tmp/documented" "$tmp/built"; then echo "ok: docs/architecture.md lists the links CMake builds"
else echo "FAIL: docs/architecture.md's module links differ from CMake's (- documented, + built)"; status=1; fi

# No cycles: repeatedly drop modules that link nothing left; whatever remains is a cycle.
cp "$tmp/edges" "$tmp/left"
while :; do
  awk '{ print $2 }' "$tmp/left" | sort -u >"$tmp/targets"
  awk '{ print $1 }' "$tmp/left" | sort -u >"$tmp/sources"
  comm -23 "$tmp/targets" "$tmp/sources" >"$tmp/leaves"
  [ -s "$tmp/leaves" ] || break
  grep -vwFf "$tmp/leaves" "$tmp/left" >"$tmp/next" || true
  mv "$tmp/next" "$tmp/left"
done
if [ -s "$tmp/left" ]; then echo "FAIL: modules link in a cycle:"; cat "$tmp/left"; status=1
else echo "ok: no cycles among the modules"; fi
exit $status
