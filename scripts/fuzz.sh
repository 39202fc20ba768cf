#!/usr/bin/env bash
# Run every libFuzzer target (fuzz/fuzz_*.c), one after the other (or
# MEMTLS_FUZZ_JOBS at a time), each for
# SECONDS (default 600), at low priority, and print what each one did:
# executions, coverage (libFuzzer's cov: edges and ft: features at the end)
# and the corpus it grew.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     e.g. scripts/fuzz.sh 60 fuzz_args
#
# Builds build-fuzz/ (clang, -DMEMTLS_BUILD_FUZZ=ON). Each target starts
# from its committed seeds (fuzz/corpus/TARGET) plus what earlier runs
# found (build-fuzz/corpus/TARGET, where new inputs go; the committed
# seeds are never written). A failure (crash, leak, failed check, timeout)
# is reported with its input saved as build-fuzz/artifacts/TARGET-crash-*
# (replay: build-fuzz/fuzz/TARGET FILE); the other targets still run, and
# the exit status is non-zero.
# Environment: MEMTLS_FUZZ_SEED (libFuzzer -seed, default 1),
# MEMTLS_FUZZ_NICE (default 19), MEMTLS_FUZZ_JOBS (targets run at once,
# default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
source scripts/sanitizers.sh

secs="${1:-600}"
shift || true
seed="${MEMTLS_FUZZ_SEED:-1}"
niceness="${MEMTLS_FUZZ_NICE:-19}"
jobs="${MEMTLS_FUZZ_JOBS:-1}"
case "$secs" in
'' | *[!0-9]*)
  echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2
  exit 2
  ;;
esac
case "$jobs" in
'' | *[!0-9]* | 0)
  echo "fuzz.sh: MEMTLS_FUZZ_JOBS must be a positive number, not '$jobs'" >&2
  exit 2
  ;;
esac

cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
  -DMEMTLS_BUILD_FUZZ=ON -DMEMTLS_BUILD_TESTS=OFF -DMEMTLS_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j "$(nproc)" >/dev/null

targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  for f in build-fuzz/fuzz/fuzz_*; do
    targets+=("$(basename "$f")")
  done
fi
mkdir -p build-fuzz/artifacts build-fuzz/corpus

# One target: its report line (or failure) in build-fuzz/TARGET.report,
# its status as the function's.
fuzz_one() {
  local t="$1" bin="build-fuzz/fuzz/$1" corpus="build-fuzz/corpus/$1" seeds="fuzz/corpus/$1"
  local log="build-fuzz/$1.log" report="build-fuzz/$1.report" start took status=0
  mkdir -p "$corpus" "$seeds"
  local args=(-max_total_time="$secs" -seed="$seed" -print_final_stats=1 -timeout=10
    -rss_limit_mb=2048 -artifact_prefix="build-fuzz/artifacts/$t-")
  [ -f "fuzz/$t.dict" ] && args+=(-dict="fuzz/$t.dict")
  start=$(date +%s)
  nice -n "$niceness" "$bin" "${args[@]}" "$corpus" "$seeds" >"$log" 2>&1 || status=$?
  took=$(($(date +%s) - start))
  if [ "$status" -ne 0 ]; then
    {
      echo "fuzz.sh: $t FAILED (exit $status) after ${took} s:"
      grep -E 'check failed|ERROR: |SUMMARY|Test unit written|artifact' "$log" | head -20 || true
      echo "---- last lines of $log ----"
      tail -40 "$log"
      printf '%-24s %6s s   FAILED (exit %s): see %s\n' "$t" "$took" "$status" "$log"
    } >"$report.tmp"
    mv "$report.tmp" "$report" # whole, for a reap that looks meanwhile
    return 1
  fi
  # The final status line: "#N DONE cov: C ft: F corp: U/SIZE ...".
  local done_line execs rate cov ft corp
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
  corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$done_line")
  printf '%-24s %6s s %12s execs %8s/s   cov %6s   ft %7s   corpus %s\n' \
    "$t" "$took" "$execs" "$rate" "$cov" "$ft" "$corp" >"$report.tmp"
  mv "$report.tmp" "$report"
}

for t in "${targets[@]}"; do
  [ -x "build-fuzz/fuzz/$t" ] || {
    echo "fuzz.sh: no target $t (have: $(ls build-fuzz/fuzz | grep '^fuzz_' | tr '\n' ' '))" >&2
    exit 2
  }
  rm -f "build-fuzz/$t.report"
done

# Up to $jobs targets at a time; each report is printed as its target ends.
failed=0
running=0
declare -A shown=()
reap() {
  local t
  wait -n || true
  running=$((running - 1))
  for t in "${targets[@]}"; do
    if [ -f "build-fuzz/$t.report" ] && [ -z "${shown[$t]:-}" ]; then
      cat "build-fuzz/$t.report"
      shown[$t]=1
    fi
  done
}
for t in "${targets[@]}"; do
  [ "$running" -lt "$jobs" ] || reap
  echo "== $t: ${secs} s (seed $seed)"
  fuzz_one "$t" &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do reap; done
for t in "${targets[@]}"; do
  grep -q FAILED "build-fuzz/$t.report" 2>/dev/null && failed=1
  [ -f "build-fuzz/$t.report" ] || failed=1
done

echo "== fuzz summary (seed $seed, ${secs} s per target, $jobs at a time)"
for t in "${targets[@]}"; do
  tail -n 1 "build-fuzz/$t.report" 2>/dev/null || echo "$t: no report"
done
[ "$failed" -eq 0 ]
