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

#include "gemm/avx512/tile.h"
#include "gemm/ukernel.h"

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

template <int MV, int NR, bool kDirect>
void kernel(const Args& args) {
  __m512 acc[NR][MV];
  begin_tile<MV, NR>(acc, args);
  if constexpr (kDirect)
    direct_loop<false, MV, NR>(acc, args);
  else
    packed_loop<MV, NR>(acc, args);
  end_tile<MV, NR, kDirect>(acc, args);
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
