#!/usr/bin/env bash
# gpu_check.sh OUTDIR: the one-command GPU check for a machine with an NVIDIA GPU, the CUDA
# Toolkit, CMake, ninja and a C++ compiler, but none of perfcal's Debian packages and no
# network (issue 6). Within 8 minutes it:
#   1. checks the tools and that every .deb perfcal builds against travelled with the repo in
#      deps/debs/ (scripts/fetch_gpu_deps.sh fills it on a development machine; deps/ is
#      git-ignored through .git/info/exclude, so copy it along or name it in the device
#      tool's `carry`), failing fast with one line naming the missing piece;
#   2. unpacks them into a private prefix (never over /): $PERFCAL_PREFIX, default
#      /tmp/perfcal-prefix, rewriting the .pc files to point there;
#   3. checks that a CUDA device is visible (stops with a clear message when none is);
#   4. configures (CUDA on, MPI off) and builds only test_gemm_cuda and bench_all into
#      $PERFCAL_GPU_BUILD_DIR (default <repo>/build-gpu);
#   5. runs the `gpu`-labelled tests (ctest -L gpu) and
#      bench_all --devices cuda:0 --filter cuda (GPU probes, GPU GEMM 1024..8192 square,
#      cuBLAS/cuBLASLt baselines) into OUTDIR/profile.json.
# Logs: OUTDIR/{env,configure,build,test,bench}.log, OUTDIR/summary.txt.
# Exit: 0 all passed; 1 a step failed (see its log); 2 bad usage or missing dependency;
# 3 no GPU. GPU clocks and settings are never touched.
# Options (environment): PERFCAL_GPU_CHECK_STOP=unpack|configure|build stops after that
# step (used on machines without a GPU to test the script; skips the GPU check).
# `gpu_check.sh --list-deps` prints the package list (fetch_gpu_deps.sh reads it).
set -euo pipefail

# Every package whose files the build or the programs need, development and runtime. The
# last group are libraries most systems have; they are used only where the system lacks
# them (see fallback_libs below).
DEPS=(
  libbenchmark-dev libbenchmark1debian
  libgtest-dev libgmock-dev
  nlohmann-json3-dev libcli11-dev
  libhwloc-dev libhwloc15
  libopenblas-dev libopenblas-pthread-dev libopenblas0-pthread
  libdnnl-dev libdnnl2 ocl-icd-opencl-dev ocl-icd-libopencl1 opencl-c-headers
  pkgconf-bin libpkgconf3
  libgfortran5 libquadmath0 libudev1
)
FALLBACK_SONAMES=(libgfortran.so.5 libquadmath.so.0 libudev.so.1)

if [[ "${1:-}" == "--list-deps" ]]; then
  printf '%s\n' "${DEPS[@]}"
  exit 0
fi
if [[ $# -ne 1 || "$1" == -* ]]; then
  echo "usage: scripts/gpu_check.sh OUTDIR   (or --list-deps)" >&2
  exit 2
fi

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUTDIR=$(mkdir -p "$1" && cd "$1" && pwd)
PREFIX=${PERFCAL_PREFIX:-/tmp/perfcal-prefix}
BUILD=${PERFCAL_GPU_BUILD_DIR:-$ROOT/build-gpu}
STOP=${PERFCAL_GPU_CHECK_STOP:-}
DEBS=$ROOT/deps/debs
START=$(date +%s)
DEADLINE=$((START + 470))  # 8 minutes, less a margin for the summary
SUMMARY=$OUTDIR/summary.txt
: >"$SUMMARY"

say() { echo "gpu_check: $*" | tee -a "$SUMMARY"; }
die() {  # die CODE MESSAGE
  local code=$1
  shift
  echo "gpu_check: FAILED: $*" | tee -a "$SUMMARY" >&2
  exit "$code"
}
left() { echo $((DEADLINE - $(date +%s))); }
# run_step NAME SECONDS CMD...: runs CMD with its output in OUTDIR/NAME.log, within the time
# left (at most SECONDS).
run_step() {
  local name=$1 cap=$2
  shift 2
  local budget
  budget=$(left)
  ((budget > cap)) && budget=$cap
  ((budget > 5)) || die 1 "no time left for step '$name' (8-minute budget)"
  local t0 rc=0
  t0=$(date +%s)
  timeout --signal=TERM --kill-after=10 "$budget" "$@" >"$OUTDIR/$name.log" 2>&1 || rc=$?
  say "$name: exit $rc after $(($(date +%s) - t0)) s (log: $name.log)"
  if ((rc == 124)); then die 1 "step '$name' ran out of its ${budget}s budget; see $OUTDIR/$name.log"; fi
  return $rc
}

# ---- 1. tools and dependencies --------------------------------------------------------
NVCC=${CUDACXX:-}
[[ -z "$NVCC" && -x /usr/local/cuda/bin/nvcc ]] && NVCC=/usr/local/cuda/bin/nvcc
[[ -z "$NVCC" ]] && NVCC=$(command -v nvcc || true)
[[ -n "$NVCC" && -x "$NVCC" ]] || die 2 "no nvcc (CUDA Toolkit): set CUDACXX or install it in /usr/local/cuda"
for tool in cmake ninja c++ tar; do
  command -v "$tool" >/dev/null || die 2 "'$tool' not found on PATH"
done
if ! command -v dpkg-deb >/dev/null; then
  command -v ar >/dev/null || die 2 "neither dpkg-deb nor ar (binutils) found: cannot unpack .deb files"
fi
[[ -d "$DEBS" ]] || die 2 "deps/debs/ is missing: run scripts/fetch_gpu_deps.sh on a development machine and bring deps/ along (device tool: carry [\"deps\"])"
missing=()
for p in "${DEPS[@]}"; do
  compgen -G "$DEBS/${p}_*.deb" >/dev/null || missing+=("$p")
done
((${#missing[@]} == 0)) || die 2 "deps/debs/ lacks ${missing[*]}: run scripts/fetch_gpu_deps.sh and bring deps/ along"
say "tools and ${#DEPS[@]} .deb files present ($(du -sh "$DEBS" | cut -f1))"

# ---- 2. private prefix ----------------------------------------------------------------
case "$PREFIX" in
  / | /usr | /usr/* | /lib* | /etc*) die 2 "PERFCAL_PREFIX=$PREFIX would unpack over the system; use a private folder" ;;
esac
extract_deb() {  # extract_deb FILE DIR: dpkg-deb -x, or ar + tar where dpkg is absent
  if command -v dpkg-deb >/dev/null; then
    dpkg-deb -x "$1" "$2"
  else
    local member
    member=$(ar t "$1" | grep '^data\.tar')
    case "$member" in
      *.xz) ar p "$1" "$member" | tar -xJ -C "$2" ;;
      *.zst) ar p "$1" "$member" | zstd -dc | tar -x -C "$2" ;;
      *.gz) ar p "$1" "$member" | tar -xz -C "$2" ;;
      *) ar p "$1" "$member" | tar -x -C "$2" ;;
    esac
  fi
}
rm -rf "$PREFIX"
mkdir -p "$PREFIX"
for p in "${DEPS[@]}"; do
  for f in "$DEBS/${p}"_*.deb; do
    extract_deb "$f" "$PREFIX" || die 2 "cannot unpack $f"
  done
done
U=$PREFIX/usr
LIBDIR=$U/lib/x86_64-linux-gnu
# pkg-config files name /usr: point them at the prefix. OpenBLAS's openblas.pc is an
# alternatives symlink that only dpkg's postinst creates: link it by hand.
find "$U" -name '*.pc' -type f -print0 | xargs -0 sed -i -E "s#^([A-Za-z_]+)=/usr#\1=$U#"
mkdir -p "$LIBDIR/pkgconfig"
ln -sf ../openblas-pthread/pkgconfig/openblas.pc "$LIBDIR/pkgconfig/openblas.pc"
ln -sf openblas-pthread/libopenblas.so.0 "$LIBDIR/libopenblas.so.0"
# Libraries most systems have: use the prefix's copy only where the system has none, so a
# newer system library is never shadowed.
FALLBACK=$PREFIX/fallback-lib
mkdir -p "$FALLBACK"
for so in "${FALLBACK_SONAMES[@]}"; do
  if ! ldconfig -p 2>/dev/null | grep -q "$so"; then
    ln -sf "$LIBDIR/$so" "$FALLBACK/$so"
  fi
done
for want in "$LIBDIR/cmake/dnnl/dnnl-config.cmake" "$LIBDIR/cmake/benchmark/benchmarkConfig.cmake" \
  "$LIBDIR/cmake/GTest/GTestConfig.cmake" "$U/share/cmake/CLI11/CLI11Config.cmake" \
  "$U/share/cmake/nlohmann_json/nlohmann_jsonConfig.cmake" "$LIBDIR/pkgconfig/hwloc.pc" \
  "$LIBDIR/openblas-pthread/libopenblas.so.0" "$LIBDIR/libdnnl.so.2" "$U/bin/pkgconf"; do
  [[ -e "$want" ]] || die 2 "unpacked prefix lacks $want (a .deb of the wrong version in deps/debs/?)"
done
export PKG_CONFIG_PATH=$LIBDIR/pkgconfig:$LIBDIR/openblas-pthread/pkgconfig:$U/share/pkgconfig
export LD_LIBRARY_PATH=$LIBDIR:$LIBDIR/openblas-pthread:$FALLBACK${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
PKGCONF=$(command -v pkg-config || true)
[[ -n "$PKGCONF" ]] || PKGCONF=$U/bin/pkgconf
"$PKGCONF" --exists hwloc openblas || die 2 "pkg-config ($PKGCONF) cannot read hwloc/openblas from $PREFIX"
{
  echo "prefix=$PREFIX"
  echo "PKG_CONFIG_PATH=$PKG_CONFIG_PATH"
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  echo "pkg-config=$PKGCONF"
  echo "nvcc=$NVCC"
  "$NVCC" --version | tail -1
  cmake --version | head -1
  c++ --version | head -1
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv || true
} >"$OUTDIR/env.log" 2>&1
say "prefix ready: $PREFIX"
[[ "$STOP" == unpack ]] && { say "stopping after unpack (PERFCAL_GPU_CHECK_STOP)"; exit 0; }

# ---- 3. a GPU? --------------------------------------------------------------------------
if [[ -z "$STOP" ]]; then
  gpus=""
  if command -v nvidia-smi >/dev/null; then gpus=$(nvidia-smi -L 2>/dev/null || true); fi
  if [[ -z "$gpus" && -x "$(dirname "$NVCC")/__nvcc_device_query" ]]; then
    gpus=$("$(dirname "$NVCC")/__nvcc_device_query" 2>/dev/null || true)
  fi
  [[ -n "$gpus" ]] || die 3 "no CUDA GPU visible (nvidia-smi -L and __nvcc_device_query found none); nothing built or run"
  say "GPU: $(echo "$gpus" | head -1)"
fi

# ---- 4. configure and build -----------------------------------------------------------
# CUDA architectures: kernels/CMakeLists.txt compiles sm_80 and sm_90 (the H200 runs the
# sm_90 code) and sm_90a for kernels/*/cuda/sm90a/.
run_step configure 120 cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CUDA_COMPILER="$NVCC" -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DPERFCAL_ENABLE_CUDA=ON -DPERFCAL_ENABLE_MPI=OFF \
  -DCMAKE_PREFIX_PATH="$U" -DPKG_CONFIG_EXECUTABLE="$PKGCONF" \
  -Ddnnl_DIR="$LIBDIR/cmake/dnnl" -Dbenchmark_DIR="$LIBDIR/cmake/benchmark" \
  -DGTest_DIR="$LIBDIR/cmake/GTest" -DCLI11_DIR="$U/share/cmake/CLI11" \
  -Dnlohmann_json_DIR="$U/share/cmake/nlohmann_json" \
  -DCMAKE_INCLUDE_PATH="$U/include" -DCMAKE_LIBRARY_PATH="$LIBDIR" ||
  die 1 "configure failed: $(grep -m1 -E 'CMake Error|Could NOT|not found' "$OUTDIR/configure.log" || tail -1 "$OUTDIR/configure.log")"
grep 'perfcal:' "$OUTDIR/configure.log" >>"$SUMMARY" || true
grep -q 'CUDA .* found' "$OUTDIR/configure.log" || die 1 "configure did not enable CUDA"
[[ "$STOP" == configure ]] && { say "stopping after configure (PERFCAL_GPU_CHECK_STOP)"; exit 0; }
JOBS=$(nproc 2>/dev/null || echo 4)
run_step build 330 cmake --build "$BUILD" -j "$JOBS" --target test_gemm_cuda bench_all ||
  die 1 "build failed: $(grep -m1 -E 'error|FAILED' "$OUTDIR/build.log" || tail -1 "$OUTDIR/build.log")"
[[ "$STOP" == build ]] && { say "stopping after build (PERFCAL_GPU_CHECK_STOP)"; exit 0; }

# ---- 5. tests and benchmarks -----------------------------------------------------------
status=0
run_step test 150 ctest --test-dir "$BUILD" -L gpu -j 8 --output-on-failure --timeout 140 || status=1
tail -3 "$OUTDIR/test.log" | tee -a "$SUMMARY"
run_step bench 240 "$BUILD/bin/bench_all" --devices cuda:0 --filter cuda \
  --repetitions 5 --min-time 0.05 --noise-retries 0 --time-limit 60 \
  --out "$OUTDIR/profile.json" || status=1
grep -E '^(gemm|probe)/cuda' "$OUTDIR/bench.log" | tail -40 >>"$SUMMARY" || true
say "total $(($(date +%s) - START)) s; profile: $OUTDIR/profile.json"
((status == 0)) || die 1 "a test or benchmark step failed; see $OUTDIR/test.log and bench.log"
say "all gpu tests passed and the GPU profile was written"
