// AVX-512 probe kernels (compiled with -mavx512*; only called when cpuid says so).
// The FMA loops are inline assembly: with intrinsics GCC kept the accumulator array in
// memory (a load and a store per FMA), which measured a quarter of the real peak. Sixteen
// independent chains in zmm16..31 cover 2 FMA ports x 4-cycle latency with margin.
// Operands are tiny so the chains converge to a finite fixed point instead of overflowing.
#include <immintrin.h>

#include "probes.h"

namespace perfcal::bench::probe {

// 16 lanes x (mul + add) per instruction.
double fma_f32_avx512(int64_t iters, float* sink) {
  if (iters <= 0) return 0;
  const int64_t rounds = iters;
  alignas(64) float out[64 / sizeof(float)];
  __asm__ volatile(
  "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
  "vmovaps %%zmm0, %%zmm16\n\t"
  "vmovaps %%zmm0, %%zmm17\n\t"
  "vmovaps %%zmm0, %%zmm18\n\t"
  "vmovaps %%zmm0, %%zmm19\n\t"
  "vmovaps %%zmm0, %%zmm20\n\t"
  "vmovaps %%zmm0, %%zmm21\n\t"
  "vmovaps %%zmm0, %%zmm22\n\t"
  "vmovaps %%zmm0, %%zmm23\n\t"
  "vmovaps %%zmm0, %%zmm24\n\t"
  "vmovaps %%zmm0, %%zmm25\n\t"
  "vmovaps %%zmm0, %%zmm26\n\t"
  "vmovaps %%zmm0, %%zmm27\n\t"
  "vmovaps %%zmm0, %%zmm28\n\t"
  "vmovaps %%zmm0, %%zmm29\n\t"
  "vmovaps %%zmm0, %%zmm30\n\t"
  "vmovaps %%zmm0, %%zmm31\n\t"
  "vpbroadcastd %[a], %%zmm0\n\t"
  "vpbroadcastd %[b], %%zmm1\n\t"
  "1:\n\t"
  "vfmadd231ps %%zmm0, %%zmm1, %%zmm16\n\t"
  "vfmadd231ps %%zmm0, %%zmm1, %%zmm17\n\t"
  "vfmadd231ps %%zmm0, %%zmm1, %%zmm18\n\t"
  "vfmadd231ps %%zmm0, %%zmm1, %%zmm19\n\t"
  "vfmadd231ps %%zmm0, %%zmm1, %%zmm20\n\t"
  "vfmadd231ps %%zmm0, %%zmm1, %%zmm21\n\t"
  "vfmadd231ps %%zmm0, %%zmm1, %%zmm22\n\t"
  "vfmadd231ps %%zmm0, %%zmm1, %%zmm23\n\t"
  "vfmadd231ps %%zmm0, %%zmm1, %%zmm24\n\t"
  "vfmadd231ps %%zmm0, %%zmm1, %%zmm25\n\t"
  "vfmadd231ps %%zmm0, %%zmm1, %%zmm26\n\t"
  "vfmadd231ps %%zmm0, %%zmm1, %%zmm27\n\t"
  "vfmadd231ps %%zmm0, %%zmm1, %%zmm28\n\t"
  "vfmadd231ps %%zmm0, %%zmm1, %%zmm29\n\t"
  "vfmadd231ps %%zmm0, %%zmm1, %%zmm30\n\t"
  "vfmadd231ps %%zmm0, %%zmm1, %%zmm31\n\t"
  "dec %[n]\n\t"
  "jnz 1b\n\t"
  "vaddps %%zmm17, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm18, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm19, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm20, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm21, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm22, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm23, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm24, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm25, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm26, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm27, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm28, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm29, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm30, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm31, %%zmm16, %%zmm16\n\t"
  "vmovaps %%zmm16, %[out]\n\t"
      : [n] "+r"(iters), [out] "=m"(out)
      : [a] "r"(uint32_t{0x3f7fffefu}), [b] "r"(uint32_t{0x33d6bf95u})
      : "xmm0", "xmm1", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "cc", "memory");
  for (float x : out) *sink += x;
  return double(rounds) * 16 * 16 * 2;
}

// 8 lanes x (mul + add) per instruction.
double fma_f64_avx512(int64_t iters, double* sink) {
  if (iters <= 0) return 0;
  const int64_t rounds = iters;
  alignas(64) double out[64 / sizeof(double)];
  __asm__ volatile(
  "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
  "vmovaps %%zmm0, %%zmm16\n\t"
  "vmovaps %%zmm0, %%zmm17\n\t"
  "vmovaps %%zmm0, %%zmm18\n\t"
  "vmovaps %%zmm0, %%zmm19\n\t"
  "vmovaps %%zmm0, %%zmm20\n\t"
  "vmovaps %%zmm0, %%zmm21\n\t"
  "vmovaps %%zmm0, %%zmm22\n\t"
  "vmovaps %%zmm0, %%zmm23\n\t"
  "vmovaps %%zmm0, %%zmm24\n\t"
  "vmovaps %%zmm0, %%zmm25\n\t"
  "vmovaps %%zmm0, %%zmm26\n\t"
  "vmovaps %%zmm0, %%zmm27\n\t"
  "vmovaps %%zmm0, %%zmm28\n\t"
  "vmovaps %%zmm0, %%zmm29\n\t"
  "vmovaps %%zmm0, %%zmm30\n\t"
  "vmovaps %%zmm0, %%zmm31\n\t"
  "vpbroadcastq %[a], %%zmm0\n\t"
  "vpbroadcastq %[b], %%zmm1\n\t"
  "1:\n\t"
  "vfmadd231pd %%zmm0, %%zmm1, %%zmm16\n\t"
  "vfmadd231pd %%zmm0, %%zmm1, %%zmm17\n\t"
  "vfmadd231pd %%zmm0, %%zmm1, %%zmm18\n\t"
  "vfmadd231pd %%zmm0, %%zmm1, %%zmm19\n\t"
  "vfmadd231pd %%zmm0, %%zmm1, %%zmm20\n\t"
  "vfmadd231pd %%zmm0, %%zmm1, %%zmm21\n\t"
  "vfmadd231pd %%zmm0, %%zmm1, %%zmm22\n\t"
  "vfmadd231pd %%zmm0, %%zmm1, %%zmm23\n\t"
  "vfmadd231pd %%zmm0, %%zmm1, %%zmm24\n\t"
  "vfmadd231pd %%zmm0, %%zmm1, %%zmm25\n\t"
  "vfmadd231pd %%zmm0, %%zmm1, %%zmm26\n\t"
  "vfmadd231pd %%zmm0, %%zmm1, %%zmm27\n\t"
  "vfmadd231pd %%zmm0, %%zmm1, %%zmm28\n\t"
  "vfmadd231pd %%zmm0, %%zmm1, %%zmm29\n\t"
  "vfmadd231pd %%zmm0, %%zmm1, %%zmm30\n\t"
  "vfmadd231pd %%zmm0, %%zmm1, %%zmm31\n\t"
  "dec %[n]\n\t"
  "jnz 1b\n\t"
  "vaddpd %%zmm17, %%zmm16, %%zmm16\n\t"
  "vaddpd %%zmm18, %%zmm16, %%zmm16\n\t"
  "vaddpd %%zmm19, %%zmm16, %%zmm16\n\t"
  "vaddpd %%zmm20, %%zmm16, %%zmm16\n\t"
  "vaddpd %%zmm21, %%zmm16, %%zmm16\n\t"
  "vaddpd %%zmm22, %%zmm16, %%zmm16\n\t"
  "vaddpd %%zmm23, %%zmm16, %%zmm16\n\t"
  "vaddpd %%zmm24, %%zmm16, %%zmm16\n\t"
  "vaddpd %%zmm25, %%zmm16, %%zmm16\n\t"
  "vaddpd %%zmm26, %%zmm16, %%zmm16\n\t"
  "vaddpd %%zmm27, %%zmm16, %%zmm16\n\t"
  "vaddpd %%zmm28, %%zmm16, %%zmm16\n\t"
  "vaddpd %%zmm29, %%zmm16, %%zmm16\n\t"
  "vaddpd %%zmm30, %%zmm16, %%zmm16\n\t"
  "vaddpd %%zmm31, %%zmm16, %%zmm16\n\t"
  "vmovaps %%zmm16, %[out]\n\t"
      : [n] "+r"(iters), [out] "=m"(out)
      : [a] "r"(uint64_t{0x3fefffffffffffefull}), [b] "r"(uint64_t{0x3e7ad7f29abcaf48ull})
      : "xmm0", "xmm1", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "cc", "memory");
  for (double x : out) *sink += x;
  return double(rounds) * 16 * 8 * 2;
}

// 16 lanes x 2 bf16 pairs x (mul + add) per instruction.
double dpbf16_avx512(int64_t iters, float* sink) {
  if (iters <= 0) return 0;
  const int64_t rounds = iters;
  alignas(64) float out[64 / sizeof(float)];
  __asm__ volatile(
  "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
  "vmovaps %%zmm0, %%zmm16\n\t"
  "vmovaps %%zmm0, %%zmm17\n\t"
  "vmovaps %%zmm0, %%zmm18\n\t"
  "vmovaps %%zmm0, %%zmm19\n\t"
  "vmovaps %%zmm0, %%zmm20\n\t"
  "vmovaps %%zmm0, %%zmm21\n\t"
  "vmovaps %%zmm0, %%zmm22\n\t"
  "vmovaps %%zmm0, %%zmm23\n\t"
  "vmovaps %%zmm0, %%zmm24\n\t"
  "vmovaps %%zmm0, %%zmm25\n\t"
  "vmovaps %%zmm0, %%zmm26\n\t"
  "vmovaps %%zmm0, %%zmm27\n\t"
  "vmovaps %%zmm0, %%zmm28\n\t"
  "vmovaps %%zmm0, %%zmm29\n\t"
  "vmovaps %%zmm0, %%zmm30\n\t"
  "vmovaps %%zmm0, %%zmm31\n\t"
  "vpbroadcastd %[a], %%zmm0\n\t"
  "vpbroadcastd %[b], %%zmm1\n\t"
  "1:\n\t"
  "vdpbf16ps %%zmm0, %%zmm1, %%zmm16\n\t"
  "vdpbf16ps %%zmm0, %%zmm1, %%zmm17\n\t"
  "vdpbf16ps %%zmm0, %%zmm1, %%zmm18\n\t"
  "vdpbf16ps %%zmm0, %%zmm1, %%zmm19\n\t"
  "vdpbf16ps %%zmm0, %%zmm1, %%zmm20\n\t"
  "vdpbf16ps %%zmm0, %%zmm1, %%zmm21\n\t"
  "vdpbf16ps %%zmm0, %%zmm1, %%zmm22\n\t"
  "vdpbf16ps %%zmm0, %%zmm1, %%zmm23\n\t"
  "vdpbf16ps %%zmm0, %%zmm1, %%zmm24\n\t"
  "vdpbf16ps %%zmm0, %%zmm1, %%zmm25\n\t"
  "vdpbf16ps %%zmm0, %%zmm1, %%zmm26\n\t"
  "vdpbf16ps %%zmm0, %%zmm1, %%zmm27\n\t"
  "vdpbf16ps %%zmm0, %%zmm1, %%zmm28\n\t"
  "vdpbf16ps %%zmm0, %%zmm1, %%zmm29\n\t"
  "vdpbf16ps %%zmm0, %%zmm1, %%zmm30\n\t"
  "vdpbf16ps %%zmm0, %%zmm1, %%zmm31\n\t"
  "dec %[n]\n\t"
  "jnz 1b\n\t"
  "vaddps %%zmm17, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm18, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm19, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm20, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm21, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm22, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm23, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm24, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm25, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm26, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm27, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm28, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm29, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm30, %%zmm16, %%zmm16\n\t"
  "vaddps %%zmm31, %%zmm16, %%zmm16\n\t"
  "vmovaps %%zmm16, %[out]\n\t"
      : [n] "+r"(iters), [out] "=m"(out)
      : [a] "r"(uint32_t{0x3f803f80u}), [b] "r"(uint32_t{0x33803380u})
      : "xmm0", "xmm1", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "cc", "memory");
  for (float x : out) *sink += x;
  return double(rounds) * 16 * 16 * 4;
}

double read_sweep_avx512(const float* buf, std::size_t floats, int passes, float* sink) {
  // Eight independent sums so the loop is bound by loads, not by add latency.
  __m512 s[8];
  for (auto& x : s) x = _mm512_setzero_ps();
  std::size_t n = floats / 128 * 128;
  for (int p = 0; p < passes; ++p) {
    for (std::size_t i = 0; i < n; i += 128)
      for (int j = 0; j < 8; ++j) s[j] = _mm512_add_ps(s[j], _mm512_load_ps(buf + i + 16 * j));
    __asm__ volatile("" : "+v"(s[0]));
  }
  __m512 t = s[0];
  for (int j = 1; j < 8; ++j) t = _mm512_add_ps(t, s[j]);
  *sink += _mm512_reduce_add_ps(t);
  return double(n) * 4.0 * passes;
}

}  // namespace perfcal::bench::probe
