// What the AVX-512 micro-kernel files share (ukernels_f32.cpp, ukernels_bf16.cpp; both
// compiled with the same AVX-512 flags, ukernel.h says why nothing else may be included):
// the tile's prologue and its C update, and the k loop that reads B in place ("direct").
//
// Internal linkage (an unnamed namespace in a header): each file gets its own copies, so no
// instantiation compiled with one file's flags can be picked by the linker for another.
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <utility>

#include "gemm/ukernel.h"

// The direct k loop's small lambdas, forced inline under GCC; clang rejects the attribute
// on a lambda that captures, and inlines them anyway.
#if defined(__clang__)
#define PERFCAL_LAMBDA_INLINE
#else
#define PERFCAL_LAMBDA_INLINE __attribute__((always_inline))
#endif

namespace perfcal::gemm::ukr {
namespace {

// Rows of vector v that lie inside the tile's m valid rows.
inline __mmask16 row_mask(int m, int v) {
  int rows = m - 16 * v;
  if (rows >= 16) return 0xffff;
  if (rows <= 0) return 0;
  return static_cast<__mmask16>((1u << rows) - 1);
}

// Zeroed accumulators, and the C tile pulled towards L1 while the k loop runs (C is touched
// once per kc block; it is usually in L2/L3, not L1).
template <int MV, int NR>
__attribute__((always_inline)) inline void begin_tile(__m512 (&acc)[NR][MV], const Args& args) {
#pragma GCC unroll 32
  for (int j = 0; j < NR; ++j)
#pragma GCC unroll 8
    for (int v = 0; v < MV; ++v) acc[j][v] = _mm512_setzero_ps();
  for (int j = 0; j < args.n && !args.c_trans; ++j)
    for (int v = 0; v < MV; ++v)
      _mm_prefetch(reinterpret_cast<const char*>(args.c + j * args.ldc + 16 * v), _MM_HINT_T0);
}

// C = alpha * acc + beta * C over the tile's m x n valid part (ukernel.h); beta == 0 never
// reads C, and nothing outside the tile is touched. kDirect: the tile may be transposed
// (args.c_trans; only direct kernels run on C^T, the others do not compile that path).
template <int MV, int NR, bool kDirect>
__attribute__((always_inline)) inline void end_tile(__m512 (&acc)[NR][MV], const Args& args) {
  constexpr int MR = 16 * MV;
  float* c = args.c;
  const int64_t ldc = args.ldc;
  if (kDirect && args.c_trans) {
    // Transposed tile (direct on C^T): through memory, element by element. Once per call of
    // kc (up to 4096) k steps, so this costs well under 1% of the FMAs.
    // (Unrolled: an acc element indexed at run time anywhere keeps the whole tile in memory
    // instead of registers, k loop included.)
    alignas(64) float t[NR][MR];
#pragma GCC unroll 32
    for (int j = 0; j < NR; ++j)
#pragma GCC unroll 8
      for (int v = 0; v < MV; ++v) _mm512_store_ps(&t[j][16 * v], acc[j][v]);
    for (int i = 0; i < args.m; ++i)
      for (int j = 0; j < args.n; ++j) {
        float* o = c + i * ldc + j;
        const float r = args.alpha * t[j][i];
        *o = args.beta == 0.0f ? r : r + args.beta * *o;
      }
    return;
  }
  const __m512 valpha = _mm512_set1_ps(args.alpha);
  const float beta = args.beta;
  if (args.m == MR && args.n == NR) {
    // Full tile: unmasked C traffic.
    if (beta == 0.0f) {
#pragma GCC unroll 32
      for (int j = 0; j < NR; ++j)
#pragma GCC unroll 8
        for (int v = 0; v < MV; ++v)
          _mm512_storeu_ps(c + j * ldc + 16 * v, _mm512_mul_ps(acc[j][v], valpha));
    } else if (beta == 1.0f) {
#pragma GCC unroll 32
      for (int j = 0; j < NR; ++j)
#pragma GCC unroll 8
        for (int v = 0; v < MV; ++v) {
          float* p = c + j * ldc + 16 * v;
          _mm512_storeu_ps(p, _mm512_fmadd_ps(acc[j][v], valpha, _mm512_loadu_ps(p)));
        }
    } else {
      const __m512 vbeta = _mm512_set1_ps(beta);
#pragma GCC unroll 32
      for (int j = 0; j < NR; ++j)
#pragma GCC unroll 8
        for (int v = 0; v < MV; ++v) {
          float* p = c + j * ldc + 16 * v;
          _mm512_storeu_ps(
              p, _mm512_fmadd_ps(acc[j][v], valpha, _mm512_mul_ps(vbeta, _mm512_loadu_ps(p))));
        }
    }
    return;
  }
  // Edge tile: rows past m masked off, columns past n skipped.
  __mmask16 mask[MV];
  for (int v = 0; v < MV; ++v) mask[v] = row_mask(args.m, v);
  const __m512 vbeta = _mm512_set1_ps(beta);
#pragma GCC unroll 32
  for (int j = 0; j < NR; ++j) {
    if (j >= args.n) break;
#pragma GCC unroll 8
    for (int v = 0; v < MV; ++v) {
      if (!mask[v]) continue;
      float* p = c + j * ldc + 16 * v;
      __m512 r = _mm512_mul_ps(acc[j][v], valpha);
      if (beta != 0.0f) r = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(mask[v], p), r);
      _mm512_mask_storeu_ps(p, mask[v], r);
    }
  }
}

// ---- one k step over packed panels ----------------------------------------------------
// A's MV vectors of this k step (fp32: 16 rows; bf16: 16 rows x a k pair) in av; the NR B
// elements (bf16: (k, k+1) pairs, 32 bits either way) at b. Each is broadcast inside the
// instruction ({1to16}) or once into a register for its MV instructions (the two forms of
// ukernel.h's Desc). asm either way: GCC otherwise hoists all NR broadcasts of a step (or of
// the unrolled steps) into registers, runs out of the 32 zmm with 24-28 accumulators live,
// and spills inside the k loop; one broadcast register at a time is what fits.
#define PERFCAL_PACKED_OPS(OP)                                                                    \
  if constexpr (kEmbedded) {                                                                      \
    _Pragma("GCC unroll 8") for (int v = 0; v < MV; ++v) __asm__(                                 \
        OP " %[bj]%{1to16%}, %[a], %[c]" : [c] "+v"(acc[j][v]) : [a] "v"(av[v]), [bj] "m"(b[j])); \
  } else {                                                                                        \
    __m512 bj;                                                                                    \
    __asm__("vbroadcastss %[m], %[r]" : [r] "=v"(bj) : [m] "m"(b[j]));                            \
    _Pragma("GCC unroll 8") for (int v = 0; v < MV; ++v) __asm__(                                 \
        OP " %[bj], %[a], %[c]" : [c] "+v"(acc[j][v]) : [a] "v"(av[v]), [bj] "v"(bj));            \
  }

template <bool kBf16, bool kEmbedded, int MV, int NR>
__attribute__((always_inline)) inline void packed_step(__m512 (&acc)[NR][MV],
                                                       const __m512 (&av)[MV], const float* b) {
#pragma GCC unroll 32
  for (int j = 0; j < NR; ++j) {
    if constexpr (kBf16) {
      PERFCAL_PACKED_OPS("vdpbf16ps");
    } else {
      PERFCAL_PACKED_OPS("vfmadd231ps");
    }
  }
}
#undef PERFCAL_PACKED_OPS

// ---- "direct": B read in place --------------------------------------------------------
// One k step reads 4 bytes of every B column: one fp32 k, or one bf16 (k, k+1) pair
// (kBf16: vdpbf16ps, whose lanes take pairs of k), and MR lanes of 4 bytes of the packed A
// panel (MR floats, or MR pairs). So both element types share the addressing below.
//
// Columns come in groups of three around a base pointer g (column 3g at base, 3g+1 at
// base + ld, 3g+2 at base + 2 ld, in bytes), so NR column streams need NR/3 pointers plus
// one stride: with a pointer per column GCC ran out of the 16 general registers and spilled
// pointers and accumulators inside the k loop. D: byte offset of this k step from the bases
// (the loop is unrolled over k). Column J is a template argument, not a generic lambda:
// clang does not capture asm operands inside one (the TSan build, clang's, failed).
// kEmbedded: the element (pair) is broadcast inside the instruction ({1to16}); otherwise
// once into a register for the MV instructions (ukernel.h's Desc: which form is faster
// depends on the core). asm either way: GCC otherwise hoists the broadcasts into registers
// and spills accumulators.
#define PERFCAL_DIRECT_OP(OP)                                  \
  if constexpr (s == 0)                                        \
    __asm__(OP " %c[d](%[b])%{1to16%}, %[a], %[c]"             \
            : [c] "+v"(acc[J][v])                              \
            : [a] "v"(av[v]), [b] "r"(b), [d] "i"(D));         \
  else                                                         \
    __asm__(OP " %c[d](%[b],%[ld],%c[s])%{1to16%}, %[a], %[c]" \
            : [c] "+v"(acc[J][v])                              \
            : [a] "v"(av[v]), [b] "r"(b), [ld] "r"(ld), [d] "i"(D), [s] "i"(s))

template <bool kBf16, bool kEmbedded, int MV, int NR, int D, int J>
__attribute__((always_inline)) inline void direct_column(__m512 (&acc)[NR][MV],
                                                         const __m512 (&av)[MV],
                                                         const char* const* base, int64_t ld) {
  const char* b = base[J / 3];
  constexpr int s = J % 3;
  if constexpr (kEmbedded) {
#pragma GCC unroll 8
    for (int v = 0; v < MV; ++v) {
      if constexpr (kBf16) {
        PERFCAL_DIRECT_OP("vdpbf16ps");
      } else {
        PERFCAL_DIRECT_OP("vfmadd231ps");
      }
    }
  } else {
    __m512 bj;  // 32 bits: one fp32 element or one bf16 pair
    if constexpr (s == 0)
      __asm__("vbroadcastss %c[d](%[b]), %[r]" : [r] "=v"(bj) : [b] "r"(b), [d] "i"(D));
    else
      __asm__("vbroadcastss %c[d](%[b],%[ld],%c[s]), %[r]"
              : [r] "=v"(bj)
              : [b] "r"(b), [ld] "r"(ld), [d] "i"(D), [s] "i"(s));
#pragma GCC unroll 8
    for (int v = 0; v < MV; ++v) {
      if constexpr (kBf16)
        __asm__("vdpbf16ps %[bj], %[a], %[c]" : [c] "+v"(acc[J][v]) : [a] "v"(av[v]), [bj] "v"(bj));
      else
        __asm__("vfmadd231ps %[bj], %[a], %[c]"
                : [c] "+v"(acc[J][v])
                : [a] "v"(av[v]), [bj] "v"(bj));
    }
  }
}
#undef PERFCAL_DIRECT_OP

template <bool kBf16, bool kEmbedded, int MV, int NR, int D, int... J>
__attribute__((always_inline)) inline void direct_columns(__m512 (&acc)[NR][MV],
                                                          const __m512 (&av)[MV],
                                                          const char* const* base, int64_t ld,
                                                          std::integer_sequence<int, J...>) {
  (direct_column<kBf16, kEmbedded, MV, NR, D, J>(acc, av, base, ld), ...);
}

template <bool kBf16, bool kEmbedded, int MV, int NR, int D>
__attribute__((always_inline)) inline void direct_step(__m512 (&acc)[NR][MV], const float* a,
                                                       const char* const* base, int64_t ld) {
  __m512 av[MV];
#pragma GCC unroll 8
  for (int v = 0; v < MV; ++v) av[v] = _mm512_load_ps(a + 16 * v);
  direct_columns<kBf16, kEmbedded, MV, NR, D>(acc, av, base, ld,
                                              std::make_integer_sequence<int, NR>{});
}

// The k loop with B in place: NR column streams, each read once per row block; B is never
// copied, which is most of the time of a skinny GEMM (few rows of A per B element). The
// driver guarantees n == NR (it copies a narrower last panel). Software prefetch: one line
// per column every 16 k steps, `prefetch` k steps ahead. bf16 with an odd k (args.b_odd):
// the last pair's second element is not in B, so that pair is read as (b, 0) on its own.
template <bool kBf16, bool kEmbedded, int MV, int NR>
__attribute__((always_inline)) inline void direct_loop(__m512 (&acc)[NR][MV], const Args& args) {
  constexpr int MR = 16 * MV, G = (NR + 2) / 3;
  constexpr int64_t kElem = kBf16 ? 2 : 4;
  const float* a = static_cast<const float*>(args.a);  // A: 4-byte lanes either way
  const int64_t ld = args.b_ld * kElem;
  const char* base[G];
  for (int g = 0; g < G; ++g) base[g] = static_cast<const char*>(args.b) + 3 * g * ld;
  const bool odd = kBf16 && args.b_odd;
  const int64_t steps = (kBf16 ? args.kc / 2 : args.kc) - (odd ? 1 : 0);
  const int64_t pf = 4 * int64_t{args.prefetch};
  auto advance = [&](int64_t n) PERFCAL_LAMBDA_INLINE {
    a += n * MR;
    for (int g = 0; g < G; ++g) base[g] += 4 * n;
  };
  auto four = [&]() PERFCAL_LAMBDA_INLINE {
    direct_step<kBf16, kEmbedded, MV, NR, 0>(acc, a, base, ld);
    direct_step<kBf16, kEmbedded, MV, NR, 4>(acc, a + MR, base, ld);
    direct_step<kBf16, kEmbedded, MV, NR, 8>(acc, a + 2 * MR, base, ld);
    direct_step<kBf16, kEmbedded, MV, NR, 12>(acc, a + 3 * MR, base, ld);
    advance(4);
  };
  int64_t k = steps;
  if (pf > 0) {
    for (; k >= 16; k -= 16) {
      for (int j = 0; j < NR; ++j) _mm_prefetch(base[j / 3] + (j % 3) * ld + pf, _MM_HINT_T0);
      four(), four(), four(), four();
    }
  }
  for (; k >= 4; k -= 4) four();
  for (; k > 0; --k) {
    direct_step<kBf16, kEmbedded, MV, NR, 0>(acc, a, base, ld);
    advance(1);
  }
  if constexpr (kBf16) {
    if (odd) {
      __m512 av[MV];
#pragma GCC unroll 8
      for (int v = 0; v < MV; ++v) av[v] = _mm512_load_ps(a + 16 * v);
#pragma GCC unroll 32
      for (int j = 0; j < NR; ++j) {
        uint16_t bk;
        __builtin_memcpy(&bk, base[j / 3] + (j % 3) * ld, sizeof bk);
        const __m512bh bv = (__m512bh)_mm512_set1_epi32(bk);  // (b, 0)
#pragma GCC unroll 8
        for (int v = 0; v < MV; ++v) acc[j][v] = _mm512_dpbf16_ps(acc[j][v], (__m512bh)av[v], bv);
      }
    }
  }
}

}  // namespace
}  // namespace perfcal::gemm::ukr
