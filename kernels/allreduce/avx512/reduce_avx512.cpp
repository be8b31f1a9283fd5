// AVX-512 tier of the reduction inner loop (reduce_kernels.h semantics, bit-identical to the
// portable tier). Memory-bound: one 64-byte vector per operand per iteration, unrolled by
// two so two loads are in flight per stream; tails use masked loads and stores, so any n
// and any element-aligned pointer works. bf16 widens 16 lanes to fp32 and rounds back with
// integer ops (not VCVTNEPS2BF16, which flushes denormals) to match float_to_bf16 exactly.
#include <immintrin.h>

#include "allreduce/reduce_kernels.h"

// GCC 12 reports the deliberately undefined pass-through operand of its own unmasked
// intrinsics (_mm512_undefined_epi32 inside _mm512_cvtepu16_epi32) as maybe-uninitialized
// (GCC bug 105593); nothing here reads an uninitialised value.
#if defined(__GNUC__) && !defined(__clang__)  // clang has no -Wmaybe-uninitialized
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace perfcal::allreduce::detail {
namespace {

template <Op op>
inline __m512 vop(__m512 a, __m512 b) {
  if constexpr (op == Op::sum)
    return _mm512_add_ps(a, b);
  else if constexpr (op == Op::max)
    return _mm512_max_ps(a, b);
  else
    return _mm512_min_ps(a, b);
}
template <Op op>
inline __m512d vop(__m512d a, __m512d b) {
  if constexpr (op == Op::sum)
    return _mm512_add_pd(a, b);
  else if constexpr (op == Op::max)
    return _mm512_max_pd(a, b);
  else
    return _mm512_min_pd(a, b);
}

template <Op op>
void f32(const void* a, const void* b, void* out, std::size_t n) {
  const float* x = static_cast<const float*>(a);
  const float* y = static_cast<const float*>(b);
  float* o = static_cast<float*>(out);
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m512 r0 = vop<op>(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i));
    __m512 r1 = vop<op>(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16));
    _mm512_storeu_ps(o + i, r0);
    _mm512_storeu_ps(o + i + 16, r1);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(
        o + i, m, vop<op>(_mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

template <Op op>
void f64(const void* a, const void* b, void* out, std::size_t n) {
  const double* x = static_cast<const double*>(a);
  const double* y = static_cast<const double*>(b);
  double* o = static_cast<double*>(out);
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512d r0 = vop<op>(_mm512_loadu_pd(x + i), _mm512_loadu_pd(y + i));
    __m512d r1 = vop<op>(_mm512_loadu_pd(x + i + 8), _mm512_loadu_pd(y + i + 8));
    _mm512_storeu_pd(o + i, r0);
    _mm512_storeu_pd(o + i + 8, r1);
  }
  for (; i < n; i += 8) {
    const __mmask8 m = n - i >= 8 ? __mmask8(0xff) : __mmask8((1u << (n - i)) - 1);
    _mm512_mask_storeu_pd(
        o + i, m, vop<op>(_mm512_maskz_loadu_pd(m, x + i), _mm512_maskz_loadu_pd(m, y + i)));
  }
}

inline __m512 widen(__m256i h) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// float_to_bf16 on 16 lanes: u + 0x7fff + ((u >> 16) & 1), top half; NaN -> (u >> 16) | 0x40.
inline __m256i narrow(__m512 f) {
  const __m512i u = _mm512_castps_si512(f);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i rounded =
      _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb), 16);
  const __m512i quiet = _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)),
                                                _mm512_set1_epi32(0x7f800000));
  return _mm512_cvtepi32_epi16(_mm512_mask_blend_epi32(nan, rounded, quiet));
}

template <Op op>
void bf16(const void* a, const void* b, void* out, std::size_t n) {
  const uint16_t* x = static_cast<const uint16_t*>(a);
  const uint16_t* y = static_cast<const uint16_t*>(b);
  uint16_t* o = static_cast<uint16_t*>(out);
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 r = vop<op>(widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i))),
                             widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(y + i))));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + i), narrow(r));
  }
  if (i < n) {
    const __mmask16 m = __mmask16((1u << (n - i)) - 1);
    const __m512 r = vop<op>(widen(_mm256_maskz_loadu_epi16(m, x + i)),
                             widen(_mm256_maskz_loadu_epi16(m, y + i)));
    _mm256_mask_storeu_epi16(o + i, m, narrow(r));
  }
}

}  // namespace

const ReduceTable& reduce_table_avx512() {
  static const ReduceTable t = [] {
    ReduceTable r;
    r.fn[0][0] = f32<Op::sum>, r.fn[0][1] = f32<Op::max>, r.fn[0][2] = f32<Op::min>;
    r.fn[1][0] = f64<Op::sum>, r.fn[1][1] = f64<Op::max>, r.fn[1][2] = f64<Op::min>;
    r.fn[2][0] = bf16<Op::sum>, r.fn[2][1] = bf16<Op::max>, r.fn[2][2] = bf16<Op::min>;
    return r;
  }();
  return t;
}

}  // namespace perfcal::allreduce::detail
