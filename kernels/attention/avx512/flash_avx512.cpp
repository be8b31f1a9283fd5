// AVX-512 tier of the fused attention kernels (drivers in attention/flash_impl.h).
//
// Micro-GEMM: C[M x N] (+)= A * B with an MR x (16 * NV) register tile, MR = 6, NV <= 4
// (every loop over the tile fully unrolled: with any loop left rolled GCC keeps the
// accumulator array in memory and stored all 24 of them on every k step, which halved the
// kernel's speed):
// 24 zmm accumulators + 4 B vectors + 1 broadcast = 29 of 32 registers. Each k step loads NV
// vectors of B (one row of a packed panel) and broadcasts MR values of A, so B streams from
// L1 while A is read with scalar-broadcast loads (any stride, which is what lets the
// backward read dS down its columns without a transpose). The last column vector is masked,
// so N (head_dim 80, odd key tails) needs no padding of C.
// bf16: the same tile with vdpbf16ps (AVX512_BF16): one broadcast of an A k-pair (32 bits)
// times 16 B k-pairs, fp32 accumulation, 2 multiply-adds per lane per instruction.
//
// exp2: range reduction x = n + f, |f| <= 1/2, degree-7 Taylor polynomial of 2^f (relative
// error < 1e-8 before rounding), 2^n applied by vscalefps. Inputs are clamped to
// [-150, 128]: -inf (masked keys, empty rows) gives exactly 0.
#include <immintrin.h>

// GCC 12's own masked-intrinsic headers trip -Wuninitialized on _mm512_undefined_*(); the
// warning is about the header, not this file.
#if defined(__GNUC__) && !defined(__clang__)  // clang has no -Wmaybe-uninitialized
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "attention/flash_impl.h"
#include "core/cpu_info.h"

namespace perfcal::attention::detail {
namespace {

inline __m512 exp2_ps(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-150.0f)), _mm512_set1_ps(128.0f));
  const __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_sub_ps(x, n);
  // c_k = ln(2)^k / k!
  __m512 p = _mm512_set1_ps(1.5252733804059841e-05f);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.5403530393381606e-04f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.3333558146428443e-03f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.6181291076284772e-03f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.5504108664821580e-02f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022650695910071e-01f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.9314718055994531e-01f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

inline __mmask16 tail_mask(int64_t n) {
  return n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1);
}

template <int MR, int NV>
void tile_f32(int64_t K, const float* A, int64_t a_sm, int64_t a_sk, const float* B, int64_t ldb,
              float* C, int64_t ldc, bool acc, __mmask16 last) {
  __m512 c[MR][NV];
  #pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
    #pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) c[r][v] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; ++k) {
    const float* b = B + k * ldb;
    __m512 bv[NV];
    #pragma GCC unroll 8
    for (int v = 0; v < NV - 1; ++v) bv[v] = _mm512_loadu_ps(b + 16 * v);
    bv[NV - 1] = _mm512_maskz_loadu_ps(last, b + 16 * (NV - 1));
    const float* ak = A + k * a_sk;
    #pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m512 av = _mm512_set1_ps(ak[r * a_sm]);
      #pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) c[r][v] = _mm512_fmadd_ps(av, bv[v], c[r][v]);
    }
  }
  #pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
    #pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      float* cp = C + r * ldc + 16 * v;
      const __mmask16 mk = v == NV - 1 ? last : __mmask16(0xffff);
      __m512 x = c[r][v];
      if (acc) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mk, cp));
      _mm512_mask_storeu_ps(cp, mk, x);
    }
}

template <int MR, int NV>
void tile_bf16(int64_t Kp, const uint16_t* A, int64_t a_sm, int64_t a_skp, const uint16_t* B,
               int64_t ldb, float* C, int64_t ldc, bool acc, __mmask16 last) {
  __m512 c[MR][NV];
  #pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
    #pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) c[r][v] = _mm512_setzero_ps();
  for (int64_t kp = 0; kp < Kp; ++kp) {
    const uint16_t* b = B + kp * 2 * ldb;
    __m512i bv[NV];
    #pragma GCC unroll 8
    for (int v = 0; v < NV - 1; ++v) bv[v] = _mm512_loadu_si512(b + 32 * v);
    bv[NV - 1] = _mm512_maskz_loadu_epi32(last, b + 32 * (NV - 1));
    const uint16_t* ak = A + kp * a_skp;
    #pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      int32_t pair;
      std::memcpy(&pair, ak + r * a_sm, 4);
      const __m512i av = _mm512_set1_epi32(pair);
      #pragma GCC unroll 8
      for (int v = 0; v < NV; ++v)
        c[r][v] = _mm512_dpbf16_ps(c[r][v], (__m512bh)av, (__m512bh)bv[v]);
    }
  }
  #pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
    #pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      float* cp = C + r * ldc + 16 * v;
      const __mmask16 mk = v == NV - 1 ? last : __mmask16(0xffff);
      __m512 x = c[r][v];
      if (acc) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mk, cp));
      _mm512_mask_storeu_ps(cp, mk, x);
    }
}

constexpr int kMR = 6, kNV = 4;

using F32Tile = decltype(&tile_f32<1, 1>);
using Bf16Tile = decltype(&tile_bf16<1, 1>);

template <int MR>
constexpr void fill_row(F32Tile (&f)[kNV + 1], Bf16Tile (&b)[kNV + 1]) {
  f[1] = &tile_f32<MR, 1>, f[2] = &tile_f32<MR, 2>, f[3] = &tile_f32<MR, 3>,
  f[4] = &tile_f32<MR, 4>;
  b[1] = &tile_bf16<MR, 1>, b[2] = &tile_bf16<MR, 2>, b[3] = &tile_bf16<MR, 3>,
  b[4] = &tile_bf16<MR, 4>;
}

struct Tables {
  F32Tile f32[kMR + 1][kNV + 1] = {};
  Bf16Tile bf16[kMR + 1][kNV + 1] = {};
  Tables() {
    fill_row<1>(f32[1], bf16[1]);
    fill_row<2>(f32[2], bf16[2]);
    fill_row<3>(f32[3], bf16[3]);
    fill_row<4>(f32[4], bf16[4]);
    fill_row<5>(f32[5], bf16[5]);
    fill_row<6>(f32[6], bf16[6]);
  }
};
const Tables kTables;

struct Avx512Ops {
  static constexpr bool kBf16Dot = true;

  static void mm_f32(int64_t M, int64_t N, int64_t K, const float* A, int64_t a_sm, int64_t a_sk,
                     const float* B, int64_t ldb, float* C, int64_t ldc, bool acc) {
    for (int64_t n0 = 0; n0 < N; n0 += 16 * kNV) {
      const int64_t nn = std::min<int64_t>(16 * kNV, N - n0);
      const int nv = int((nn + 15) / 16);
      const __mmask16 last = tail_mask(nn - 16 * (nv - 1));
      for (int64_t m0 = 0; m0 < M; m0 += kMR) {
        const int mr = int(std::min<int64_t>(kMR, M - m0));
        kTables.f32[mr][nv](K, A + m0 * a_sm, a_sm, a_sk, B + n0, ldb, C + m0 * ldc + n0, ldc, acc,
                            last);
      }
    }
  }

  static void mm_bf16(int64_t M, int64_t N, int64_t Kp, const uint16_t* A, int64_t a_sm,
                      int64_t a_skp, const uint16_t* B, int64_t ldb, float* C, int64_t ldc,
                      bool acc) {
    for (int64_t n0 = 0; n0 < N; n0 += 16 * kNV) {
      const int64_t nn = std::min<int64_t>(16 * kNV, N - n0);
      const int nv = int((nn + 15) / 16);
      const __mmask16 last = tail_mask(nn - 16 * (nv - 1));
      for (int64_t m0 = 0; m0 < M; m0 += kMR) {
        const int mr = int(std::min<int64_t>(kMR, M - m0));
        kTables.bf16[mr][nv](Kp, A + m0 * a_sm, a_sm, a_skp, B + 2 * n0, ldb, C + m0 * ldc + n0,
                             ldc, acc, last);
      }
    }
  }

  static float max_scaled(const float* x, int64_t n, float s) {
    __m512 m = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    const __m512 vs = _mm512_set1_ps(s);
    for (int64_t j = 0; j < n; j += 16) {
      const __mmask16 k = tail_mask(n - j);
      m = _mm512_mask_max_ps(m, k, m, _mm512_mul_ps(vs, _mm512_maskz_loadu_ps(k, x + j)));
    }
    return _mm512_reduce_max_ps(m);
  }

  static float exp2_row(float* x, int64_t n, float s, float sub) {
    __m512 sum = _mm512_setzero_ps();
    const __m512 vs = _mm512_set1_ps(s), vsub = _mm512_set1_ps(sub);
    for (int64_t j = 0; j < n; j += 16) {
      const __mmask16 k = tail_mask(n - j);
      __m512 e = exp2_ps(_mm512_fmsub_ps(vs, _mm512_maskz_loadu_ps(k, x + j), vsub));
      sum = _mm512_mask_add_ps(sum, k, sum, e);
      _mm512_mask_storeu_ps(x + j, k, e);
    }
    return _mm512_reduce_add_ps(sum);
  }

  // P rounded to bf16 (round to nearest even), and the sum of the rounded values, so that the
  // normalisation matches the P actually multiplied into V.
  static float exp2_row_bf16(float* x, uint16_t* y, int64_t n, float s, float sub) {
    __m512 sum = _mm512_setzero_ps();
    const __m512 vs = _mm512_set1_ps(s), vsub = _mm512_set1_ps(sub);
    for (int64_t j = 0; j < n; j += 16) {
      const __mmask16 k = tail_mask(n - j);
      __m512 e = exp2_ps(_mm512_fmsub_ps(vs, _mm512_maskz_loadu_ps(k, x + j), vsub));
      __m256i h = (__m256i)_mm512_cvtneps_pbh(e);
      __m512 back = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
      sum = _mm512_mask_add_ps(sum, k, sum, back);
      _mm256_mask_storeu_epi16(y + j, k, h);
    }
    return _mm512_reduce_add_ps(sum);
  }

  static void exp2_row_vec(float* x, int64_t n, float s, const float* sub) {
    const __m512 vs = _mm512_set1_ps(s);
    for (int64_t j = 0; j < n; j += 16) {
      const __mmask16 k = tail_mask(n - j);
      __m512 e = exp2_ps(
          _mm512_fmsub_ps(vs, _mm512_maskz_loadu_ps(k, x + j), _mm512_maskz_loadu_ps(k, sub + j)));
      _mm512_mask_storeu_ps(x + j, k, e);
    }
  }

  static void ds_row(const float* p, float* dp, const float* Dv, int64_t n, float s) {
    const __m512 vs = _mm512_set1_ps(s);
    for (int64_t j = 0; j < n; j += 16) {
      const __mmask16 k = tail_mask(n - j);
      __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(k, dp + j), _mm512_maskz_loadu_ps(k, Dv + j));
      d = _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(k, p + j), d), vs);
      _mm512_mask_storeu_ps(dp + j, k, d);
    }
  }

  static void scale(float* x, int64_t n, float a) {
    const __m512 va = _mm512_set1_ps(a);
    for (int64_t j = 0; j < n; j += 16) {
      const __mmask16 k = tail_mask(n - j);
      _mm512_mask_storeu_ps(x + j, k, _mm512_mul_ps(va, _mm512_maskz_loadu_ps(k, x + j)));
    }
  }

  static void to_bf16(const float* x, uint16_t* y, int64_t n) {
    for (int64_t j = 0; j < n; j += 16) {
      const __mmask16 k = tail_mask(n - j);
      __m256i h = (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(k, x + j));
      _mm256_mask_storeu_epi16(y + j, k, h);
    }
  }

  // out[2c] = bf16(r0[c]), out[2c + 1] = bf16(r1[c]) (0 when r1 is null).
  static void interleave_bf16(const float* r0, const float* r1, uint16_t* out, int64_t n) {
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24,
                                         8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (int64_t j = 0; j < n; j += 16) {
      const __mmask16 k = tail_mask(n - j);
      const __m512 a = _mm512_maskz_loadu_ps(k, r0 + j);
      const __m512 b = r1 ? _mm512_maskz_loadu_ps(k, r1 + j) : _mm512_setzero_ps();
      // cvtne2ps: low 16 bf16 from a, high 16 from b; then interleave a0 b0 a1 b1 ...
      __m512i ab = (__m512i)_mm512_cvtne2ps_pbh(b, a);
      ab = _mm512_permutexvar_epi16(idx, ab);
      _mm512_mask_storeu_epi32(out + 2 * j, k, ab);
    }
  }
};

// The same tier without AVX512_BF16 (e.g. Skylake-X): bf16 inputs widen to fp32 at packing.
struct Avx512NoBf16Ops : Avx512Ops {
  static constexpr bool kBf16Dot = false;
};

}  // namespace

bool avx512_bf16_dot_available() { return cpu_info().features.avx512_bf16; }

Status flash_forward_avx512(const FlashArgs& a) {
  return avx512_bf16_dot_available() ? run_forward<Avx512Ops>(a) : run_forward<Avx512NoBf16Ops>(a);
}
Status flash_backward_avx512(const FlashArgs& a) {
  return avx512_bf16_dot_available() ? run_backward<Avx512Ops>(a)
                                     : run_backward<Avx512NoBf16Ops>(a);
}

const RowOps& row_ops_avx512() {
  static const RowOps ops{&Avx512Ops::max_scaled, &Avx512Ops::exp2_row, &Avx512Ops::exp2_row_vec,
                          &Avx512Ops::ds_row, &Avx512Ops::scale};
  return ops;
}

}  // namespace perfcal::attention::detail
