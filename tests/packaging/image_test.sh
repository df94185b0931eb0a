#!/bin/sh
# The container image, built from docker/Dockerfile with podman and run as an operator would:
# `migrate` then `serve` with the image's own /etc/dlrd/dlrd.yaml (listen address and port
# changed: the container shares the host's network, see below) against PostgreSQL; the
# server runs as dlrd, answers /healthz, acks an SMSPM callback that then shows up in
# sms_logs, the image's HEALTHCHECK command passes inside it, and `podman stop` (SIGTERM)
# ends it with exit 0.
# Opt-in (a first build compiles dlrd inside the image, a long time on a small machine):
#   DLRD_TEST_IMAGE=localhost/dlrd:test DLRD_TEST_PG_URL=postgresql://... ctest -R image
# builds and tags that image (podman's layer cache makes an unchanged tree's rebuild quick).
# Its bases are debian:12 and debian:12-slim; where no registry is reachable, a Debian 12
# root from debootstrap (tests/packaging/debian_root.sh) in DLRD_TEST_DEBIAN_ROOT is
# imported under both names when they are missing. Skipped (77) without podman, root
# privileges, a base image, DLRD_TEST_IMAGE or DLRD_TEST_PG_URL.
# Usage: image_test.sh SOURCE_DIR
set -eu
source=$(cd "$1" && pwd)
image=${DLRD_TEST_IMAGE:-}
pg_url=${DLRD_TEST_PG_URL:-}
[ -n "$image" ] || { echo "skipped: DLRD_TEST_IMAGE (the tag to build) is not set"; exit 77; }
[ -n "$pg_url" ] || { echo "skipped: DLRD_TEST_PG_URL is not set"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "skipped: podman runs rootful here"; exit 77; }
for tool in podman psql curl; do
  command -v "$tool" >/dev/null || { echo "skipped: $tool not installed"; exit 77; }
done
tmp=$(mktemp -d)
name=dlrd-image-test-$$
db=dlrd_image_test_$$
trap 'podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
      psql -q "$pg_url" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
      rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

# The bases: a registry's, or a local Debian 12 root imported under their names.
for base in debian:12 debian:12-slim; do
  podman image exists "$base" && continue
  root=${DLRD_TEST_DEBIAN_ROOT:-}
  [ -n "$root" ] || { echo "skipped: no $base image (podman pull it, or set DLRD_TEST_DEBIAN_ROOT)"; exit 77; }
  tar -C "$root" -c . | podman import -q - "docker.io/library/$base" >/dev/null
  ok "imported $root as $base"
done

# Build: chroot isolation, as crun (podman's default runtime) refuses hybrid cgroups;
# Docker's image format, as the OCI one has no HEALTHCHECK (podman drops it with a warning).
started=$(date +%s)
if podman build --isolation chroot --format docker --pull=never -f "$source/docker/Dockerfile" -t "$image" "$source" \
     >"$tmp/build.log" 2>&1; then
  ok "podman build: $image in $(($(date +%s) - started)) s"
else tail -40 "$tmp/build.log"; echo "FAIL: podman build"; exit 1; fi

# podman run: runc (crun refuses this host's hybrid cgroups), with limits lowered below the
# ones the runtime itself gets (raising a limit needs CAP_SYS_RESOURCE; its defaults and
# this process's own nproc were refused); the host's network, to reach PostgreSQL.
run() {
  podman --runtime runc run --network host --ulimit "nofile=$(ulimit -Sn):$(ulimit -Sn)" \
    --ulimit nproc=4096:4096 -e "DLRD_DATABASE_URL=$db_url" "$@"
}
psql -q "$pg_url" -c "CREATE DATABASE $db" >/dev/null
db_url=$(echo "$pg_url" | sed "s|/[^/?]*\(?.*\)\{0,1\}$|/$db\1|")
# Port 0 on the host's loopback: tests run in parallel, and the host's 8080 may be taken.
run --rm --entrypoint cat "$image" /etc/dlrd/dlrd.yaml \
  | sed 's/^  address: 0\.0\.0\.0$/  address: 127.0.0.1/; s/^  port: 8080$/  port: 0/' >"$tmp/dlrd.yaml"
grep -q '^  port: 0$' "$tmp/dlrd.yaml" || { cat "$tmp/dlrd.yaml"; echo "FAIL: the image's config has no port 8080"; exit 1; }
config="-v $tmp/dlrd.yaml:/etc/dlrd/dlrd.yaml:ro"

# shellcheck disable=SC2086  # $config is two words
if out=$(run --rm $config "$image" migrate --config /etc/dlrd/dlrd.yaml 2>&1); then ok "migrate: $(echo "$out" | tail -1)"
else echo "$out"; echo "FAIL: migrate"; exit 1; fi
# shellcheck disable=SC2086
run -d --name "$name" $config "$image" >/dev/null
port=
for _ in $(seq 100); do
  port=$(podman logs "$name" 2>&1 | sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' | head -1)
  [ -n "$port" ] && break
  [ "$(podman inspect -f '{{.State.Running}}' "$name")" = true ] || break
  sleep 0.1
done
[ -n "$port" ] || { podman logs "$name"; echo "FAIL: serve did not listen"; exit 1; }
ok "serve listens on 127.0.0.1:$port"
user=$(podman exec "$name" id -un)
[ "$user" = dlrd ] && ok "runs as dlrd" || fail "runs as $user"
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null && ok "GET /healthz is 200" || fail "GET /healthz"

answer=$(curl -sS -X POST "http://127.0.0.1:$port/webhooks/smspm" -H 'Content-Type: application/json' \
  -d '{"messageId":"image-1","status":"delivered","to":"+447700900123","timestamp":"2026-11-28T10:15:00Z"}')
[ "$answer" = '{"ok":true}' ] && ok "SMSPM callback acked: $answer" || fail "SMSPM callback answered: $answer"
row=
for _ in $(seq 100); do
  row=$(psql -XAtq "$db_url" -c "SELECT status FROM sms_logs WHERE message_id = 'image-1'" 2>/dev/null || true)
  [ -n "$row" ] && break
  sleep 0.1
done
[ "$row" = delivered ] && ok "sms_logs: image-1 is delivered" || fail "sms_logs: image-1 is '$row'"

# The image's own HEALTHCHECK command, aimed at the port this container listens on.
podman image inspect -f '{{range .Config.Healthcheck.Test}}{{.}}{{"\n"}}{{end}}' "$image" >"$tmp/healthcheck"
[ "$(head -1 "$tmp/healthcheck")" = CMD ] || { cat "$tmp/healthcheck"; fail "HEALTHCHECK is not an exec-form CMD"; }
tail -n +2 "$tmp/healthcheck" | sed "s|/dev/tcp/127.0.0.1/8080|/dev/tcp/127.0.0.1/$port|" | tr '\n' '\0' >"$tmp/argv"
if xargs -0 podman exec "$name" <"$tmp/argv"; then ok "the image's HEALTHCHECK passes"
else fail "the image's HEALTHCHECK fails against a serving dlrd"; fi

podman stop -t 20 "$name" >/dev/null
code=$(podman inspect -f '{{.State.ExitCode}}' "$name")
[ "$code" = 0 ] && ok "podman stop (SIGTERM): exit 0" || { podman logs "$name" | tail -20; fail "podman stop: exit $code"; }

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
echo "the image builds, migrates, serves, stores a callback and stops cleanly"
