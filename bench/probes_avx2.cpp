// AVX2+FMA probe kernels (compiled with -mavx2 -mfma). Inline assembly for the same reason
// as probes_avx512.cpp; 12 chains in ymm4..15 cover 2 ports x 4-5 cycles of FMA latency.
#include <immintrin.h>

#include "probes.h"

namespace perfcal::bench::probe {
namespace {

// As PERFCAL_ZMM_PROBE in probes_avx512.cpp, on ymm registers (AVX2 has no broadcast from a
// general register, so the operands go through xmm0/xmm1 first).
#define PERFCAL_YMM_PROBE(INSN, ADD, BCAST, iters, a, b, out)                          \
  __asm__ volatile(                                                                    \
      "vpxor %%ymm0, %%ymm0, %%ymm0\n\t"                                               \
      ".irp r,4,5,6,7,8,9,10,11,12,13,14,15\n\t"                                       \
      "vmovaps %%ymm0, %%ymm\\r\n\t"                                                  \
      ".endr\n\t"                                                                      \
      "vmovq %[av], %%xmm0\n\t" BCAST " %%xmm0, %%ymm0\n\t"                            \
      "vmovq %[bv], %%xmm1\n\t" BCAST " %%xmm1, %%ymm1\n\t"                            \
      "1:\n\t"                                                                         \
      ".irp r,4,5,6,7,8,9,10,11,12,13,14,15\n\t" INSN " %%ymm0, %%ymm1, %%ymm\\r\n\t"  \
      ".endr\n\t"                                                                      \
      "dec %[n]\n\t"                                                                   \
      "jnz 1b\n\t"                                                                     \
      ".irp r,5,6,7,8,9,10,11,12,13,14,15\n\t" ADD " %%ymm\\r, %%ymm4, %%ymm4\n\t"    \
      ".endr\n\t"                                                                      \
      "vmovups %%ymm4, %[o]\n\t"                                                       \
      "vzeroupper\n\t"                                                                 \
      : [n] "+r"(iters), [o] "=m"(out)                                                 \
      : [av] "r"(uint64_t{a}), [bv] "r"(uint64_t{b})                                   \
      : "xmm0", "xmm1", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",        \
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc", "memory")

constexpr int kChains = 12;

}  // namespace

// 8 lanes x (mul + add) per instruction.
double fma_f32_avx2(int64_t iters, float* sink) {
  if (iters <= 0) return 0;
  const double flops = double(iters) * kChains * 8 * 2;
  float out[8];
  PERFCAL_YMM_PROBE("vfmadd231ps", "vaddps", "vpbroadcastd", iters, 0x3f7fffefu, 0x33d6bf95u, out);
  for (float x : out) *sink += x;
  return flops;
}

// 4 lanes x (mul + add) per instruction.
double fma_f64_avx2(int64_t iters, double* sink) {
  if (iters <= 0) return 0;
  const double flops = double(iters) * kChains * 4 * 2;
  double out[4];
  PERFCAL_YMM_PROBE("vfmadd231pd", "vaddpd", "vpbroadcastq", iters, 0x3fefffffffffffefull,
                    0x3e7ad7f29abcaf48ull, out);
  for (double x : out) *sink += x;
  return flops;
}

}  // namespace perfcal::bench::probe
