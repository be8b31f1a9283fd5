#!/usr/bin/env bash
# Measures what the CPU issues' performance bars compare, each family in one run with its
# baselines side by side, into OUTDIR/<family>.json (+ .log), then prints the tables.
# Usage: scripts/measure_bars.sh OUTDIR [gemm] [gemm-skinny] [gemm-shapes] [attention] [allreduce]
#        (default: all)
#
# OpenBLAS: this machine's environment may force a slow core (OPENBLAS_CORETYPE=Haswell,
# OPENBLAS_L2_SIZE); the comparison unsets both for its own commands only and names the
# core OpenBLAS should use (PERFCAL_OPENBLAS_CORE, default Cooperlake: OpenBLAS 0.3.21 does
# not recognise this KVM CPU and would fall back to Prescott, SSE3). The profile records the
# core OpenBLAS actually ran (software.openblas_core). Run on a quiet machine: these are
# medians, but a second job on 2 cores halves everything.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
[ $# -ge 1 ] || { echo "usage: scripts/measure_bars.sh OUTDIR [gemm] [gemm-skinny] [gemm-shapes] [attention] [allreduce]" >&2; exit 2; }
out="$1"
shift
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(gemm gemm-skinny gemm-shapes attention allreduce)
mkdir -p "$out"
bin="$perfcal_root/build/bin"
[ -x "$bin/bench_all" ] || { echo "measure_bars: build first (scripts/test.sh or perfcal_build)" >&2; exit 2; }
blas=(env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE="${PERFCAL_OPENBLAS_CORE:-Cooperlake}")
squares='(k:512/m:512/n:512|k:1024/m:1024/n:1024|k:2048/m:2048/n:2048|k:4096/m:4096/n:4096)/ta:N/tb:N/'

for part in "${parts[@]}"; do
  case "$part" in
    gemm)
      # Square f32 and bf16, 1 and 2 threads: perfcal, OpenBLAS, oneDNN; the FMA probes right
      # before, for % of peak (bench_gemm has none of its own).
      "$bin/bench_probe" --threads 1,2 --filter 'probe/cpu/fma/(f32|bf16)' --out "$out/probe.json" \
        2>&1 | tee "$out/probe.log"
      "${blas[@]}" "$bin/bench_gemm" --interleave --threads 1,2 --noise-retries 2 \
        --filter "gemm/cpu/(avx512|openblas|onednn)/(f32|bf16)/$squares" \
        --out "$out/gemm.json" 2>&1 | tee "$out/gemm.log" ;;
    gemm-skinny)
      # Decode-time GEMMs, f32 and bf16, beside the baselines: M = 1..64 rows of 4096 x 4096,
      # and the same through PyTorch's x W^T (m = 4096, n = M, A transposed).
      "${blas[@]}" "$bin/bench_gemm" --interleave --threads 1,2 --noise-retries 1 \
        --filter "gemm/cpu/(avx512|openblas|onednn)/(f32|bf16)/(k:4096/m:(1|2|4|8|16|32|64)/n:4096/ta:N/tb:N|k:4096/m:4096/n:(1|2|4|8|16|32|64)/ta:T/tb:N)/" \
        --out "$out/gemm-skinny.json" 2>&1 | tee "$out/gemm-skinny.log" ;;
    gemm-shapes)
      # The 512-token LLM shapes, f32, beside both baselines: the per-shape ratios issue 3
      # asks to report (forward both ways: X W^T column-major, and as PyTorch's row-major
      # call arrives, A transposed with n = 512 tokens).
      "${blas[@]}" "$bin/bench_gemm" --interleave --threads 1,2 --noise-retries 1 \
        --filter "gemm/cpu/(avx512|openblas|onednn)/f32/(k:(4096|11008|14336)/m:512/n:[0-9]+/ta:N/tb:[NT]|k:512/m:[0-9]+/n:4096/ta:T/tb:N|k:4096/m:[0-9]+/n:512/ta:T/tb:N)/" \
        --out "$out/gemm-shapes.json" 2>&1 | tee "$out/gemm-shapes.log" ;;
    attention)
      # head_dim 128, seq 2048/4096 non-causal fwd and bwd (the bars), seq 8192 for memory.
      "${blas[@]}" "$bin/bench_attention" --interleave --threads 1,2 --noise-retries 1 \
        --filter 'probe/cpu/fma/|attention/cpu/(flash|composed)/(fwd|bwd)/(f32|bf16)/(fwd|bwd)/b:1/h:8/kvh:8/s:(2048|4096)/d:128/threads' \
        --out "$out/attention.json" 2>&1 | tee "$out/attention.log"
      "${blas[@]}" "$bin/bench_attention" --threads 2 --noise-retries 0 --repetitions 1 \
        --filter 'attention/cpu/(flash|composed)/fwd/f32/fwd/b:1/h:8/kvh:8/s:8192/d:128/threads' \
        --out "$out/attention-8192.json" 2>&1 | tee "$out/attention-8192.log" ;;
    allreduce)
      # The memory bound needs the triad of 2 threads, measured right before.
      "$bin/bench_probe" --threads 1,2 --filter 'probe/cpu/(mem/triad|fma/)' --out "$out/triad.json" \
        2>&1 | tee "$out/triad.log"
      "$bin/bench_allreduce" -t 2 -b 8 -e 256M -f 2 --out "$out/allreduce-threads.json" \
        2>&1 | tee "$out/allreduce-threads.log"
      mpirun --allow-run-as-root -np 2 "$bin/bench_allreduce" -b 8 -e 256M -f 2 \
        --out "$out/allreduce-mpi.json" 2>&1 | tee "$out/allreduce-mpi.log" ;;
    *) echo "measure_bars: unknown part \"$part\" (gemm, gemm-skinny, gemm-shapes, attention, allreduce)" >&2; exit 2 ;;
  esac
done
for f in "$out"/*.json; do
  echo "== $f"
  python3 "$perfcal_root/scripts/profile_table.py" "$f"
done
