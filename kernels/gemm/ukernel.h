// Micro-kernel interface between the BLIS-style driver (blis.cpp) and the ISA files
// (avx512/, avx2/, portable_ukernel.cpp).
//
// Deliberately plain data only: the ISA files are compiled with -mavx512f/-mavx2 and must
// not instantiate any inline library code (std::vector, nlohmann) that the linker could
// later pick for the whole library and run on a CPU without those instructions. They
// export constant tables of {MR, NR, function}; the variants (generic code) pick from them.
//
// One call computes one MR x NR tile of C from packed panels (layout drawn in gemm.h):
//
//   a: MR x kc panel, k-major          f32: a[k * MR + i]
//                                      bf16: pairs of k, a[(k/2) * 2MR + 2i + (k&1)]
//   b: kc x NR panel, k-major          f32: b[k * NR + j]
//                                      bf16: b[(k/2) * 2NR + 2j + (k&1)]
//   C tile (m x n valid of MR x NR):   c[i + j * ldc] = alpha * (a^T b)[i,j] + beta * c[i,j]
//
// Rows >= m and columns >= n of the packed panels are zero; the kernel computes the full
// tile in registers and masks only its loads/stores of C (edge tiles live in the kernel).
// beta == 0 never reads C. bf16 panels are padded to an even kc with zeros.
#pragma once
#include <cstdint>

namespace perfcal::gemm::ukr {

// Lines of another panel's source to pull into L2 while a kernel runs, a few per k step
// ("stream" configs: the next B micro-panel, packed right after this call). Groups of
// `lines` cache lines, `stride` bytes apart. Only a hint: a kernel may ignore it.
struct Prefetch {
  const char* p = nullptr;  // start of the current group
  int64_t stride = 0;
  int groups = 0, lines = 0;  // groups left; lines per group
  int per_step = 0;           // lines per k step
  int line = 0;               // next line in the current group

  inline void step() {
    for (int i = 0; i < per_step && groups > 0; ++i) {
      __builtin_prefetch(p + 64 * line, 0, 2);  // read, to L2 (prefetcht1)
      if (++line == lines) line = 0, p += stride, --groups;
    }
  }
};

struct Args {
  int64_t kc;     // k extent of the panels (bf16: even, zero padded)
  const void* a;  // packed A micro-panel, 64-byte aligned
  const void* b;  // packed B micro-panel, 64-byte aligned
  float* c;       // top-left of the C tile
  int64_t ldc;
  int m, n;           // valid rows / columns of this tile (1..MR, 1..NR)
  float alpha, beta;  // beta == 0: C is written, never read
  int prefetch;       // prefetch the A panel this many k steps ahead (0: off)
  Prefetch next;      // groups == 0: none
  // Kernels of the "direct" tables only: B is not packed; element (k, j) of the tile's B is
  // b[k + j * b_ld] (op(B) column-major, k contiguous), read where it lies; all NR columns
  // are read, so the driver passes a narrower last panel as a zero-padded copy. For direct
  // kernels `prefetch` is the distance in k steps at which each B column is prefetched.
  int64_t b_ld = 0;
  // Direct bf16 only: kc is odd in B (the last pair's second element lies past the
  // column, maybe past the buffer): the kernel reads that pair as (b, 0).
  bool b_odd = false;
  // Direct kernels only: the tile's element (i, j) is c[i * ldc + j] (the driver computes
  // C^T = op(B)^T op(A)^T so that a transposed large A can be read in place as B).
  bool c_trans = false;
};

using Fn = void (*)(const Args&);

// Two forms of one tile on AVX-512 (CpuGemmConfig.broadcast): `fn` broadcasts each B
// element (pair) into a register and multiplies register by register; `embedded` folds the
// broadcast into the FMA as a {1to16} memory operand. Which is faster depends on the core
// (one thread: on a Sapphire Rapids KVM guest the register form ran 0.93x embedded in the
// 1024^3 GEMM; on a Zen 5 the embedded form ran 0.87-0.92x register, kernels alone), so
// avx512_embedded_over_register() measures it. Null `embedded`: the register form only
// (AVX2, portable: no embedded broadcasts).
struct Desc {
  int mr, nr;
  Fn fn;
  Fn embedded = nullptr;
};

// Packs one panel: element (r, k) of op(X), r < rows, k < kb, with x pointing at (0, 0) of
// the panel and stored at x[r + k * ld] (r_contig) or x[k + r * ld]; writes the full
// `width` x round_up(kb, k_pack) panel in the layout above, zeros past `rows` and in the
// padding k. A null PackFn means the driver's portable packing.
using PackFn = void (*)(const void* x, int64_t ld, bool r_contig, int64_t rows, int64_t kb,
                        int width, void* out);
extern const PackFn kAvx512PackF32;
extern const PackFn kAvx512PackBf16;
// bf16 input packed as fp32 panels (widened exactly), for the fp32 kernels.
extern const PackFn kAvx512PackBf16Widen;

// Skinny GEMM as dot products (CpuGemmConfig.algo = "dot"): for r < rows (<= kDotMaxRows)
// and s in [s0, s1),
//   out(r, s) = alpha * sum_{k < kn} x[r * ldx + k] * y[s * ldy + k] + beta * out(r, s),
// out(r, s) at c[r * cr + s * cs]: both operands contiguous in k (the driver packs the small
// one when it is not); beta == 0 never reads out. x is fp32; y, the large operand read in
// place, has the kernel's element type (fp32, or bf16 widened as it is loaded).
// Up to 8: beyond, the horizontal sums (one per output per k chunk) cost as much as the
// FMAs (16 rows ran 0.6x the BLIS loops) and the micro-kernels win.
inline constexpr int kDotMaxRows = 8;
struct DotArgs {
  int64_t rows, s0, s1, k;
  const float* x;
  int64_t ldx;
  const void* y;
  int64_t ldy;
  float alpha, beta;
  float* c;
  int64_t cr, cs;
};
using DotFn = void (*)(const DotArgs&);
extern const DotFn kAvx512DotF32;
extern const DotFn kAvx512DotBf16;

// FLOP rate of vdpbf16ps over that of fp32 FMA on this core, from a ~0.1 ms loop of each
// (avx512/ukernels_bf16.cpp). Call only where AVX512_BF16 exists.
double avx512_dpbf16_over_fma();

// Speed of the embedded-broadcast form of the 32x12 fp32 kernel over its register form, on
// panels in L1 (~0.1 ms each, interleaved, best of 5; avx512/ukernels_f32.cpp). AVX-512 only.
// Not reentrant (its panels are static, 44 KiB off the stack): default_config calls it once.
double avx512_embedded_over_register();

// Tables exported by the ISA files; terminated by an entry with fn == nullptr.
extern const Desc kAvx512F32[];
// The same kernels reading B in place (Args.b_ld; CpuGemmConfig.stream = "direct").
extern const Desc kAvx512F32Direct[];
extern const Desc kAvx512Bf16[];
// The same with B read in place (stream = "direct"; compute "native").
extern const Desc kAvx512Bf16Direct[];
extern const Desc kAvx2F32[];
extern const Desc kPortableF32[];
extern const Desc kPortableBf16[];

}  // namespace perfcal::gemm::ukr
