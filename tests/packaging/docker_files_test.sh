#!/bin/sh
# docker/Dockerfile, docker/compose.yaml and docker/prometheus.yml checked without a Docker
# engine: Debian 12 stages, a non-root user, STOPSIGNAL, a curl-free HEALTHCHECK that works
# against a live HTTP server, a COPY set the project configures from, and a compose file
# that parses and wires PostgreSQL 15, the migration, dlrd and Prometheus together.
# Usage: docker_files_test.sh SOURCE_DIR
# shellcheck disable=SC2016  # sh -c scripts take their arguments as $1
set -eu
source=$(cd "$1" && pwd)
dockerfile=$source/docker/Dockerfile
compose=$source/docker/compose.yaml
prometheus=$source/docker/prometheus.yml
tmp=$(mktemp -d)
server=
trap '[ -z "$server" ] || kill "$server" 2>/dev/null; rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
check() {  # check DESCRIPTION COMMAND...
  what=$1; shift
  if "$@"; then ok "$what"; else fail "$what"; fi
}

# The Dockerfile with continuation lines joined, and its final stage.
sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$dockerfile" | grep -v '^[[:space:]]*#' >"$tmp/Dockerfile"
awk '/^FROM /{ n++ } { print n "\t" $0 }' "$tmp/Dockerfile" >"$tmp/numbered"
stages=$(grep -c '^FROM ' "$tmp/Dockerfile")
awk -F'\t' -v n="$stages" '$1 == n { print $2 }' "$tmp/numbered" >"$tmp/final"

check "multi-stage ($stages stages)" [ "$stages" -ge 2 ]
check "every stage is FROM debian:12 or debian:12-slim" \
  sh -c '! grep "^FROM " "$1" | grep -Evq "^FROM debian:(12|12-slim|bookworm|bookworm-slim)( AS [a-z0-9_-]+)?$"' - "$tmp/Dockerfile"
user=$(awk '$1 == "USER" { u = $2 } END { print u }' "$tmp/final")
check "final stage runs as a non-root USER ($user)" sh -c '[ -n "$1" ] && [ "$1" != root ] && [ "${1%%:*}" != 0 ]' - "$user"
check "STOPSIGNAL SIGTERM" grep -qx 'STOPSIGNAL SIGTERM' "$tmp/final"
check "HEALTHCHECK present, without curl or wget" \
  sh -c 'grep -q "^HEALTHCHECK .* CMD " "$1" && ! grep "^HEALTHCHECK" "$1" | grep -Eq "curl|wget"' - "$tmp/final"
check "HEALTHCHECK probes /healthz on the EXPOSEd port 8080" \
  sh -c 'grep -qx "EXPOSE 8080" "$1" && grep "^HEALTHCHECK" "$1" | grep -q "/dev/tcp/127.0.0.1/8080" && grep "^HEALTHCHECK" "$1" | grep -q "GET /healthz"' - "$tmp/final"
from=$(sed -n 's/^COPY --from=\([^ ]*\) .*/\1/p' "$tmp/final" | sort -u)
for stage in $from; do
  check "COPY --from=$stage names an earlier stage" grep -Eq "^FROM .* AS $stage$" "$tmp/Dockerfile"
done
check "the image's /etc/dlrd/dlrd.yaml (docker/dlrd.yaml) listens on 0.0.0.0:8080" \
  sh -c 'grep -Eq "^  address: 0\.0\.0\.0$" "$1" && grep -Eq "^  port: 8080$" "$1"' - "$source/docker/dlrd.yaml"
check "the final stage installs docker/dlrd.yaml as /etc/dlrd/dlrd.yaml" \
  grep -qx 'COPY docker/dlrd.yaml /etc/dlrd/dlrd.yaml' "$tmp/final"
check "compose publishes dlrd and Prometheus on the host's loopback only" \
  sh -c '! grep -Eq "^ *- \"[0-9]+:[0-9]+\"" "$1" && grep -q "\"127.0.0.1:8080:8080\"" "$1"' - "$compose"

# The build stage's COPY set: each source exists, and the project configures from just those.
awk -F'\t' '$1 == 1 && $2 ~ /^COPY / && $2 !~ /--from/ { print $2 }' "$tmp/numbered" >"$tmp/copies"
mkdir "$tmp/context"
while read -r _ args; do
  dest=${args##* }
  for src in ${args% *}; do
    if [ -e "$source/$src" ]; then
      case "$dest" in */|.) mkdir -p "$tmp/context/$dest"; cp -R "$source/$src" "$tmp/context/$dest" ;;
                      *) mkdir -p "$tmp/context/$(dirname "$dest")"; cp -R "$source/$src" "$tmp/context/$dest" ;; esac
    else fail "COPY source $src does not exist"; fi
  done
done <"$tmp/copies"
# What the build and the package read (src's globs, the install rules, the CPack scripts).
for needed in CMakeLists.txt README.md cmake include src sql config/dlrd.service \
              config/dlrd.minimal.yaml config/dlrd.reference.yaml packaging/deb docs; do
  [ -e "$tmp/context/$needed" ] || fail "the build stage does not COPY $needed"
done
# Every file the package installs by name (cpack runs in the build stage).
for needed in $(sed -n 's/^install(FILES \(.*\) DESTINATION.*/\1/p' "$source/cmake/Packaging.cmake" | tr ' ' '\n' | grep -v '^\$'); do
  [ -e "$tmp/context/$needed" ] || fail "the build stage does not COPY $needed, which the package installs"
done
if command -v cmake >/dev/null; then
  if cmake -S "$tmp/context" -B "$tmp/context-build" -DDLRD_TESTS=OFF -DDLRD_BENCH=OFF >"$tmp/cmake.log" 2>&1; then
    ok "the project configures from the build stage's COPY set alone"
  else
    tail -20 "$tmp/cmake.log"; fail "the project does not configure from the build stage's COPY set"
  fi
fi

# The HEALTHCHECK command itself (exec form, as Docker reads it) against a live server:
# succeeds on a 200, fails when nothing listens.
if command -v python3 >/dev/null && command -v bash >/dev/null; then
  python3 - "$tmp/Dockerfile" >"$tmp/healthcheck" <<'EOF'
import json, re, sys
text = open(sys.argv[1]).read()
argv = json.loads(re.search(r'^HEALTHCHECK .*?CMD (\[.*\])$', text, re.M).group(1))
print("\0".join(argv), end="")
EOF
  mkdir "$tmp/www"; echo '{"status":"ok"}' >"$tmp/www/healthz"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  python3 -m http.server --bind 127.0.0.1 --directory "$tmp/www" "$port" >/dev/null 2>&1 &
  server=$!
  i=0; until bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
  run_healthcheck() {  # run_healthcheck PORT
    sed "s|/dev/tcp/127.0.0.1/8080|/dev/tcp/127.0.0.1/$1|" "$tmp/healthcheck" | xargs -0 timeout 5 >/dev/null 2>&1
  }
  check "HEALTHCHECK command succeeds against a server answering 200 on /healthz" run_healthcheck "$port"
  kill "$server"; wait "$server" 2>/dev/null || true; server=
  if run_healthcheck "$port"; then fail "HEALTHCHECK command succeeds when nothing listens"
  else ok "HEALTHCHECK command fails when nothing listens"; fi
else
  echo "skipped: running the HEALTHCHECK command (needs python3 and bash)"
fi

# compose.yaml and prometheus.yml: text checks always, structure when a YAML parser exists.
check "compose: postgres:15" grep -Eq '^ +image: postgres:15$' "$compose"
check "compose: prometheus mounts docker/prometheus.yml" grep -Eq '^ +- \./prometheus\.yml:/etc/prometheus/prometheus\.yml' "$compose"
check "compose: a migrate service runs 'dlrd migrate'" grep -Eq 'command: \["migrate"' "$compose"
check "prometheus.yml: targets dlrd:8080" grep -Eq 'targets: \["dlrd:8080"\]' "$prometheus"
if command -v python3 >/dev/null && python3 -c 'import yaml' 2>/dev/null; then
  if python3 - "$compose" "$prometheus" <<'EOF'
import os, sys, yaml
compose = yaml.safe_load(open(sys.argv[1]))
prom = yaml.safe_load(open(sys.argv[2]))
s = compose["services"]
here = os.path.dirname(sys.argv[1])
checks = {
    "services postgres, migrate, dlrd, prometheus": {"postgres", "migrate", "dlrd", "prometheus"} <= set(s),
    "postgres image postgres:15": s["postgres"]["image"] == "postgres:15",
    "dlrd and migrate build docker/Dockerfile from the repository root":
        all(os.path.normpath(os.path.join(here, s[n]["build"]["context"])) == os.path.dirname(os.path.abspath(here))
            and s[n]["build"]["dockerfile"] == "docker/Dockerfile" for n in ("dlrd", "migrate")),
    "migrate runs `migrate` once postgres is healthy":
        s["migrate"]["command"][0] == "migrate"
        and s["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy",
    "dlrd serves after migrate completed":
        s["dlrd"]["command"][0] == "serve"
        and s["dlrd"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully",
    "dlrd and migrate get the same DLRD_DATABASE_URL, pointing at postgres":
        s["dlrd"]["environment"] == s["migrate"]["environment"]
        and "@postgres:5432/" in s["dlrd"]["environment"]["DLRD_DATABASE_URL"],
    "dlrd publishes 8080 (on the host's loopback) and keeps its spool in a volume":
        "127.0.0.1:8080:8080" in s["dlrd"]["ports"]
        and any(v.endswith(":/var/lib/dlrd/spool") for v in s["dlrd"]["volumes"]),
    "prometheus mounts an existing prometheus.yml":
        any(v.split(":")[0] == "./prometheus.yml" for v in s["prometheus"]["volumes"])
        and os.path.isfile(os.path.join(here, "prometheus.yml")),
    "prometheus mounts mixin/dlrd.rules.yaml where prometheus.yml's rule_files names it":
        any(v.split(":")[0] == "../mixin/dlrd.rules.yaml"
            and os.path.isfile(os.path.join(here, "..", "mixin", "dlrd.rules.yaml"))
            and v.split(":")[1] in prom.get("rule_files", []) for v in s["prometheus"]["volumes"]),
    "prometheus.yml scrapes dlrd:8080/metrics":
        any(c.get("metrics_path", "/metrics") == "/metrics"
            and any("dlrd:8080" in sc["targets"] for sc in c["static_configs"])
            for c in prom["scrape_configs"]),
}
for name, passed in checks.items():
    print(("ok: " if passed else "FAIL: ") + name)
sys.exit(0 if all(checks.values()) else 1)
EOF
  then :; else fail "compose.yaml / prometheus.yml structure"; fi
else
  echo "skipped: parsing compose.yaml and prometheus.yml (no python3 with the yaml module)"
fi

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
echo "all docker file checks passed"
