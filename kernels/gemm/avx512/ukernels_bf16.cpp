// AVX-512 BF16 micro-kernels: bf16 A and B, fp32 accumulation with vdpbf16ps
// (_mm512_dpbf16_ps: each fp32 lane += a[2l]*b[2l] + a[2l+1]*b[2l+1]).
//
// Variants (MR x NR; gemm/cpu/avx512/bf16 uses them): 32x12 (default), 32x14, 48x8, 64x6,
// 16x28, 16x14.
// Panels hold k in pairs (ukernel.h): one zmm load of A gives 16 rows x 2 k; one 32-bit
// broadcast of B gives the (k, k+1) pair of one column. Per k pair the kernel issues
// MR/16 loads, NR broadcasts and MR/16 * NR vdpbf16ps into register-resident accumulators.
// Requires AVX512F + AVX512_BF16 (checked by the variant before it is chosen).
#include <immintrin.h>

#include <cstring>

#include "gemm/ukernel.h"

namespace perfcal::gemm::ukr {
namespace {

template <int MV, int NR>
__attribute__((always_inline)) inline void step(__m512 (&acc)[NR][MV], const uint16_t* a,
                                                const uint16_t* b) {
  __m512bh av[MV];
#pragma GCC unroll 8
  for (int v = 0; v < MV; ++v) av[v] = (__m512bh)_mm512_load_si512(a + 32 * v);
#pragma GCC unroll 32
  for (int j = 0; j < NR; ++j) {
    int32_t pair;
    std::memcpy(&pair, b + 2 * j, 4);  // (b[k][j], b[k+1][j]) as one 32-bit lane
    const __m512bh bj = (__m512bh)_mm512_set1_epi32(pair);
#pragma GCC unroll 8
    for (int v = 0; v < MV; ++v) acc[j][v] = _mm512_dpbf16_ps(acc[j][v], av[v], bj);
  }
}

inline __mmask16 row_mask(int m, int v) {
  int rows = m - 16 * v;
  if (rows >= 16) return 0xffff;
  if (rows <= 0) return 0;
  return static_cast<__mmask16>((1u << rows) - 1);
}

template <int MV, int NR>
void kernel(const Args& args) {
  constexpr int MR = 16 * MV;
  const uint16_t* __restrict a = static_cast<const uint16_t*>(args.a);
  const uint16_t* __restrict b = static_cast<const uint16_t*>(args.b);
  float* c = args.c;
  const int64_t ldc = args.ldc;

  __m512 acc[NR][MV];
#pragma GCC unroll 32
  for (int j = 0; j < NR; ++j)
#pragma GCC unroll 8
    for (int v = 0; v < MV; ++v) acc[j][v] = _mm512_setzero_ps();

  // Pull the C tile towards L1 while the k loop runs.
  for (int j = 0; j < args.n; ++j)
    for (int v = 0; v < MV; ++v)
      _mm_prefetch(reinterpret_cast<const char*>(c + j * ldc + 16 * v), _MM_HINT_T0);

  int64_t kp = args.kc / 2;  // k pairs
  if (args.prefetch > 0) {
    // One k pair of A is MV cache lines; prefetch `prefetch` k steps (= prefetch/2 pairs)
    // ahead so the A micro-panel streaming from L2 arrives in time.
    const int64_t pf = int64_t{(args.prefetch + 1) / 2} * 2 * MR;
    for (; kp >= 2; kp -= 2) {
#pragma GCC unroll 2
      for (int u = 0; u < 2; ++u) {
#pragma GCC unroll 8
        for (int v = 0; v < MV; ++v)
          _mm_prefetch(reinterpret_cast<const char*>(a + pf + 32 * v), _MM_HINT_T0);
        step<MV, NR>(acc, a, b);
        a += 2 * MR;
        b += 2 * NR;
      }
    }
  } else {
    for (; kp >= 2; kp -= 2) {
#pragma GCC unroll 2
      for (int u = 0; u < 2; ++u) {
        step<MV, NR>(acc, a, b);
        a += 2 * MR;
        b += 2 * NR;
      }
    }
  }
  for (; kp > 0; --kp) {
    step<MV, NR>(acc, a, b);
    a += 2 * MR;
    b += 2 * NR;
  }

  const __m512 valpha = _mm512_set1_ps(args.alpha);
  const __m512 vbeta = _mm512_set1_ps(args.beta);
  const bool read_c = args.beta != 0.0f;
  if (args.m == MR && args.n == NR) {
#pragma GCC unroll 32
    for (int j = 0; j < NR; ++j)
#pragma GCC unroll 8
      for (int v = 0; v < MV; ++v) {
        float* p = c + j * ldc + 16 * v;
        __m512 r = _mm512_mul_ps(acc[j][v], valpha);
        if (read_c) r = _mm512_fmadd_ps(vbeta, _mm512_loadu_ps(p), r);
        _mm512_storeu_ps(p, r);
      }
    return;
  }
  __mmask16 mask[MV];
  for (int v = 0; v < MV; ++v) mask[v] = row_mask(args.m, v);
#pragma GCC unroll 32
  for (int j = 0; j < NR; ++j) {
    if (j >= args.n) break;
#pragma GCC unroll 8
    for (int v = 0; v < MV; ++v) {
      if (!mask[v]) continue;
      float* p = c + j * ldc + 16 * v;
      __m512 r = _mm512_mul_ps(acc[j][v], valpha);
      if (read_c) r = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(mask[v], p), r);
      _mm512_mask_storeu_ps(p, mask[v], r);
    }
  }
}

}  // namespace

const Desc kAvx512Bf16[] = {
    {32, 12, &kernel<2, 12>}, {32, 14, &kernel<2, 14>}, {48, 8, &kernel<3, 8>},
    {64, 6, &kernel<4, 6>},   {16, 28, &kernel<1, 28>}, {16, 14, &kernel<1, 14>},
    {0, 0, nullptr},
};

}  // namespace perfcal::gemm::ukr
