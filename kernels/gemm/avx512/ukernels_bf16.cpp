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

// GCC 12's own masked-intrinsic headers trip -Wuninitialized on _mm512_undefined_*(); the
// warning is about the header, not this file.
#if defined(__GNUC__) && !defined(__clang__)  // clang has no -Wmaybe-uninitialized
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <x86intrin.h>

#include <cstring>

#include "gemm/avx512/tile.h"
#include "gemm/ukernel.h"

namespace perfcal::gemm::ukr {
namespace {

template <int MV, int NR, bool kEmbedded>
__attribute__((always_inline)) inline void step(__m512 (&acc)[NR][MV], const uint16_t* a,
                                                const uint16_t* b) {
  __m512 av[MV];
#pragma GCC unroll 8
  for (int v = 0; v < MV; ++v) av[v] = _mm512_castsi512_ps(_mm512_load_si512(a + 32 * v));
  // (b[k][j], b[k+1][j]) = 32 bits
  packed_step<true, kEmbedded, MV, NR>(acc, av, reinterpret_cast<const float*>(b));
}

template <int MV, int NR, bool kEmbedded>
void kernel(const Args& args) {
  constexpr int MR = 16 * MV;
  const uint16_t* __restrict a = static_cast<const uint16_t*>(args.a);
  const uint16_t* __restrict b = static_cast<const uint16_t*>(args.b);
  __m512 acc[NR][MV];
  begin_tile<MV, NR>(acc, args);

  int64_t kp = args.kc / 2;  // k pairs
  if (args.next.groups > 0) {
    // "stream": a few lines of the next B panel's source per k pair, into L2.
    Prefetch next = args.next;
    for (; kp >= 2; kp -= 2) {
#pragma GCC unroll 2
      for (int u = 0; u < 2; ++u) {
        next.step();
        step<MV, NR, kEmbedded>(acc, a, b);
        a += 2 * MR;
        b += 2 * NR;
      }
    }
  } else if (args.prefetch > 0) {
    // One k pair of A is MV cache lines; prefetch `prefetch` k steps (= prefetch/2 pairs)
    // ahead so the A micro-panel streaming from L2 arrives in time.
    const int64_t pf = int64_t{(args.prefetch + 1) / 2} * 2 * MR;
    for (; kp >= 2; kp -= 2) {
#pragma GCC unroll 2
      for (int u = 0; u < 2; ++u) {
#pragma GCC unroll 8
        for (int v = 0; v < MV; ++v)
          _mm_prefetch(reinterpret_cast<const char*>(a + pf + 32 * v), _MM_HINT_T0);
        step<MV, NR, kEmbedded>(acc, a, b);
        a += 2 * MR;
        b += 2 * NR;
      }
    }
  } else {
    for (; kp >= 2; kp -= 2) {
#pragma GCC unroll 2
      for (int u = 0; u < 2; ++u) {
        step<MV, NR, kEmbedded>(acc, a, b);
        a += 2 * MR;
        b += 2 * NR;
      }
    }
  }
  for (; kp > 0; --kp) {
    step<MV, NR, kEmbedded>(acc, a, b);
    a += 2 * MR;
    b += 2 * NR;
  }

  end_tile<MV, NR, false>(acc, args);
}

// The same tile with B read in place ("direct"): per k pair, each column's (k, k+1) pair is
// one 32-bit broadcast straight from B (bf16 columns are contiguous in k), so decode-time
// GEMMs skip packing the weights, as the fp32 direct kernels do.
template <int MV, int NR, bool kEmbedded>
void direct_kernel(const Args& args) {
  __m512 acc[NR][MV];
  begin_tile<MV, NR>(acc, args);
  direct_loop<true, kEmbedded, MV, NR>(acc, args);
  end_tile<MV, NR, true>(acc, args);
}

// Cycles (TSC) for `iters` rounds of 12 independent accumulator updates.
template <bool kBf16>
uint64_t probe_cycles(int iters) {
  __m512 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(0.001f * i);
  __m512 x = _mm512_set1_ps(0.5f), y = _mm512_set1_ps(0.25f);
  const uint64_t t0 = __rdtsc();
  for (int n = 0; n < iters; ++n) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i)
      acc[i] = kBf16 ? _mm512_dpbf16_ps(acc[i], (__m512bh)x, (__m512bh)y)
                     : _mm512_fmadd_ps(acc[i], x, y);
    __asm__ volatile("" : "+v"(x));  // keep the loop
  }
  const uint64_t t = __rdtsc() - t0;
  __m512 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, acc[i]);
  volatile float sink = _mm512_reduce_add_ps(s);
  (void)sink;
  return t;
}

}  // namespace

// The TSC (not std::chrono) keeps this file free of inline library code (ukernel.h).
double avx512_dpbf16_over_fma() {
  const int iters = 4000;
  uint64_t best_fma = ~uint64_t{0}, best_bf16 = ~uint64_t{0};
  for (int r = 0; r < 5; ++r) {  // interleaved, best of 5: robust to a preempted round
    const uint64_t f = probe_cycles<false>(iters), b = probe_cycles<true>(iters);
    best_fma = f < best_fma ? f : best_fma;
    best_bf16 = b < best_bf16 ? b : best_bf16;
  }
  // FLOP per instruction: FMA 32, vdpbf16ps 64.
  return (64.0 / double(best_bf16)) / (32.0 / double(best_fma));
}

// Both forms of one shape, for a Desc.
#define PERFCAL_TILE(K, MV, NR) \
  { 16 * MV, NR, &K<MV, NR, false>, &K<MV, NR, true> }
const Desc kAvx512Bf16[] = {
    PERFCAL_TILE(kernel, 2, 12),
    PERFCAL_TILE(kernel, 2, 14),
    PERFCAL_TILE(kernel, 3, 8),
    PERFCAL_TILE(kernel, 4, 6),
    PERFCAL_TILE(kernel, 1, 28),
    PERFCAL_TILE(kernel, 1, 14),
    {0, 0, nullptr},
};

// The fp32 direct shapes (tile.h: at most 14 column streams).
const Desc kAvx512Bf16Direct[] = {
    PERFCAL_TILE(direct_kernel, 2, 12),
    PERFCAL_TILE(direct_kernel, 2, 14),
    PERFCAL_TILE(direct_kernel, 3, 8),
    PERFCAL_TILE(direct_kernel, 4, 6),
    PERFCAL_TILE(direct_kernel, 1, 14),
    PERFCAL_TILE(direct_kernel, 2, 8),
    {0, 0, nullptr},
};
#undef PERFCAL_TILE

}  // namespace perfcal::gemm::ukr
