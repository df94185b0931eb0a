#!/bin/sh
# The Prometheus mixin: mixin/dlrd.rules.yaml passes `promtool check rules`, its unit tests
# (`promtool test rules`) pass, every dlrd_* series it reads is one dlrd exports, and every
# alert has a runbook section in mixin/README.md; and the Grafana dashboard (see below).
# Skips (77) without promtool or jq.
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

# The Grafana dashboard: valid JSON with unique panel ids, every panel on one of its two
# data source variables, every PromQL query parses (promtool, as recording rules, with the
# template variables filled in), and every dlrd_* series it reads is one dlrd exports.
dash=$source/mixin/dlrd.dashboard.json
command -v jq >/dev/null || { echo "jq not installed"; exit 77; }
if jq -e '.uid and .title and (.panels | length > 0)' "$dash" >/dev/null; then ok "dashboard parses"
else fail "dashboard: not JSON, or no uid/title/panels"; fi
dupes=$(jq -r '[.panels[].id] | group_by(.) | map(select(length > 1) | .[0]) | .[]' "$dash")
[ -z "$dupes" ] && ok "dashboard panel ids are unique" || fail "dashboard panel ids repeat: $dupes"
stray=$(jq -r '[.panels[] | select(.type != "row") | .datasource.uid, (.targets[].datasource.uid)]
               | map(select(. != "${prometheus}" and . != "${postgresql}")) | .[]' "$dash")
[ -z "$stray" ] && ok "dashboard panels use its data source variables" || fail "dashboard data sources: $stray"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
  echo "groups:"; echo "  - name: dashboard"; echo "    rules:"
  jq -r '.panels[].targets[]?.expr // empty' "$dash" | sed 's/\$job/.*/g; s/\$instance/.*/g' | awk '{
    gsub(/\\/, "\\\\"); gsub(/"/, "\\\"");
    printf "      - record: dashboard:q%d\n        expr: \"%s\"\n", NR, $0 }'
} >"$tmp/queries.yaml"
if promtool check rules "$tmp/queries.yaml" >"$tmp/check" 2>&1; then
  ok "dashboard: $(grep -c 'record:' "$tmp/queries.yaml") PromQL queries parse"
else cat "$tmp/check" "$tmp/queries.yaml"; fail "dashboard: a PromQL query does not parse"; fi
for series in $(jq -r '.panels[].targets[]?.expr // empty' "$dash" | grep -o 'dlrd_[a-z_]*' \
                | sed -E 's/_(bucket|sum|count)$//' | sort -u); do
  if grep -rqF "\"$series\"" "$source/src"; then ok "dashboard: $series is exported"
  else fail "dashboard reads $series but no source file exports it"; fi
done

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
echo "all mixin checks passed"
