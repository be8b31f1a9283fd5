// AVX2 + FMA tier of the fused attention kernels (drivers in attention/flash_impl.h), for
// x86-64 CPUs without AVX-512. Micro-GEMM tile MR = 4 rows x NV = 3 ymm (24 columns):
// 12 accumulators + 3 B vectors + 1 broadcast = 16 ymm registers. The last column vector is
// masked. bf16 has no dot instruction here, so bf16 inputs widen to fp32 while packing
// (kBf16Dot = false) and every product runs in fp32; the bf16 entry points below exist
// only to satisfy the driver's interface and are never called.
#include <immintrin.h>

#include "attention/flash_impl.h"

namespace perfcal::attention::detail {
namespace {

inline __m256i tail_mask8(int64_t n) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(std::min<int64_t>(n, 8))), idx);
}
inline __m256 load_m(const float* p, int64_t n) {
  return n >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, tail_mask8(n));
}
inline void store_m(float* p, __m256 x, int64_t n) {
  if (n >= 8)
    _mm256_storeu_ps(p, x);
  else
    _mm256_maskstore_ps(p, tail_mask8(n), x);
}

// 2^x for x in any range: -inf and x < -126 give 0 (masked keys), x > 127 saturates.
inline __m256 exp2_ps(__m256 x) {
  const __m256 tiny = _mm256_cmp_ps(x, _mm256_set1_ps(-126.0f), _CMP_LT_OQ);
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-126.0f)), _mm256_set1_ps(127.0f));
  const __m256 n = _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256 f = _mm256_sub_ps(x, n);
  __m256 p = _mm256_set1_ps(1.5252733804059841e-05f);
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.5403530393381606e-04f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.3333558146428443e-03f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(9.6181291076284772e-03f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(5.5504108664821580e-02f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.4022650695910071e-01f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(6.9314718055994531e-01f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f));
  const __m256i e =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_andnot_ps(tiny, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

template <int MR, int NV>
void tile_f32(int64_t K, const float* A, int64_t a_sm, int64_t a_sk, const float* B, int64_t ldb,
              float* C, int64_t ldc, bool acc, int64_t last) {
  __m256 c[MR][NV];
  #pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
    #pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) c[r][v] = _mm256_setzero_ps();
  const __m256i lm = tail_mask8(last);
  for (int64_t k = 0; k < K; ++k) {
    const float* b = B + k * ldb;
    __m256 bv[NV];
    #pragma GCC unroll 8
    for (int v = 0; v < NV - 1; ++v) bv[v] = _mm256_loadu_ps(b + 8 * v);
    bv[NV - 1] =
        last >= 8 ? _mm256_loadu_ps(b + 8 * (NV - 1)) : _mm256_maskload_ps(b + 8 * (NV - 1), lm);
    const float* ak = A + k * a_sk;
    #pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m256 av = _mm256_broadcast_ss(ak + r * a_sm);
      #pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) c[r][v] = _mm256_fmadd_ps(av, bv[v], c[r][v]);
    }
  }
  #pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
    #pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      float* cp = C + r * ldc + 8 * v;
      const int64_t n = v == NV - 1 ? last : 8;
      __m256 x = c[r][v];
      if (acc) x = _mm256_add_ps(x, load_m(cp, n));
      store_m(cp, x, n);
    }
}

constexpr int kMR = 4, kNV = 3;
using Tile = decltype(&tile_f32<1, 1>);

template <int MR>
constexpr void fill_row(Tile (&t)[kNV + 1]) {
  t[1] = &tile_f32<MR, 1>, t[2] = &tile_f32<MR, 2>, t[3] = &tile_f32<MR, 3>;
}
struct Tables {
  Tile f32[kMR + 1][kNV + 1] = {};
  Tables() {
    fill_row<1>(f32[1]);
    fill_row<2>(f32[2]);
    fill_row<3>(f32[3]);
    fill_row<4>(f32[4]);
  }
};
const Tables kTables;

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}
inline float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

struct Avx2Ops {
  static constexpr bool kBf16Dot = false;

  static void mm_f32(int64_t M, int64_t N, int64_t K, const float* A, int64_t a_sm, int64_t a_sk,
                     const float* B, int64_t ldb, float* C, int64_t ldc, bool acc) {
    for (int64_t n0 = 0; n0 < N; n0 += 8 * kNV) {
      const int64_t nn = std::min<int64_t>(8 * kNV, N - n0);
      const int nv = int((nn + 7) / 8);
      const int64_t last = nn - 8 * (nv - 1);
      for (int64_t m0 = 0; m0 < M; m0 += kMR) {
        const int mr = int(std::min<int64_t>(kMR, M - m0));
        kTables.f32[mr][nv](K, A + m0 * a_sm, a_sm, a_sk, B + n0, ldb, C + m0 * ldc + n0, ldc, acc,
                            last);
      }
    }
  }
  static void mm_bf16(int64_t, int64_t, int64_t, const uint16_t*, int64_t, int64_t, const uint16_t*,
                      int64_t, float*, int64_t, bool) {}

  static float max_scaled(const float* x, int64_t n, float s) {
    __m256 m = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
    const __m256 vs = _mm256_set1_ps(s);
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) m = _mm256_max_ps(m, _mm256_mul_ps(vs, _mm256_loadu_ps(x + j)));
    float r = hmax(m);
    for (; j < n; ++j) r = std::max(r, s * x[j]);
    return r;
  }
  static float exp2_row(float* x, int64_t n, float s, float sub) {
    __m256 sum = _mm256_setzero_ps();
    const __m256 vs = _mm256_set1_ps(s), vsub = _mm256_set1_ps(sub);
    for (int64_t j = 0; j < n; j += 8) {
      const int64_t c = std::min<int64_t>(8, n - j);
      __m256 e = exp2_ps(_mm256_fmsub_ps(vs, load_m(x + j, c), vsub));
      if (c < 8) e = _mm256_and_ps(e, _mm256_castsi256_ps(tail_mask8(c)));
      sum = _mm256_add_ps(sum, e);
      store_m(x + j, e, c);
    }
    return hsum(sum);
  }
  static float exp2_row_bf16(float*, uint16_t*, int64_t, float, float) { return 0; }
  static void exp2_row_vec(float* x, int64_t n, float s, const float* sub) {
    const __m256 vs = _mm256_set1_ps(s);
    for (int64_t j = 0; j < n; j += 8) {
      const int64_t c = std::min<int64_t>(8, n - j);
      store_m(x + j, exp2_ps(_mm256_fmsub_ps(vs, load_m(x + j, c), load_m(sub + j, c))), c);
    }
  }
  static void ds_row(const float* p, float* dp, const float* Dv, int64_t n, float s) {
    const __m256 vs = _mm256_set1_ps(s);
    for (int64_t j = 0; j < n; j += 8) {
      const int64_t c = std::min<int64_t>(8, n - j);
      __m256 d = _mm256_sub_ps(load_m(dp + j, c), load_m(Dv + j, c));
      store_m(dp + j, _mm256_mul_ps(_mm256_mul_ps(load_m(p + j, c), d), vs), c);
    }
  }
  static void scale(float* x, int64_t n, float a) {
    const __m256 va = _mm256_set1_ps(a);
    for (int64_t j = 0; j < n; j += 8) {
      const int64_t c = std::min<int64_t>(8, n - j);
      store_m(x + j, _mm256_mul_ps(va, load_m(x + j, c)), c);
    }
  }
  static void to_bf16(const float*, uint16_t*, int64_t) {}
  static void interleave_bf16(const float*, const float*, uint16_t*, int64_t) {}
};

}  // namespace

Status flash_forward_avx2(const FlashArgs& a) { return run_forward<Avx2Ops>(a); }
Status flash_backward_avx2(const FlashArgs& a) { return run_backward<Avx2Ops>(a); }

const RowOps& row_ops_avx2() {
  static const RowOps ops{&Avx2Ops::max_scaled, &Avx2Ops::exp2_row, &Avx2Ops::exp2_row_vec,
                          &Avx2Ops::ds_row, &Avx2Ops::scale};
  return ops;
}

}  // namespace perfcal::attention::detail
