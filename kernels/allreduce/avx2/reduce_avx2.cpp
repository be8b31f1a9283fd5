// AVX2 tier of the reduction inner loop (reduce_kernels.h semantics, bit-identical to the
// portable tier): 8 fp32 / 4 fp64 / 8 bf16 lanes per vector, unrolled by two for f32/f64;
// the tail runs the portable tier's kernel (compiled without AVX flags, so no inline helper
// instantiated here with AVX2 code can leak into the portable path through the linker).
#include <immintrin.h>

#include "allreduce/reduce_kernels.h"

namespace perfcal::allreduce::detail {
namespace {

template <Op op>
inline __m256 vop(__m256 a, __m256 b) {
  if constexpr (op == Op::sum)
    return _mm256_add_ps(a, b);
  else if constexpr (op == Op::max)
    return _mm256_max_ps(a, b);
  else
    return _mm256_min_ps(a, b);
}
template <Op op>
inline __m256d vop(__m256d a, __m256d b) {
  if constexpr (op == Op::sum)
    return _mm256_add_pd(a, b);
  else if constexpr (op == Op::max)
    return _mm256_max_pd(a, b);
  else
    return _mm256_min_pd(a, b);
}

template <Op op>
void f32(const void* a, const void* b, void* out, std::size_t n) {
  const float* x = static_cast<const float*>(a);
  const float* y = static_cast<const float*>(b);
  float* o = static_cast<float*>(out);
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 r0 = vop<op>(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i));
    __m256 r1 = vop<op>(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8));
    _mm256_storeu_ps(o + i, r0);
    _mm256_storeu_ps(o + i + 8, r1);
  }
  if (i < n) reduce_table_portable().fn[0][static_cast<int>(op)](x + i, y + i, o + i, n - i);
}

template <Op op>
void f64(const void* a, const void* b, void* out, std::size_t n) {
  const double* x = static_cast<const double*>(a);
  const double* y = static_cast<const double*>(b);
  double* o = static_cast<double*>(out);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256d r0 = vop<op>(_mm256_loadu_pd(x + i), _mm256_loadu_pd(y + i));
    __m256d r1 = vop<op>(_mm256_loadu_pd(x + i + 4), _mm256_loadu_pd(y + i + 4));
    _mm256_storeu_pd(o + i, r0);
    _mm256_storeu_pd(o + i + 4, r1);
  }
  if (i < n) reduce_table_portable().fn[1][static_cast<int>(op)](x + i, y + i, o + i, n - i);
}

inline __m256 widen(__m128i h) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

// float_to_bf16 on 8 lanes (see the AVX-512 tier); the rounded values fit 16 bits, so the
// unsigned-saturating pack is exact.
inline __m128i narrow(__m256 f) {
  const __m256i u = _mm256_castps_si256(f);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  const __m256i rounded =
      _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), lsb), 16);
  const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
  // Signed compare is right here: |u| <= 0x7fffffff after the mask.
  const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)),
                                         _mm256_set1_epi32(0x7f800000));
  const __m256i r = _mm256_blendv_epi8(rounded, quiet, nan);
  return _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
}

template <Op op>
void bf16(const void* a, const void* b, void* out, std::size_t n) {
  const uint16_t* x = static_cast<const uint16_t*>(a);
  const uint16_t* y = static_cast<const uint16_t*>(b);
  uint16_t* o = static_cast<uint16_t*>(out);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 r = vop<op>(widen(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i))),
                             widen(_mm_loadu_si128(reinterpret_cast<const __m128i*>(y + i))));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o + i), narrow(r));
  }
  if (i < n) reduce_table_portable().fn[2][static_cast<int>(op)](x + i, y + i, o + i, n - i);
}

}  // namespace

const ReduceTable& reduce_table_avx2() {
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
