#!/usr/bin/env bash
# Command 1 of the README: install, build, start a throwaway PostgreSQL, migrate, and
# serve dlrd in the foreground on 127.0.0.1:8080 with config/dlrd.example.yaml.
# Ctrl-C stops dlrd and the throwaway PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build/run -G Ninja -DCMAKE_BUILD_TYPE=Release -DDLRD_TESTS=OFF -DDLRD_BENCH=OFF >/dev/null
cmake --build build/run --target dlrd -j"$(nproc)"

PGDIR=${DLRD_RUN_PGDIR:-/tmp/dlrd-run/pg}
PGPORT=${DLRD_RUN_PGPORT:-54329}
export DLRD_DATABASE_URL
DLRD_DATABASE_URL=$(scripts/pg.sh start "$PGDIR" "$PGPORT")
export DLRD_SPOOL_DIR=${DLRD_SPOOL_DIR:-/tmp/dlrd-run/spool}
mkdir -p "$DLRD_SPOOL_DIR"
trap 'scripts/pg.sh stop "$PGDIR"' EXIT

build/run/src/dlrd migrate --config config/dlrd.example.yaml
echo "PostgreSQL: psql '$DLRD_DATABASE_URL'"
echo "dlrd: http://127.0.0.1:8080 (Ctrl-C to stop)"
build/run/src/dlrd serve --config config/dlrd.example.yaml
