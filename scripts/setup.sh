#!/usr/bin/env bash
# Installs perfcal's build and run dependencies from Debian 12 packages (idempotent).
# As root it runs apt-get; otherwise it prints the exact command to run.
# The CUDA Toolkit is optional and not installed here: perfcal uses /usr/local/cuda when present.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git
  libbenchmark-dev libgtest-dev libgmock-dev
  nlohmann-json3-dev libcli11-dev
  libhwloc-dev hwloc
  libopenblas-dev libdnnl-dev
  ocl-icd-opencl-dev  # dnnl-config.cmake finds OpenCL; libdnnl-dev only recommends it
  libopenmpi-dev openmpi-bin
  clang libclang-rt-14-dev libomp-dev  # libFuzzer, sanitizers; clang OpenMP (+ Archer) for TSan
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all dependencies present"
  exit 0
fi
cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages; run as root:" >&2
  echo "  apt-get update && $cmd" >&2
  exit 1
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only when needed (a fresh machine has none).
if ! apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/perfcal-setup.log 2>&1; then
  apt-get update -qq
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
