#!/bin/sh
# The Prometheus mixin: mixin/dlrd.rules.yaml passes `promtool check rules`, its unit tests
# (`promtool test rules`) pass, every dlrd_* series it reads is one dlrd exports, and every
# alert has a runbook section in mixin/README.md. Skips (77) without promtool.
# Usage: mixin_test.sh SOURCE_DIR
set -eu
source=$(cd "$1" && pwd)
command -v promtool >/dev/null || { echo "promtool not installed (Debian: prometheus)"; exit 77; }
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

if promtool check rules "$source/mixin/dlrd.rules.yaml"; then ok "promtool check rules"
else fail "promtool check rules"; fi
if (cd "$source/mixin" && promtool test rules dlrd.rules.test.yaml); then ok "promtool test rules"
else fail "promtool test rules"; fi

for series in $(grep -o 'dlrd_[a-z_]*' "$source/mixin/dlrd.rules.yaml" | sort -u); do
  if grep -rqF "\"$series\"" "$source/src"; then ok "$series is exported"
  else fail "$series is read by a rule but no source file exports it"; fi
done
for alert in $(sed -n 's/^ *- alert: \([A-Za-z]*\)$/\1/p' "$source/mixin/dlrd.rules.yaml"); do
  if grep -qx "### $alert" "$source/mixin/README.md"; then ok "$alert has a runbook"
  else fail "$alert has no '### $alert' runbook section in mixin/README.md"; fi
done

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
echo "all mixin checks passed"
