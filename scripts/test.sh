#!/usr/bin/env bash
# Sets up, configures, builds (build/, Release) and runs the whole test suite with ctest.
# Usage: scripts/test.sh [extra ctest args]     (e.g. -L gemm, -R Profile)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$perfcal_root/scripts/setup.sh"
perfcal_configure
perfcal_build
cd "$perfcal_root/build"
ctest --output-on-failure --timeout 900 -j "$perfcal_jobs" "$@"
