#!/usr/bin/env bash
# Sets up, configures, builds, then runs bench_all on every device of this machine and
# prints a summary. Arguments go to bench_all (e.g. --quick, --threads 1, --filter gemm).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$perfcal_root/scripts/setup.sh"
perfcal_configure
perfcal_build
cd "$perfcal_root"
exec "$perfcal_root/build/bin/bench_all" "$@"
