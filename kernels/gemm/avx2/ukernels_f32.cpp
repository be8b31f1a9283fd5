// AVX2 + FMA fp32 micro-kernels for machines without AVX-512 (gemm/cpu/avx2/f32).
//
// Variants: 16x6 (default; BLIS haswell's 6x16 with the roles of m and n swapped, since our
// panels are column-major: 2 ymm of A x 6 broadcasts of B = 12 accumulators + 2 A + 1
// broadcast = 15 of the 16 ymm registers), 8x12 (12 accumulators, 1 A, 12 broadcasts),
// 24x4.
// Requires AVX2 and FMA (file compiled with -mavx2 -mfma; chosen only when cpuid says so).
#include <immintrin.h>

#include "gemm/ukernel.h"

namespace perfcal::gemm::ukr {
namespace {

template <int MV, int NR>
__attribute__((always_inline)) inline void step(__m256 (&acc)[NR][MV], const float* a,
                                                const float* b) {
  __m256 av[MV];
#pragma GCC unroll 8
  for (int v = 0; v < MV; ++v) av[v] = _mm256_load_ps(a + 8 * v);
#pragma GCC unroll 16
  for (int j = 0; j < NR; ++j) {
    const __m256 bj = _mm256_broadcast_ss(b + j);
#pragma GCC unroll 8
    for (int v = 0; v < MV; ++v) acc[j][v] = _mm256_fmadd_ps(av[v], bj, acc[j][v]);
  }
}

template <int MV, int NR>
void kernel(const Args& args) {
  constexpr int MR = 8 * MV;
  const float* __restrict a = static_cast<const float*>(args.a);
  const float* __restrict b = static_cast<const float*>(args.b);
  __m256 acc[NR][MV];
#pragma GCC unroll 16
  for (int j = 0; j < NR; ++j)
#pragma GCC unroll 8
    for (int v = 0; v < MV; ++v) acc[j][v] = _mm256_setzero_ps();

  for (int64_t k = 0; k < args.kc; ++k) {
    if (args.prefetch > 0)
      _mm_prefetch(reinterpret_cast<const char*>(a + int64_t{args.prefetch} * MR), _MM_HINT_T0);
    step<MV, NR>(acc, a, b);
    a += MR;
    b += NR;
  }

  float* c = args.c;
  const int64_t ldc = args.ldc;
  const __m256 valpha = _mm256_set1_ps(args.alpha);
  const __m256 vbeta = _mm256_set1_ps(args.beta);
  const bool read_c = args.beta != 0.0f;
  if (args.m == MR && args.n == NR) {
#pragma GCC unroll 16
    for (int j = 0; j < NR; ++j)
#pragma GCC unroll 8
      for (int v = 0; v < MV; ++v) {
        float* p = c + j * ldc + 8 * v;
        __m256 r = _mm256_mul_ps(acc[j][v], valpha);
        if (read_c) r = _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(p), r);
        _mm256_storeu_ps(p, r);
      }
    return;
  }
  // Edge tile: spill the accumulators to an aligned scratch tile and update only the
  // m x n valid part (AVX2 has no cheap per-lane masked store for every width).
  alignas(32) float tile[NR][MR];
  // Unrolled: an acc element indexed at run time would keep the whole tile in memory, k
  // loop included.
#pragma GCC unroll 16
  for (int j = 0; j < NR; ++j)
#pragma GCC unroll 8
    for (int v = 0; v < MV; ++v) _mm256_store_ps(&tile[j][8 * v], acc[j][v]);
  for (int j = 0; j < args.n; ++j)
    for (int i = 0; i < args.m; ++i) {
      float r = args.alpha * tile[j][i];
      if (read_c) r += args.beta * c[i + j * ldc];
      c[i + j * ldc] = r;
    }
}

}  // namespace

const Desc kAvx2F32[] = {
    {16, 6, &kernel<2, 6>},
    {8, 12, &kernel<1, 12>},
    {24, 4, &kernel<3, 4>},
    {0, 0, nullptr},
};

}  // namespace perfcal::gemm::ukr
