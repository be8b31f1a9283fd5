// AVX-512 fp32 micro-kernels for the BLIS-style driver (kernels/gemm/blis.cpp).
//
// Variants (MR x NR, the tuner picks via CpuGemmConfig.mr/nr; gemm/cpu/avx512/f32 uses them):
//   32x12 (default), 32x14, 48x8, 64x6, 16x28, 16x14, 32x8
// Shape of every kernel: MR/16 zmm loads of the packed A column per k step, NR scalar
// broadcasts of B folded into the FMA as {1to16} memory operands, MR/16 * NR zmm
// accumulators that stay in registers for the whole k loop (<= 28 of the 32 zmm), so each
// k step issues MR*NR/16 independent FMAs: enough to cover 2 FMA ports x 4-cycle latency.
// Requires AVX512F (the file is compiled with -mavx512f; chosen only when cpuid says so).
#include <immintrin.h>

#include <type_traits>
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

template <int MV, int NR>
__attribute__((always_inline)) inline void step(__m512 (&acc)[NR][MV], const float* a,
                                                const float* b) {
  __m512 av[MV];
#pragma GCC unroll 8
  for (int v = 0; v < MV; ++v) av[v] = _mm512_load_ps(a + 16 * v);
#pragma GCC unroll 32
  for (int j = 0; j < NR; ++j)
#pragma GCC unroll 8
    for (int v = 0; v < MV; ++v)
      // The B scalar is broadcast from memory inside the FMA ({1to16}). Written as asm
      // because GCC otherwise hoists the broadcasts into registers, runs out of the 32 zmm
      // with 24-28 accumulators live, and spills inside the k loop.
      __asm__("vfmadd231ps %[bj]%{1to16%}, %[a], %[c]"
              : [c] "+v"(acc[j][v])
              : [a] "v"(av[v]), [bj] "m"(b[j]));
}

// Rows of vector v that lie inside the tile's m valid rows.
inline __mmask16 row_mask(int m, int v) {
  int rows = m - 16 * v;
  if (rows >= 16) return 0xffff;
  if (rows <= 0) return 0;
  return static_cast<__mmask16>((1u << rows) - 1);
}

// "direct": one k step with B read in place. Columns come in groups of three around a base
// pointer g (column 3g at base, 3g+1 at base + ld, 3g+2 at base + 2 ld, in bytes), so NR
// column streams need NR/3 pointers plus one stride: with a pointer per column GCC ran out
// of the 16 general registers and spilled pointers and accumulators inside the k loop.
// D: byte offset of this k step from the bases (the loop is unrolled over k). Column J is a
// template argument, not a generic lambda: clang does not capture asm operands inside one
// (the TSan build, clang's, failed); GCC generates the same loop either way.
template <int MV, int NR, int D, int J>
__attribute__((always_inline)) inline void fma_column(__m512 (&acc)[NR][MV], const __m512 (&av)[MV],
                                                      const float* const* base, int64_t ld) {
  const float* b = base[J / 3];
#pragma GCC unroll 8
  for (int v = 0; v < MV; ++v) {
    if constexpr (J % 3 == 0)
      __asm__("vfmadd231ps %c[d](%[b])%{1to16%}, %[a], %[c]"
              : [c] "+v"(acc[J][v])
              : [a] "v"(av[v]), [b] "r"(b), [d] "i"(D));
    else
      __asm__(
          "vfmadd231ps %c[d](%[b],%[ld],"
          "%c[s]"
          ")%{1to16%}, %[a], %[c]"
          : [c] "+v"(acc[J][v])
          : [a] "v"(av[v]), [b] "r"(b), [ld] "r"(ld), [d] "i"(D), [s] "i"(J % 3));
  }
}

template <int MV, int NR, int D, int... J>
__attribute__((always_inline)) inline void fma_columns(__m512 (&acc)[NR][MV],
                                                       const __m512 (&av)[MV],
                                                       const float* const* base, int64_t ld,
                                                       std::integer_sequence<int, J...>) {
  (fma_column<MV, NR, D, J>(acc, av, base, ld), ...);
}

template <int MV, int NR, int D>
__attribute__((always_inline)) inline void step_direct(__m512 (&acc)[NR][MV], const float* a,
                                                       const float* const* base, int64_t ld) {
  __m512 av[MV];
#pragma GCC unroll 8
  for (int v = 0; v < MV; ++v) av[v] = _mm512_load_ps(a + 16 * v);
  fma_columns<MV, NR, D>(acc, av, base, ld, std::make_integer_sequence<int, NR>{});
}

// The k loop over a packed B micro-panel (kc x NR, k-major).
template <int MV, int NR>
__attribute__((always_inline)) inline void packed_loop(__m512 (&acc)[NR][MV], const Args& args) {
  constexpr int MR = 16 * MV;
  const float* __restrict a = static_cast<const float*>(args.a);
  const float* __restrict b = static_cast<const float*>(args.b);
  int64_t k = args.kc;
  if (args.next.groups > 0) {
    // "stream": a few lines of the next B panel's source per k step, into L2.
    Prefetch next = args.next;
    for (; k >= 4; k -= 4) {
#pragma GCC unroll 4
      for (int u = 0; u < 4; ++u) {
        next.step();
        step<MV, NR>(acc, a, b);
        a += MR;
        b += NR;
      }
    }
  } else if (args.prefetch > 0) {
    // The A micro-panel streams from L2 (the B micro-panel stays in L1 across the ir loop);
    // prefetch it `prefetch` k steps ahead, one cache line per zmm consumed.
    const int64_t pf = int64_t{args.prefetch} * MR;
    for (; k >= 4; k -= 4) {
#pragma GCC unroll 4
      for (int u = 0; u < 4; ++u) {
#pragma GCC unroll 8
        for (int v = 0; v < MV; ++v)
          _mm_prefetch(reinterpret_cast<const char*>(a + pf + 16 * v), _MM_HINT_T0);
        step<MV, NR>(acc, a, b);
        a += MR;
        b += NR;
      }
    }
  } else {
    for (; k >= 4; k -= 4) {
#pragma GCC unroll 4
      for (int u = 0; u < 4; ++u) {
        step<MV, NR>(acc, a, b);
        a += MR;
        b += NR;
      }
    }
  }
  for (; k > 0; --k) {
    step<MV, NR>(acc, a, b);
    a += MR;
    b += NR;
  }
}

// The k loop with B in place ("direct"): NR column streams, each read once per row block;
// B is never copied, which is most of the time of a skinny GEMM (few rows of A per B
// element). The driver guarantees n == NR (it copies a narrower last panel). Software
// prefetch: one line per column every 16 k steps, `prefetch` k steps ahead.
template <int MV, int NR>
__attribute__((always_inline)) inline void direct_loop(__m512 (&acc)[NR][MV], const Args& args) {
  constexpr int MR = 16 * MV, G = (NR + 2) / 3;
  const float* a = static_cast<const float*>(args.a);
  const int64_t ld = args.b_ld * int64_t{sizeof(float)};
  const float* base[G];
  for (int g = 0; g < G; ++g) base[g] = static_cast<const float*>(args.b) + 3 * g * args.b_ld;
  const int64_t kc = args.kc, pf = args.prefetch;
  auto advance = [&](int64_t steps) PERFCAL_LAMBDA_INLINE {
    a += steps * MR;
    for (int g = 0; g < G; ++g) base[g] += steps;
  };
  auto four = [&]() PERFCAL_LAMBDA_INLINE {
    step_direct<MV, NR, 0>(acc, a, base, ld);
    step_direct<MV, NR, 4>(acc, a + MR, base, ld);
    step_direct<MV, NR, 8>(acc, a + 2 * MR, base, ld);
    step_direct<MV, NR, 12>(acc, a + 3 * MR, base, ld);
    advance(4);
  };
  int64_t k = kc;
  if (pf > 0) {
    for (; k >= 16; k -= 16) {
      for (int j = 0; j < NR; ++j)
        _mm_prefetch(reinterpret_cast<const char*>(base[j / 3] + (j % 3) * args.b_ld + pf),
                     _MM_HINT_T0);
      four(), four(), four(), four();
    }
  }
  for (; k >= 4; k -= 4) four();
  for (; k > 0; --k) {
    step_direct<MV, NR, 0>(acc, a, base, ld);
    advance(1);
  }
}

template <int MV, int NR, bool kDirect>
void kernel(const Args& args) {
  constexpr int MR = 16 * MV;
  float* c = args.c;
  const int64_t ldc = args.ldc;

  __m512 acc[NR][MV];
#pragma GCC unroll 32
  for (int j = 0; j < NR; ++j)
#pragma GCC unroll 8
    for (int v = 0; v < MV; ++v) acc[j][v] = _mm512_setzero_ps();

  // Start pulling the C tile towards L1 now so the update after the k loop does not stall
  // on it (C is touched once per kc block; it is usually in L2/L3, not L1).
  for (int j = 0; j < args.n && !args.c_trans; ++j)
    for (int v = 0; v < MV; ++v)
      _mm_prefetch(reinterpret_cast<const char*>(c + j * ldc + 16 * v), _MM_HINT_T0);

  if constexpr (kDirect) {
    direct_loop<MV, NR>(acc, args);
    if (args.c_trans) {
      // Transposed tile (C^T computed): through memory, element by element. Once per call
      // of kc (up to 4096) k steps, so this costs well under 1% of the FMAs.
      alignas(64) float t[NR][MR];
      for (int j = 0; j < NR; ++j)
        for (int v = 0; v < MV; ++v) _mm512_store_ps(&t[j][16 * v], acc[j][v]);
      for (int i = 0; i < args.m; ++i)
        for (int j = 0; j < args.n; ++j) {
          float* o = c + i * ldc + j;
          const float r = args.alpha * t[j][i];
          *o = args.beta == 0.0f ? r : r + args.beta * *o;  // beta == 0 never reads C
        }
      return;
    }
  } else {
    packed_loop<MV, NR>(acc, args);
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
  // Edge tile: rows past m masked off, columns past n skipped; never touches memory
  // outside the m x n tile.
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

}  // namespace

const Desc kAvx512F32[] = {
    {32, 12, &kernel<2, 12, false>}, {32, 14, &kernel<2, 14, false>},
    {48, 8, &kernel<3, 8, false>},   {64, 6, &kernel<4, 6, false>},
    {16, 28, &kernel<1, 28, false>}, {16, 14, &kernel<1, 14, false>},
    {32, 8, &kernel<2, 8, false>},   {0, 0, nullptr},
};

// Without 16x28: 28 column pointers do not fit in the 16 general registers.
const Desc kAvx512F32Direct[] = {
    {32, 12, &kernel<2, 12, true>},
    {32, 14, &kernel<2, 14, true>},
    {48, 8, &kernel<3, 8, true>},
    {64, 6, &kernel<4, 6, true>},
    {16, 14, &kernel<1, 14, true>},
    {32, 8, &kernel<2, 8, true>},
    {0, 0, nullptr},
};

}  // namespace perfcal::gemm::ukr
