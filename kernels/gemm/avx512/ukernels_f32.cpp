// AVX-512 fp32 micro-kernels for the BLIS-style driver (kernels/gemm/blis.cpp).
//
// Variants (MR x NR, the tuner picks via CpuGemmConfig.mr/nr; gemm/cpu/avx512/f32 uses them):
//   32x12 (default), 32x14, 48x8, 64x6, 16x28, 16x14, 32x8
// Shape of every kernel: MR/16 zmm loads of the packed A column per k step, NR scalar
// broadcasts of B (into a register, or folded into the FMA as a {1to16} memory operand:
// the two forms of ukernel.h's Desc), MR/16 * NR zmm accumulators that stay in registers
// for the whole k loop (<= 28 of the 32 zmm, + MV + 1), so each k step issues MR*NR/16
// independent FMAs: enough to cover 2 FMA ports x 4-cycle latency.
// Requires AVX512F (the file is compiled with -mavx512f; chosen only when cpuid says so).
#include <immintrin.h>
#include <x86intrin.h>

#include "gemm/avx512/tile.h"
#include "gemm/ukernel.h"

namespace perfcal::gemm::ukr {
namespace {

template <int MV, int NR, bool kEmbedded>
__attribute__((always_inline)) inline void step(__m512 (&acc)[NR][MV], const float* a,
                                                const float* b) {
  __m512 av[MV];
#pragma GCC unroll 8
  for (int v = 0; v < MV; ++v) av[v] = _mm512_load_ps(a + 16 * v);
  packed_step<false, kEmbedded, MV, NR>(acc, av, b);
}

// The k loop over a packed B micro-panel (kc x NR, k-major).
template <int MV, int NR, bool kEmbedded>
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
        step<MV, NR, kEmbedded>(acc, a, b);
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
        step<MV, NR, kEmbedded>(acc, a, b);
        a += MR;
        b += NR;
      }
    }
  } else {
    for (; k >= 4; k -= 4) {
#pragma GCC unroll 4
      for (int u = 0; u < 4; ++u) {
        step<MV, NR, kEmbedded>(acc, a, b);
        a += MR;
        b += NR;
      }
    }
  }
  for (; k > 0; --k) {
    step<MV, NR, kEmbedded>(acc, a, b);
    a += MR;
    b += NR;
  }
}

template <int MV, int NR, bool kDirect, bool kEmbedded>
void kernel(const Args& args) {
  __m512 acc[NR][MV];
  begin_tile<MV, NR>(acc, args);
  if constexpr (kDirect)
    direct_loop<false, kEmbedded, MV, NR>(acc, args);
  else
    packed_loop<MV, NR, kEmbedded>(acc, args);
  end_tile<MV, NR, kDirect>(acc, args);
}

// Both forms of one shape, for a Desc.
#define PERFCAL_TILE(MV, NR, DIRECT) \
  { 16 * MV, NR, &kernel<MV, NR, DIRECT, false>, &kernel<MV, NR, DIRECT, true> }

// TSC cycles of `calls` calls of the 32x12 kernel on panels in L1 (kc = 256).
template <bool kEmbedded>
uint64_t tile_cycles(const Args& args, int calls) {
  const uint64_t t0 = __rdtsc();
  for (int i = 0; i < calls; ++i) kernel<2, 12, false, kEmbedded>(args);
  return __rdtsc() - t0;
}

}  // namespace

// The TSC (not std::chrono) keeps this file free of inline library code (ukernel.h).
double avx512_embedded_over_register() {
  constexpr int kc = 256;
  alignas(64) static float a[32 * kc], b[12 * kc], c[32 * 12];
  for (int i = 0; i < 32 * kc; ++i) a[i] = 1.0f / float(1 + i % 7);
  for (int i = 0; i < 12 * kc; ++i) b[i] = 1.0f / float(1 + i % 5);
  Args args{};
  args.kc = kc, args.a = a, args.b = b, args.c = c, args.ldc = 32;
  args.m = 32, args.n = 12, args.alpha = 1.0f, args.beta = 0.0f;
  uint64_t best_reg = ~uint64_t{0}, best_emb = ~uint64_t{0};
  for (int r = 0; r < 5; ++r) {  // interleaved, best of 5: robust to a preempted round
    const uint64_t g = tile_cycles<false>(args, 40), e = tile_cycles<true>(args, 40);
    best_reg = g < best_reg ? g : best_reg;
    best_emb = e < best_emb ? e : best_emb;
  }
  return double(best_reg) / double(best_emb);
}

const Desc kAvx512F32[] = {
    PERFCAL_TILE(2, 12, false), PERFCAL_TILE(2, 14, false),
    PERFCAL_TILE(3, 8, false),  PERFCAL_TILE(4, 6, false),
    PERFCAL_TILE(1, 28, false), PERFCAL_TILE(1, 14, false),
    PERFCAL_TILE(2, 8, false),  {0, 0, nullptr},
};

// Without 16x28: 28 column pointers do not fit in the 16 general registers.
const Desc kAvx512F32Direct[] = {
    PERFCAL_TILE(2, 12, true), PERFCAL_TILE(2, 14, true), PERFCAL_TILE(3, 8, true),
    PERFCAL_TILE(4, 6, true),  PERFCAL_TILE(1, 14, true), PERFCAL_TILE(2, 8, true),
    {0, 0, nullptr},
};
#undef PERFCAL_TILE

}  // namespace perfcal::gemm::ukr
