#!/usr/bin/env bash
# Command 2 of the README (and CI): install, build normal and ASan+UBSan, start a
# throwaway PostgreSQL, run every test in both builds plus short fuzz runs, stop what
# it started, and end with one summary line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --test || exit 1

JOBS=$(nproc)
PGDIR=${DLRD_TEST_PGDIR:-/tmp/dlrd-test/pg}
PGPORT=${DLRD_TEST_PGPORT:-54330}
FUZZ_SECONDS=${DLRD_FUZZ_SECONDS:-10}

build() {  # build DIR [cmake args...]
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja -DDLRD_WERROR=ON "$@" >/dev/null || return 1
  cmake --build "$dir" -j"$JOBS" || return 1
}

start=$(date +%s)
build build/test -DCMAKE_BUILD_TYPE=RelWithDebInfo || { echo "0 passed, 1 failed (build)"; exit 1; }
build build/test-asan -DCMAKE_BUILD_TYPE=Debug -DDLRD_SANITIZE=address,undefined -DDLRD_BENCH=OFF \
  || { echo "0 passed, 1 failed (sanitizer build)"; exit 1; }
echo "built in $(( $(date +%s) - start ))s"

scripts/pg.sh stop "$PGDIR"
rm -rf "$PGDIR"
DLRD_TEST_PG_URL=$(scripts/pg.sh start "$PGDIR" "$PGPORT") || { echo "0 passed, 1 failed (postgresql)"; exit 1; }
export DLRD_TEST_PG_URL
trap 'scripts/pg.sh stop "$PGDIR"' EXIT

passed=0; failed=0
tally() {  # tally LOGFILE
  local line
  line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$1" | tail -1)
  if [ -z "$line" ]; then failed=$((failed + 1)); return; fi
  local total nfail
  total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
  nfail=$(sed -E 's/.*tests passed, ([0-9]+) tests failed.*/\1/' <<<"$line")
  passed=$((passed + total - nfail)); failed=$((failed + nfail))
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for dir in build/test build/test-asan; do
  echo "== ctest $dir"
  ctest --test-dir "$dir" -j"$JOBS" --output-on-failure --timeout 600 2>&1 | tee "$dir/ctest.log" | grep -vE "^ +[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed"
  tally "$dir/ctest.log"
done

if [ -x tests/fuzz/run.sh ]; then
  echo "== fuzz ($FUZZ_SECONDS s per target)"
  if tests/fuzz/run.sh "$FUZZ_SECONDS"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
fi

echo "finished in $(( $(date +%s) - start ))s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
