#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL 15 cluster for development and tests.
#   scripts/pg.sh start DIR PORT   -> prints the connection URL on stdout
#   scripts/pg.sh stop DIR
# The cluster runs as the 'postgres' user when invoked as root (initdb refuses root),
# listens on 127.0.0.1 only, and trusts local connections: never use it for real data.
# DLRD_PG_OPTIONS: more server options, after the ones below (e.g. "-c max_wal_size=16GB").
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
cmd=${1:?usage: pg.sh start DIR PORT | stop DIR}
dir=${2:?data directory}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
  start)
    port=${3:?port}
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir"; fi
    chmod 700 "$dir"
    if [ ! -f "$dir/PG_VERSION" ]; then
      as_owner "$PGBIN/initdb" -D "$dir" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir.initdb.log" 2>&1 \
        || { cat "$dir.initdb.log" >&2; exit 1; }
    fi
    if ! as_owner "$PGBIN/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
      as_owner "$PGBIN/pg_ctl" -D "$dir" -w -t 60 -l "$dir/server.log" \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200 -c fsync=on -c shared_buffers=256MB -c max_wal_size=2GB ${DLRD_PG_OPTIONS:-}" \
        start >/dev/null
    fi
    as_owner "$PGBIN/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='dlrd'" postgres | grep -q 1 \
      || as_owner "$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U postgres dlrd
    echo "postgresql://postgres@127.0.0.1:$port/dlrd"
    ;;
  stop)
    if [ -f "$dir/PG_VERSION" ]; then
      as_owner "$PGBIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
  *) echo "usage: pg.sh start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
