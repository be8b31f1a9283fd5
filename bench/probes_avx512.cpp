// AVX-512 probe kernels (compiled with -mavx512*; only called when cpuid says so).
// The FMA loops are inline assembly: with intrinsics GCC kept the accumulator array in
// memory (a load and a store per FMA), which measured a quarter of the real peak. Sixteen
// independent chains in zmm16..31 cover 2 FMA ports x 4-cycle latency with margin.
// Operands are tiny so the chains converge to a finite fixed point instead of overflowing.
#include <immintrin.h>

#include "probes.h"

namespace perfcal::bench::probe {
namespace {

// One probe loop: zero zmm16..31, broadcast the two operands into zmm0/zmm1, run `iters`
// rounds of INSN on every accumulator, then sum the accumulators (ADD) into `out`.
// GAS's .irp expands the register lists, so each probe differs only in its instructions.
#define PERFCAL_ZMM_PROBE(INSN, ADD, BCAST, iters, a, b, out)                          \
  __asm__ volatile(                                                                    \
      "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"                                              \
      ".irp r,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n\t"                     \
      "vmovaps %%zmm0, %%zmm\\r\n\t"                                                  \
      ".endr\n\t" BCAST " %[av], %%zmm0\n\t" BCAST " %[bv], %%zmm1\n\t"               \
      "1:\n\t"                                                                         \
      ".irp r,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n\t" INSN                \
      " %%zmm0, %%zmm1, %%zmm\\r\n\t"                                                 \
      ".endr\n\t"                                                                      \
      "dec %[n]\n\t"                                                                   \
      "jnz 1b\n\t"                                                                     \
      ".irp r,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n\t" ADD                    \
      " %%zmm\\r, %%zmm16, %%zmm16\n\t"                                               \
      ".endr\n\t"                                                                      \
      "vmovups %%zmm16, %[o]\n\t"                                                      \
      : [n] "+r"(iters), [o] "=m"(out)                                                 \
      : [av] "r"(a), [bv] "r"(b)                                                       \
      : "xmm0", "xmm1", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22",  \
        "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", \
        "cc", "memory")

constexpr int kChains = 16;

template <class T>
T lane_sum(const T (&v)[64 / sizeof(T)]) {
  T s = 0;
  for (T x : v) s += x;
  return s;
}

}  // namespace

// 16 lanes x (mul + add) per instruction. Operands 0.999999 and 1e-7 (bit patterns).
double fma_f32_avx512(int64_t iters, float* sink) {
  if (iters <= 0) return 0;
  const double flops = double(iters) * kChains * 16 * 2;
  float out[16];
  PERFCAL_ZMM_PROBE("vfmadd231ps", "vaddps", "vpbroadcastd", iters, 0x3f7fffefu, 0x33d6bf95u, out);
  *sink += lane_sum(out);
  return flops;
}

// 8 lanes x (mul + add) per instruction.
double fma_f64_avx512(int64_t iters, double* sink) {
  if (iters <= 0) return 0;
  const double flops = double(iters) * kChains * 8 * 2;
  double out[8];
  PERFCAL_ZMM_PROBE("vfmadd231pd", "vaddpd", "vpbroadcastq", iters, 0x3fefffffffffffefull,
                    0x3e7ad7f29abcaf48ull, out);
  *sink += lane_sum(out);
  return flops;
}

// 16 lanes x 2 bf16 pairs x (mul + add) per instruction; operands are bf16 pairs
// (1.0, 1.0) and (~6e-8, ~6e-8).
double dpbf16_avx512(int64_t iters, float* sink) {
  if (iters <= 0) return 0;
  const double flops = double(iters) * kChains * 16 * 2 * 2;
  float out[16];
  PERFCAL_ZMM_PROBE("vdpbf16ps", "vaddps", "vpbroadcastd", iters, 0x3f803f80u, 0x33803380u, out);
  *sink += lane_sum(out);
  return flops;
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
