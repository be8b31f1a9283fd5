// AVX-512 dot-product kernels for skinny GEMMs (CpuGemmConfig.algo = "dot", driven by
// blis.cpp run_dot), fp32, and bf16 with the large operand widened to fp32 as it is loaded
// (2 extra instructions per 16 elements, shared by all rows; exact, as the product of two
// bf16 fits in fp32, and faster here than vdpbf16ps at half the FMA rate). With m <= 8 rows of A
// against thousands of columns of B, each B element meets at most 8 FMAs: packing B (read, write,
// read again) costs more than the arithmetic, and a 32-row micro-tile is mostly padding. Here the
// big operand is read once, in place, as k-contiguous vectors, and each output is a dot product:
//   out(r, s) = alpha * sum_k x_r[k] y_s[k] + beta * out(r, s)
// R rows (<= 8) times NJ columns of accumulators, NJ chosen
// so R x NJ <= 16 zmm; horizontal sums once per k range. Requires AVX512F (file compiled
// with -mavx512f; chosen only when cpuid says so).
#include <immintrin.h>

// GCC 12's own masked-intrinsic headers trip -Wuninitialized on _mm512_undefined_*(); the
// warning is about the header, not this file.
#if defined(__GNUC__) && !defined(__clang__)  // clang has no -Wmaybe-uninitialized
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "gemm/ukernel.h"

namespace perfcal::gemm::ukr {
namespace {

// 16 elements of y from k on (masked), as fp32.
inline __m512 load_y(const float* y, int64_t k, __mmask16 m) {
  return _mm512_maskz_loadu_ps(m, y + k);
}
inline __m512 load_y(const uint16_t* y, int64_t k, __mmask16 m) {
  // bf16 -> fp32 is exact: the bf16 bits become the top half of the float.
  const __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, y + k));
  return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
}

template <class Ty, int R, int NJ>
__attribute__((always_inline)) inline void fma_step(__m512 (&acc)[R][NJ], const DotArgs& a,
                                                    const Ty* const (&y)[NJ], int64_t k,
                                                    __mmask16 m) {
  __m512 yv[NJ];
#pragma GCC unroll 4
  for (int j = 0; j < NJ; ++j) yv[j] = load_y(y[j], k, m);
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    const __m512 xv = _mm512_maskz_loadu_ps(m, a.x + r * a.ldx + k);
#pragma GCC unroll 4
    for (int j = 0; j < NJ; ++j) acc[r][j] = _mm512_fmadd_ps(xv, yv[j], acc[r][j]);
  }
}

// Columns s .. s + NJ - 1, all R rows.
template <class Ty, int R, int NJ>
void block(const DotArgs& a, int64_t s) {
  __m512 acc[R][NJ];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < NJ; ++j) acc[r][j] = _mm512_setzero_ps();
  const Ty* y[NJ];
#pragma GCC unroll 4
  for (int j = 0; j < NJ; ++j) y[j] = static_cast<const Ty*>(a.y) + (s + j) * a.ldy;
  int64_t k = 0;
  if constexpr (sizeof(Ty) == 2) {
    // bf16: each column's next cache line (32 elements, two steps) touched 1.5 KB ahead.
    // Without it these loops read the columns at 27 GB/s from DRAM where fp32 reaches 47:
    // 4096 x 4096, m = 1 / 2 / 4 ran 1.20x / 1.27x / 1.31x on one thread, 1.20x / 1.19x /
    // 1.27x on two (Zen 5; 1 KB and 2 KB ahead the same, 4 KB 1.0x). fp32 runs at the DRAM
    // bandwidth already (the same prefetch: 0.9-1.0x).
    constexpr int64_t kAhead = 768;
    for (; k + 32 <= a.k; k += 32) {
#pragma GCC unroll 4
      for (int j = 0; j < NJ; ++j)
        _mm_prefetch(reinterpret_cast<const char*>(y[j] + k + kAhead), _MM_HINT_T0);
      fma_step<Ty, R, NJ>(acc, a, y, k, 0xffff);
      fma_step<Ty, R, NJ>(acc, a, y, k + 16, 0xffff);
    }
  }
  for (; k + 16 <= a.k; k += 16) fma_step<Ty, R, NJ>(acc, a, y, k, 0xffff);
  if (k < a.k) fma_step<Ty, R, NJ>(acc, a, y, k, static_cast<__mmask16>((1u << (a.k - k)) - 1));
    // Unrolled like every loop over acc: one element indexed at run time keeps the whole
    // array in memory, and the k loop then stores every accumulator after each FMA.
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < NJ; ++j) {
      float* out = a.c + r * a.cr + (s + j) * a.cs;
      const float v = a.alpha * _mm512_reduce_add_ps(acc[r][j]);
      *out = a.beta == 0.0f ? v : v + a.beta * *out;  // beta == 0: C is never read
    }
}

template <class Ty, int R>
void rows(const DotArgs& a) {
  // R x NJ accumulators <= 16, plus NJ column vectors and one row vector.
  constexpr int NJ = R <= 4 ? 4 : 2;
  int64_t s = a.s0;
  for (; s + NJ <= a.s1; s += NJ) block<Ty, R, NJ>(a, s);
  for (; s < a.s1; ++s) block<Ty, R, 1>(a, s);
}

template <class Ty>
void dot(const DotArgs& a) {
  switch (a.rows) {
    case 1:
      return rows<Ty, 1>(a);
    case 2:
      return rows<Ty, 2>(a);
    case 3:
      return rows<Ty, 3>(a);
    case 4:
      return rows<Ty, 4>(a);
    case 5:
      return rows<Ty, 5>(a);
    case 6:
      return rows<Ty, 6>(a);
    case 7:
      return rows<Ty, 7>(a);
    case 8:
      return rows<Ty, 8>(a);
    default:
      return;  // the driver never asks for more (kDotMaxRows)
  }
}

}  // namespace

const DotFn kAvx512DotF32 = &dot<float>;
const DotFn kAvx512DotBf16 = &dot<uint16_t>;

}  // namespace perfcal::gemm::ukr
