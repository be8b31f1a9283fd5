// AVX2+FMA probe kernels (compiled with -mavx2 -mfma). Inline assembly for the same reason
// as probes_avx512.cpp; 12 chains in ymm4..15 cover 2 ports x 4-5 cycles of FMA latency.
#include <immintrin.h>

#include "probes.h"

namespace perfcal::bench::probe {

// 8 lanes x (mul + add) per instruction.
double fma_f32_avx2(int64_t iters, float* sink) {
  if (iters <= 0) return 0;
  const int64_t rounds = iters;
  alignas(32) float out[32 / sizeof(float)];
  __asm__ volatile(
  "vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
  "vmovaps %%ymm0, %%ymm4\n\t"
  "vmovaps %%ymm0, %%ymm5\n\t"
  "vmovaps %%ymm0, %%ymm6\n\t"
  "vmovaps %%ymm0, %%ymm7\n\t"
  "vmovaps %%ymm0, %%ymm8\n\t"
  "vmovaps %%ymm0, %%ymm9\n\t"
  "vmovaps %%ymm0, %%ymm10\n\t"
  "vmovaps %%ymm0, %%ymm11\n\t"
  "vmovaps %%ymm0, %%ymm12\n\t"
  "vmovaps %%ymm0, %%ymm13\n\t"
  "vmovaps %%ymm0, %%ymm14\n\t"
  "vmovaps %%ymm0, %%ymm15\n\t"
  "vmovq %[a], %%xmm0\n\t"
  "vpbroadcastd %%xmm0, %%ymm0\n\t"
  "vmovq %[b], %%xmm1\n\t"
  "vpbroadcastd %%xmm1, %%ymm1\n\t"
  "1:\n\t"
  "vfmadd231ps %%ymm0, %%ymm1, %%ymm4\n\t"
  "vfmadd231ps %%ymm0, %%ymm1, %%ymm5\n\t"
  "vfmadd231ps %%ymm0, %%ymm1, %%ymm6\n\t"
  "vfmadd231ps %%ymm0, %%ymm1, %%ymm7\n\t"
  "vfmadd231ps %%ymm0, %%ymm1, %%ymm8\n\t"
  "vfmadd231ps %%ymm0, %%ymm1, %%ymm9\n\t"
  "vfmadd231ps %%ymm0, %%ymm1, %%ymm10\n\t"
  "vfmadd231ps %%ymm0, %%ymm1, %%ymm11\n\t"
  "vfmadd231ps %%ymm0, %%ymm1, %%ymm12\n\t"
  "vfmadd231ps %%ymm0, %%ymm1, %%ymm13\n\t"
  "vfmadd231ps %%ymm0, %%ymm1, %%ymm14\n\t"
  "vfmadd231ps %%ymm0, %%ymm1, %%ymm15\n\t"
  "dec %[n]\n\t"
  "jnz 1b\n\t"
  "vaddps %%ymm5, %%ymm4, %%ymm4\n\t"
  "vaddps %%ymm6, %%ymm4, %%ymm4\n\t"
  "vaddps %%ymm7, %%ymm4, %%ymm4\n\t"
  "vaddps %%ymm8, %%ymm4, %%ymm4\n\t"
  "vaddps %%ymm9, %%ymm4, %%ymm4\n\t"
  "vaddps %%ymm10, %%ymm4, %%ymm4\n\t"
  "vaddps %%ymm11, %%ymm4, %%ymm4\n\t"
  "vaddps %%ymm12, %%ymm4, %%ymm4\n\t"
  "vaddps %%ymm13, %%ymm4, %%ymm4\n\t"
  "vaddps %%ymm14, %%ymm4, %%ymm4\n\t"
  "vaddps %%ymm15, %%ymm4, %%ymm4\n\t"
  "vmovaps %%ymm4, %[out]\n\t"
  "vzeroupper\n\t"
      : [n] "+r"(iters), [out] "=m"(out)
      : [a] "r"(uint64_t{0x3f7fffefu}), [b] "r"(uint64_t{0x33d6bf95u})
      : "xmm0", "xmm1", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc", "memory");
  for (float x : out) *sink += x;
  return double(rounds) * 12 * 8 * 2;
}

// 4 lanes x (mul + add) per instruction.
double fma_f64_avx2(int64_t iters, double* sink) {
  if (iters <= 0) return 0;
  const int64_t rounds = iters;
  alignas(32) double out[32 / sizeof(double)];
  __asm__ volatile(
  "vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
  "vmovaps %%ymm0, %%ymm4\n\t"
  "vmovaps %%ymm0, %%ymm5\n\t"
  "vmovaps %%ymm0, %%ymm6\n\t"
  "vmovaps %%ymm0, %%ymm7\n\t"
  "vmovaps %%ymm0, %%ymm8\n\t"
  "vmovaps %%ymm0, %%ymm9\n\t"
  "vmovaps %%ymm0, %%ymm10\n\t"
  "vmovaps %%ymm0, %%ymm11\n\t"
  "vmovaps %%ymm0, %%ymm12\n\t"
  "vmovaps %%ymm0, %%ymm13\n\t"
  "vmovaps %%ymm0, %%ymm14\n\t"
  "vmovaps %%ymm0, %%ymm15\n\t"
  "vmovq %[a], %%xmm0\n\t"
  "vpbroadcastq %%xmm0, %%ymm0\n\t"
  "vmovq %[b], %%xmm1\n\t"
  "vpbroadcastq %%xmm1, %%ymm1\n\t"
  "1:\n\t"
  "vfmadd231pd %%ymm0, %%ymm1, %%ymm4\n\t"
  "vfmadd231pd %%ymm0, %%ymm1, %%ymm5\n\t"
  "vfmadd231pd %%ymm0, %%ymm1, %%ymm6\n\t"
  "vfmadd231pd %%ymm0, %%ymm1, %%ymm7\n\t"
  "vfmadd231pd %%ymm0, %%ymm1, %%ymm8\n\t"
  "vfmadd231pd %%ymm0, %%ymm1, %%ymm9\n\t"
  "vfmadd231pd %%ymm0, %%ymm1, %%ymm10\n\t"
  "vfmadd231pd %%ymm0, %%ymm1, %%ymm11\n\t"
  "vfmadd231pd %%ymm0, %%ymm1, %%ymm12\n\t"
  "vfmadd231pd %%ymm0, %%ymm1, %%ymm13\n\t"
  "vfmadd231pd %%ymm0, %%ymm1, %%ymm14\n\t"
  "vfmadd231pd %%ymm0, %%ymm1, %%ymm15\n\t"
  "dec %[n]\n\t"
  "jnz 1b\n\t"
  "vaddpd %%ymm5, %%ymm4, %%ymm4\n\t"
  "vaddpd %%ymm6, %%ymm4, %%ymm4\n\t"
  "vaddpd %%ymm7, %%ymm4, %%ymm4\n\t"
  "vaddpd %%ymm8, %%ymm4, %%ymm4\n\t"
  "vaddpd %%ymm9, %%ymm4, %%ymm4\n\t"
  "vaddpd %%ymm10, %%ymm4, %%ymm4\n\t"
  "vaddpd %%ymm11, %%ymm4, %%ymm4\n\t"
  "vaddpd %%ymm12, %%ymm4, %%ymm4\n\t"
  "vaddpd %%ymm13, %%ymm4, %%ymm4\n\t"
  "vaddpd %%ymm14, %%ymm4, %%ymm4\n\t"
  "vaddpd %%ymm15, %%ymm4, %%ymm4\n\t"
  "vmovaps %%ymm4, %[out]\n\t"
  "vzeroupper\n\t"
      : [n] "+r"(iters), [out] "=m"(out)
      : [a] "r"(uint64_t{0x3fefffffffffffefull}), [b] "r"(uint64_t{0x3e7ad7f29abcaf48ull})
      : "xmm0", "xmm1", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc", "memory");
  for (double x : out) *sink += x;
  return double(rounds) * 12 * 4 * 2;
}

}  // namespace perfcal::bench::probe
