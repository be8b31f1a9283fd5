// AVX-512 packing of A and B panels (layouts in ukernel.h) for gemm/cpu/avx512/{f32,bf16}.
// Packing is O(mk + kn) against O(mnk) compute, yet at 256..512 it was >10% of the time with
// scalar code, mostly the strided case (rows k-contiguous: A transposed, B not transposed),
// which needs a transpose. Here that case runs 16x16 in-register transposes (4 shuffle
// stages); the other case is masked vector copies. bf16 pairs (k, k+1) are one 32-bit unit,
// so the k-contiguous bf16 case is the same 32-bit transpose over k pairs. The widening
// packer (compute = "widen") turns bf16 into fp32 panels for the fp32 kernels.
// Requires AVX512F/BW/VL (file compiled with those flags; used only on such CPUs).
#include <immintrin.h>

// GCC 12's own shuffle-intrinsic headers trip -Wmaybe-uninitialized on _mm512_undefined_*();
// the warning is about the header, not this file.
#if defined(__GNUC__) && !defined(__clang__)  // clang has no -Wmaybe-uninitialized
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <cstdint>

#include "gemm/ukernel.h"

namespace perfcal::gemm::ukr {
namespace {

inline __mmask16 first_n(int64_t n) {
  if (n >= 16) return 0xffff;
  if (n <= 0) return 0;
  return static_cast<__mmask16>((1u << n) - 1);
}

// In: v[r] holds 16 consecutive k of row r. Out: v[k] holds rows 0..15 at that k.
inline void transpose16(__m512 (&v)[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]);
  }
  // u[4g + j], lane L: rows 4g..4g+3 at k = 4L + j
  for (int g = 0; g < 4; ++g) {
    u[4 * g + 0] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  // 4x4 transpose of 128-bit lanes across g and L, per j.
  for (int j = 0; j < 4; ++j) {
    __m512 x0 = _mm512_shuffle_f32x4(u[j], u[4 + j], _MM_SHUFFLE(1, 0, 1, 0));
    __m512 x1 = _mm512_shuffle_f32x4(u[j], u[4 + j], _MM_SHUFFLE(3, 2, 3, 2));
    __m512 x2 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], _MM_SHUFFLE(1, 0, 1, 0));
    __m512 x3 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], _MM_SHUFFLE(3, 2, 3, 2));
    v[0 + j] = _mm512_shuffle_f32x4(x0, x2, _MM_SHUFFLE(2, 0, 2, 0));
    v[4 + j] = _mm512_shuffle_f32x4(x0, x2, _MM_SHUFFLE(3, 1, 3, 1));
    v[8 + j] = _mm512_shuffle_f32x4(x1, x3, _MM_SHUFFLE(2, 0, 2, 0));
    v[12 + j] = _mm512_shuffle_f32x4(x1, x3, _MM_SHUFFLE(3, 1, 3, 1));
  }
}

// out[k * width + r] = 32-bit unit (r, k), r < rows, k < kn, zero for rows <= r < width;
// load(r, k0, kmask) returns units k0..k0+15 of row r (masked).
template <class Load>
void transpose_pack(Load load, int64_t rows, int64_t kn, int width, float* out) {
  for (int64_t k0 = 0; k0 < kn; k0 += 16) {
    const int64_t kcount = kn - k0 < 16 ? kn - k0 : 16;
    const __mmask16 kmask = first_n(kcount);
    for (int r0 = 0; r0 < width; r0 += 16) {
      __m512 v[16];
      for (int r = 0; r < 16; ++r)
        v[r] = (r0 + r < rows) ? load(r0 + r, k0, kmask) : _mm512_setzero_ps();
      transpose16(v);
      const __mmask16 smask = first_n(width - r0);
      for (int64_t k = 0; k < kcount; ++k)
        _mm512_mask_storeu_ps(out + (k0 + k) * width + r0, smask, v[k]);
    }
  }
}

// 32-bit units (r, k) at x + k * 4 + r * ld_bytes.
// Each call packs one panel, `width` rows, and the driver packs panels in order, so the
// next call reads the next `width` rows. Two prefetches per line loaded: two lines ahead in
// the row, and the same line of the next panel's row (to L2). With A transposed (PyTorch's
// x W^T: A's rows contiguous, ld 16 KiB) packing ran at 6.4 GB/s from DRAM alone (32 rows
// of 2 KiB per panel, each in another page), 13 GB/s with both; either alone gained
// nothing in the GEMM. 4096 x 512 x 4096 A^T: 1.03x one thread, 1.02x two; squares,
// where the same packer packs B, 0.99-1.00x.
constexpr int kLineAhead = 128;
void transpose_pack32(const char* x, int64_t ld_bytes, int64_t rows, int64_t kn, int width,
                      float* out) {
  const int64_t next_panel = width * ld_bytes;
  transpose_pack(
      [&](int64_t r, int64_t k0, __mmask16 m) {
        const char* src = x + k0 * 4 + r * ld_bytes;
        _mm_prefetch(src + kLineAhead, _MM_HINT_T0);
        _mm_prefetch(src + next_panel, _MM_HINT_T1);
        return _mm512_maskz_loadu_ps(m, src);
      },
      rows, kn, width, out);
}

// Rows contiguous (A not transposed, B transposed): the driver walks k in chunks of 16
// across all panels of a block, so each of a chunk's rows is read front to back, one
// panel's width per call. A software prefetch this far ahead in each row keeps 16 lines in
// flight per row: the hardware prefetcher alone left B's packing latency-bound (12% of
// 512 x 11008 x 4096 with B transposed, one thread; 256-1536 bytes measured alike, 1 KiB
// 1.04x fp32 and 1.07x bf16 over none in that GEMM, neutral on A's packing).
constexpr int kRowAhead = 1024;
inline void prefetch_row(const void* src) {
  _mm_prefetch(static_cast<const char*>(src) + kRowAhead, _MM_HINT_T0);
}

// bf16 -> fp32 is exact: the bf16 bits become the top half of the float.
inline __m512 widen16(__m256i h) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

void pack_bf16_widen(const void* xv, int64_t ld, bool r_contig, int64_t rows, int64_t kb, int width,
                     void* outv) {
  const uint16_t* x = static_cast<const uint16_t*>(xv);
  float* out = static_cast<float*>(outv);
  if (!r_contig) {
    transpose_pack(
        [&](int64_t r, int64_t k0, __mmask16 m) {
          return widen16(_mm256_maskz_loadu_epi16(m, x + k0 + r * ld));
        },
        rows, kb, width, out);
    return;
  }
  for (int64_t k = 0; k < kb; ++k) {
    const uint16_t* src = x + k * ld;
    float* dst = out + k * width;
    prefetch_row(src);
    for (int r0 = 0; r0 < width; r0 += 16)
      _mm512_mask_storeu_ps(dst + r0, first_n(width - r0),
                            widen16(_mm256_maskz_loadu_epi16(first_n(rows - r0), src + r0)));
  }
}

void pack_f32(const void* xv, int64_t ld, bool r_contig, int64_t rows, int64_t kb, int width,
              void* outv) {
  const float* x = static_cast<const float*>(xv);
  float* out = static_cast<float*>(outv);
  if (!r_contig) {
    transpose_pack32(reinterpret_cast<const char*>(x), ld * 4, rows, kb, width, out);
    return;
  }
  for (int64_t k = 0; k < kb; ++k) {
    const float* src = x + k * ld;
    float* dst = out + k * width;
    prefetch_row(src);
    for (int r0 = 0; r0 < width; r0 += 16) {
      const __m512 v = _mm512_maskz_loadu_ps(first_n(rows - r0), src + r0);
      _mm512_mask_storeu_ps(dst + r0, first_n(width - r0), v);
    }
  }
}

void pack_bf16(const void* xv, int64_t ld, bool r_contig, int64_t rows, int64_t kb, int width,
               void* outv) {
  const uint16_t* x = static_cast<const uint16_t*>(xv);
  uint16_t* out = static_cast<uint16_t*>(outv);
  const int64_t pairs = (kb + 1) / 2;
  if (!r_contig) {
    // Unit (r, pair p) = x[2p + r*ld], x[2p + 1 + r*ld]: contiguous 32 bits.
    const int64_t full = kb / 2;
    transpose_pack32(reinterpret_cast<const char*>(x), ld * 2, rows, full, width,
                     reinterpret_cast<float*>(out));
    if (full != pairs) {  // odd kb: last pair is (x[kb-1], 0)
      uint16_t* dst = out + full * 2 * width;
      for (int r = 0; r < width; ++r) {
        dst[2 * r] = r < rows ? x[(kb - 1) + r * ld] : 0;
        dst[2 * r + 1] = 0;
      }
    }
    return;
  }
  // Rows contiguous: 32 rows of k and of k+1 interleaved into 32 pairs by two word
  // permutes (vpermt2w) per 64 bytes out. (Widening each half to 32-bit lanes and merging
  // them took twice the instructions: 4 loads, 4 widening shuffles, 2 shifts, 2 ors.)
  const __m512i lo_idx =
      _mm512_set_epi16(47, 15, 46, 14, 45, 13, 44, 12, 43, 11, 42, 10, 41, 9, 40, 8, 39, 7, 38, 6,
                       37, 5, 36, 4, 35, 3, 34, 2, 33, 1, 32, 0);
  const __m512i hi_idx = _mm512_add_epi16(lo_idx, _mm512_set1_epi16(16));
  for (int64_t p = 0; p < pairs; ++p) {
    const uint16_t* lo = x + 2 * p * ld;
    const bool has_hi = 2 * p + 1 < kb;
    prefetch_row(lo);
    if (has_hi) prefetch_row(lo + ld);
    uint16_t* dst = out + p * 2 * width;
    for (int r0 = 0; r0 < width; r0 += 32) {
      const int64_t left = rows - r0;
      const __mmask32 m = left >= 32 ? ~__mmask32{0} : left <= 0 ? 0 : (__mmask32{1} << left) - 1;
      const __m512i a = _mm512_maskz_loadu_epi16(m, lo + r0);
      const __m512i b = has_hi ? _mm512_maskz_loadu_epi16(m, lo + ld + r0) : _mm512_setzero_si512();
      _mm512_mask_storeu_epi32(dst + 2 * r0, first_n(width - r0),
                               _mm512_permutex2var_epi16(a, lo_idx, b));
      if (width - r0 > 16)
        _mm512_mask_storeu_epi32(dst + 2 * r0 + 32, first_n(width - r0 - 16),
                                 _mm512_permutex2var_epi16(a, hi_idx, b));
    }
  }
}

}  // namespace

const PackFn kAvx512PackF32 = &pack_f32;
const PackFn kAvx512PackBf16 = &pack_bf16;
const PackFn kAvx512PackBf16Widen = &pack_bf16_widen;

}  // namespace perfcal::gemm::ukr
