#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in their own build directory and runs each one
# for SECONDS (default 20) from a seed corpus made of tests/fixtures. Exits non-zero on a crash.
# Usage: tests/fuzz/run.sh [SECONDS]   (DLRD_FUZZ_BUILD_DIR overrides the build directory)
set -euo pipefail

seconds="${1:-20}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${DLRD_FUZZ_BUILD_DIR:-$root/build-fuzz}"
cxx="${CXX_FUZZ:-$(command -v clang++ || command -v clang++-14)}"
jobs="${DLRD_FUZZ_JOBS:-2}"

mkdir -p "$build"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DDLRD_FUZZ=ON -DDLRD_TESTS=ON -DDLRD_BENCH=OFF >"$build/configure.log" 2>&1 \
  || { cat "$build/configure.log"; exit 1; }

targets=(fuzz_smspm_json fuzz_profiles fuzz_record_codec fuzz_http_framing)
[[ -f "$root/tests/fuzz/fuzz_spool_reader.cpp" ]] && targets+=(fuzz_spool_reader)
[[ -f "$root/tests/fuzz/fuzz_spool_recovery.cpp" ]] && targets+=(fuzz_spool_recovery)
cmake --build "$build" --target "${targets[@]}" make_codec_seeds -j "$jobs"

fuzz_bin="$build/tests/fuzz"
work="$build/fuzz-work"
mkdir -p "$work/artifacts"

# Seeds: the JSON fixtures as they are, and their spool encodings for the codec.
seeds_of() {
  case "$1" in
    fuzz_smspm_json) echo "$root/tests/fixtures/smspm" ;;
    fuzz_profiles)
      # Each provider fixture's body, behind a profile byte and an encoding byte.
      mkdir -p "$work/seeds/profiles"
      local i=0 f
      for f in "$root"/tests/fixtures/*/*.http "$root"/tests/fixtures/smspm/*.json; do
        [[ -f "$f" ]] || continue
        { printf "$(printf '\\x%02x\\x%02x' "$i" "$((i % 8))")"; printf '\n'; sed -e '1,/^\r\{0,1\}$/d' "$f"; } \
          >"$work/seeds/profiles/seed-$i" 2>/dev/null || true
        i=$((i + 1))
      done
      echo "$work/seeds/profiles" ;;
    fuzz_record_codec)
      "$fuzz_bin/make_codec_seeds" "$root/tests/fixtures/smspm" "$work/seeds/codec" >/dev/null
      echo "$work/seeds/codec" ;;
    fuzz_spool_reader) echo "$root/tests/fixtures/spool" ;;
    fuzz_http_framing) echo "$root/tests/fuzz/http_framing_seeds" ;;
  esac
}

failed=()
for t in "${targets[@]}"; do
  corpus="$work/corpus/$t"
  mkdir -p "$corpus"
  seeds="$(seeds_of "$t")"
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$work/artifacts/$t-")
  [[ "$t" == fuzz_smspm_json ]] && args+=(-dict="$root/tests/fuzz/smspm_json.dict")
  dirs=("$corpus")
  [[ -d "$seeds" ]] && dirs+=("$seeds")
  echo "== $t for ${seconds}s"
  if ! "$fuzz_bin/$t" "${args[@]}" "${dirs[@]}" >"$work/$t.log" 2>&1; then
    tail -n 60 "$work/$t.log"
    failed+=("$t")
  else
    grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$work/$t.log" | tail -n 2 || true
  fi
done

if ((${#failed[@]})); then
  echo "fuzzing found crashes in: ${failed[*]} (inputs in $work/artifacts, logs in $work)" >&2
  exit 1
fi
echo "no crashes"
