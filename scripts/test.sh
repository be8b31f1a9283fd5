#!/usr/bin/env bash
# Sets up, configures, builds (build/, Release) and runs the whole test suite with ctest.
# Usage: scripts/test.sh [--full] [extra ctest args]
#   --full   also runs every libFuzzer harness (scripts/fuzz.sh), the CPU test suite under
#            AddressSanitizer + UndefinedBehaviorSanitizer (preset "asan") and the threaded
#            tests (all-reduce threads transport, GEMM, attention) under ThreadSanitizer
#            (preset "tsan"); CI runs this.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
full=0
if [ "${1:-}" = "--full" ]; then
  full=1
  shift
fi
"$perfcal_root/scripts/setup.sh"
perfcal_configure
perfcal_build
cd "$perfcal_root/build"
ctest --output-on-failure --timeout 900 -j "$perfcal_jobs" "$@"
if [ "$full" = 1 ]; then
  "$perfcal_root/scripts/fuzz.sh" "${PERFCAL_FUZZ_SECONDS:-30}"
  cd "$perfcal_root"
  cmake --preset asan >/dev/null
  cmake --build --preset asan -j "$perfcal_jobs"
  # Leaks in OpenMP/oneDNN runtime singletons are not ours; everything else fails the run.
  # The preset retries a failed test once: the signal tests are timing-sensitive when the
  # sanitized binaries run slowly on a loaded machine.
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --preset asan -j "$perfcal_jobs"
  # ThreadSanitizer (clang, whose OpenMP runtime loads the Archer tool so barriers and joins
  # are seen): only the test programs that start threads are built and run. Accesses made
  # inside the uninstrumented OpenMP/OpenBLAS/oneDNN libraries are ignored
  # (ignore_noninstrumented_modules); anything else they report is suppressed, one reason per
  # entry, in tests/tsan.supp. A race in perfcal's own code fails the run.
  cmake --preset tsan >/dev/null
  cmake --build --preset tsan -j "$perfcal_jobs"
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ignore_noninstrumented_modules=1 suppressions=$perfcal_root/tests/tsan.supp" \
    ctest --preset tsan -j "$perfcal_jobs"
fi
