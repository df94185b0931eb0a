#!/usr/bin/env bash
# Builds dlrd-upsert-methods, runs it against a throwaway PostgreSQL 15, and stops that cluster on exit.
#   bench/upsert_methods.sh [dlrd-upsert-methods options]   e.g. --batches 100 --runs 3 --seed-rows 500000
# Environment: DLRD_UPSERT_DIR (default /tmp/dlrd-upsert), DLRD_UPSERT_PGPORT (default 54332),
#   DLRD_BENCH_JOBS (build parallelism, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=$ROOT/build-upsert
WORK=${DLRD_UPSERT_DIR:-/tmp/dlrd-upsert}
PGPORT=${DLRD_UPSERT_PGPORT:-54332}

cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDLRD_TESTS=OFF -DDLRD_BENCH=ON >/dev/null
cmake --build "$BUILD_DIR" --target dlrd-upsert-methods -j"${DLRD_BENCH_JOBS:-2}"

PG_STARTED=0
cleanup() { [ "$PG_STARTED" = 1 ] && "$ROOT/scripts/pg.sh" stop "$WORK/pg"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
URL=$("$ROOT/scripts/pg.sh" start "$WORK/pg" "$PGPORT")
PG_STARTED=1

echo "# $(date -u +%Y-%m-%dT%H:%MZ), nproc $(nproc), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
"$BUILD_DIR/bench/dlrd-upsert-methods" --url "$URL" "$@"
