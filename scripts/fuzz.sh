#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz, clang + ASan + UBSan) and runs each for a
# bounded time from its seed corpus. Fails on any crash, leak or sanitizer report.
# Usage: scripts/fuzz.sh [seconds per fuzzer, default 60]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
seconds="${1:-60}"
build="$perfcal_root/build-fuzz"
cmake -S "$perfcal_root/tests/fuzz" -B "$build" -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$perfcal_jobs"
status=0
for harness in "$build"/fuzz_*; do
  name="$(basename "$harness")"
  name="${name#fuzz_}"
  work="$(mktemp -d)"
  # Work on a copy: the committed seed corpus stays small and reviewed.
  cp "$perfcal_root/tests/fuzz/corpus/$name/"* "$work/"
  log="$build/$name.log"
  if "$harness" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 \
       -artifact_prefix="$build/crash-$name-" "$work" >"$log" 2>&1; then
    runs="$(grep -o 'Done [0-9]* runs' "$log" | tail -1)"
    echo "fuzz $name: ok (${runs:-no count}, ${seconds}s)"
  else
    echo "fuzz $name: FAILED, see $log and $build/crash-$name-*"
    tail -30 "$log"
    status=1
  fi
  rm -rf "$work"
done
exit $status
