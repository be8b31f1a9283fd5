// gemm/cuda/mma/bf16: bf16 x bf16 -> fp32 GEMM on the tensor cores with mma.sync (sm_80+),
// the gemm.h contract on device pointers. Run:
//   build/bin/bench_gemm --devices cuda:0 --filter gemm/cuda/mma/bf16
//
// Block tile BM x BN, k-step BK; warps tile the block in WM x WN warp tiles, each warp holds
// (WM/16) x (WN/8) m16n8 fp32 accumulator fragments.
// Shared memory per stage, one tile per operand, in the operand's own memory order so that
// cp.async copies 16-byte chunks unchanged:
//   k-contiguous operand (A with ta = T, B with tb = N):  s[x][k]  BX rows of BK bf16
//   x-contiguous operand (A with ta = N, B with tb = T):  s[k][x]  BK rows of BX bf16
// Fragments come out with ldmatrix.x4 from s[x][k] and ldmatrix.x4.trans from s[k][x].
// Swizzle: the 16-byte chunk c of row r is stored at chunk c ^ (r & 7) (rows of >= 128 B) or
// c ^ ((r >> 1) & 3) (rows of 64 B), so the 8 rows one ldmatrix phase reads, and the
// chunks one cp.async phase writes, fall in 8 different bank groups.
// Pipeline: STAGES - 1 k-tiles in flight with cp.async (cp.async.cg, 16 B, zero-fill beyond
// the matrix via src-size), one barrier per k-tile.
// Edge tiles: cp.async's src-size zero-fills rows/columns/k past the matrix. Where an
// operand's ld is not a multiple of 8 or its base is not 16-byte aligned, that operand is
// loaded with guarded 2-byte loads and ordinary shared stores instead (same layout, same
// barriers; slower, correct). C stores are guarded per element; beta == 0 never reads C.
#include <cuda_runtime.h>

#include <algorithm>
#include <string>

#include "gemm/cuda/cuda_check.h"

namespace perfcal::gemm::gpu {
namespace {

// JSON form: {"bm":128,"bn":128,"bk":32,"wm":64,"wn":64,"stages":4}
struct MmaConfig {
  int bm = 128, bn = 128, bk = 32;  // block tile and k-step
  int wm = 64, wn = 64;             // warp tile; warps = (bm / wm) * (bn / wn)
  int stages = 4;                   // shared-memory pipeline depth
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(MmaConfig, bm, bn, bk, wm, wn, stages)

__device__ __forceinline__ unsigned smem_addr(const void* p) {
  return static_cast<unsigned>(__cvta_generic_to_shared(p));
}

// Element offset of (row, col) in a swizzled tile whose rows hold RL bf16 (RL / 8 chunks).
template <int RL>
__device__ __forceinline__ int swz(int row, int col) {
  constexpr int kChunks = RL / 8;
  static_assert(kChunks == 4 || kChunks % 8 == 0, "rows of 64 B or a multiple of 128 B");
  const int c = col >> 3;
  const int pc = kChunks >= 8 ? (c ^ (row & 7)) : (c ^ ((row >> 1) & 3));
  return row * RL + pc * 8 + (col & 7);
}

// Copies one operand's k-tile (BX x BK) into shared memory. KC: element (x, k) at
// p[x * ld + k]; otherwise at p[k * ld + x]. `async`: cp.async path (ld % 8 == 0 and p
// 16-byte aligned); otherwise guarded scalar loads.
template <int BX, int BK, int THREADS, bool KC>
__device__ __forceinline__ void load_tile(uint16_t* s, const uint16_t* __restrict__ p, int64_t ld,
                                          int x0, int k0, int x_ext, int k_ext, bool async,
                                          int tid) {
  constexpr int RL = KC ? BK : BX;      // shared row length
  constexpr int kChunks = BX * BK / 8;  // 16-byte chunks in the tile
#pragma unroll
  for (int i = 0; i < (kChunks + THREADS - 1) / THREADS; ++i) {
    const int v = tid + i * THREADS;
    if (kChunks % THREADS != 0 && v >= kChunks) break;
    const int row = v / (RL / 8), col = (v % (RL / 8)) * 8;
    // Global coordinates of the chunk's first element and how many of its 8 are inside.
    const int gx = KC ? x0 + row : x0 + col;
    const int gk = KC ? k0 + col : k0 + row;
    int valid;
    if (KC)
      valid = gx < x_ext ? max(0, min(8, k_ext - gk)) : 0;
    else
      valid = gk < k_ext ? max(0, min(8, x_ext - gx)) : 0;
    const uint16_t* src = KC ? p + int64_t(gx) * ld + gk : p + int64_t(gk) * ld + gx;
    uint16_t* dst = s + swz<RL>(row, col);
    if (async) {
      asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)),
                   "l"(valid > 0 ? src : p), "r"(valid * 2));
    } else {
      uint32_t w[4];
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        const uint32_t lo = 2 * q < valid ? src[2 * q] : 0u;
        const uint32_t hi = 2 * q + 1 < valid ? src[2 * q + 1] : 0u;
        w[q] = lo | (hi << 16);
      }
      *reinterpret_cast<uint4*>(dst) = make_uint4(w[0], w[1], w[2], w[3]);
    }
  }
}

__device__ __forceinline__ void ldsm_x4(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}
__device__ __forceinline__ void ldsm_x4_t(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}

// C = alpha op(A) op(B) + beta C, column-major; grid (ceil(M/BM), ceil(N/BN)), dynamic
// shared memory STAGES * (BM + BN) * BK * 2 bytes.
// A_KC: ta == T (op(A)(i,l) = A[l + i lda]); B_KC: tb == N (op(B)(l,j) = B[l + j ldb]).
template <int BM, int BN, int BK, int WM, int WN, int STAGES, bool A_KC, bool B_KC>
__global__ void __launch_bounds__((BM / WM) * (BN / WN) * 32)
    mma_gemm(int M, int N, int K, float alpha, const uint16_t* __restrict__ A, int64_t lda,
             const uint16_t* __restrict__ B, int64_t ldb, float beta, float* __restrict__ C,
             int64_t ldc, bool async_a, bool async_b) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  static_assert(BK % 16 == 0 && WM % 16 == 0 && WN % 16 == 0, "m16n8k16 fragments, x4 loads");
  static_assert(STAGES >= 2, "at least double buffering");
  constexpr int WARPS_M = BM / WM, THREADS = (BM / WM) * (BN / WN) * 32;
  constexpr int MI = WM / 16, NI = WN / 8;
  constexpr int A_RL = A_KC ? BK : BM, B_RL = B_KC ? BK : BN;
  constexpr int A_ELEMS = BM * BK, B_ELEMS = BN * BK;

  extern __shared__ __align__(128) uint16_t smem[];
  uint16_t* sa = smem;                     // [STAGES][A_ELEMS]
  uint16_t* sb = smem + STAGES * A_ELEMS;  // [STAGES][B_ELEMS]

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int wm0 = (warp % WARPS_M) * WM, wn0 = (warp / WARPS_M) * WN;
  const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
  const int nk = (K + BK - 1) / BK;

  float acc[MI][NI][4];
#pragma unroll
  for (int i = 0; i < MI; ++i)
#pragma unroll
    for (int j = 0; j < NI; ++j)
#pragma unroll
      for (int q = 0; q < 4; ++q) acc[i][j][q] = 0.0f;

  auto load_stage = [&](int stage, int kt) {
    load_tile<BM, BK, THREADS, A_KC>(sa + stage * A_ELEMS, A, lda, m0, kt * BK, M, K, async_a, tid);
    load_tile<BN, BK, THREADS, B_KC>(sb + stage * B_ELEMS, B, ldb, n0, kt * BK, N, K, async_b, tid);
  };

#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    if (s < nk) load_stage(s, s);
    asm volatile("cp.async.commit_group;\n" ::);
  }

  for (int kt = 0; kt < nk; ++kt) {
    // Tile kt's group is complete once at most STAGES - 2 newer groups are pending; the
    // barrier publishes every thread's copies and retires all reads of the stage that the
    // prefetch below overwrites (last read in iteration kt - 1).
    asm volatile("cp.async.wait_group %0;\n" ::"n"(STAGES - 2));
    __syncthreads();
    {
      const int next = kt + STAGES - 1;
      if (next < nk) load_stage(next % STAGES, next);
      asm volatile("cp.async.commit_group;\n" ::);
    }
    const uint16_t* as = sa + (kt % STAGES) * A_ELEMS;
    const uint16_t* bs = sb + (kt % STAGES) * B_ELEMS;
#pragma unroll
    for (int ks = 0; ks < BK / 16; ++ks) {
      uint32_t af[MI][4], bf[NI][2];
#pragma unroll
      for (int mi = 0; mi < MI; ++mi) {
        if (A_KC) {  // as[m][k]: matrices (m0-7,k0-7) (m8-15,k0-7) (m0-7,k8-15) (m8-15,k8-15)
          const int r = wm0 + mi * 16 + (lane & 15), c = ks * 16 + (lane >> 4) * 8;
          ldsm_x4(af[mi], as + swz<A_RL>(r, c));
        } else {  // as[k][m], transposed on load; same four matrices
          const int r = ks * 16 + (lane & 7) + (lane >> 4) * 8;
          const int c = wm0 + mi * 16 + ((lane >> 3) & 1) * 8;
          ldsm_x4_t(af[mi], as + swz<A_RL>(r, c));
        }
      }
#pragma unroll
      for (int np = 0; np < NI / 2; ++np) {
        uint32_t t[4];  // b0, b1 of n-tile 2np, then b0, b1 of n-tile 2np + 1
        if (B_KC) {     // bs[n][k]: matrices (n0-7,k0-7) (n0-7,k8-15) (n8-15,k0-7) (n8-15,k8-15)
          const int r = wn0 + np * 16 + (lane & 7) + (lane >> 4) * 8;
          const int c = ks * 16 + ((lane >> 3) & 1) * 8;
          ldsm_x4(t, bs + swz<B_RL>(r, c));
        } else {  // bs[k][n], transposed on load; same four matrices
          const int r = ks * 16 + (lane & 7) + ((lane >> 3) & 1) * 8;
          const int c = wn0 + np * 16 + (lane >> 4) * 8;
          ldsm_x4_t(t, bs + swz<B_RL>(r, c));
        }
        bf[2 * np][0] = t[0], bf[2 * np][1] = t[1];
        bf[2 * np + 1][0] = t[2], bf[2 * np + 1][1] = t[3];
      }
#pragma unroll
      for (int mi = 0; mi < MI; ++mi)
#pragma unroll
        for (int ni = 0; ni < NI; ++ni)
          asm volatile(
              "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, "
              "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
              : "+f"(acc[mi][ni][0]), "+f"(acc[mi][ni][1]), "+f"(acc[mi][ni][2]),
                "+f"(acc[mi][ni][3])
              : "r"(af[mi][0]), "r"(af[mi][1]), "r"(af[mi][2]), "r"(af[mi][3]),
                "r"(bf[ni][0]), "r"(bf[ni][1]));
    }
  }
  asm volatile("cp.async.wait_all;\n" ::);

  // Accumulator fragment: c0,c1 at (row g, cols 2t, 2t+1), c2,c3 at (row g + 8, same cols),
  // g = lane / 4, t = lane % 4.
  const int g = lane >> 2, t = lane & 3;
#pragma unroll
  for (int mi = 0; mi < MI; ++mi)
#pragma unroll
    for (int ni = 0; ni < NI; ++ni)
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        const int gm = m0 + wm0 + mi * 16 + g + (q >> 1) * 8;
        const int gn = n0 + wn0 + ni * 8 + 2 * t + (q & 1);
        if (gm < M && gn < N) {
          float* cp = C + int64_t(gn) * ldc + gm;
          float v = alpha * acc[mi][ni][q];
          if (beta != 0.0f) v += beta * *cp;
          *cp = v;
        }
      }
#else
  __trap();  // built for an architecture without mma.sync bf16; can_implement refuses it
#endif
}

using Launch = void (*)(dim3 grid, cudaStream_t s, int M, int N, int K, float alpha,
                        const uint16_t* A, int64_t lda, const uint16_t* B, int64_t ldb,
                        float beta, float* C, int64_t ldc, bool aa, bool ab);

template <int BM, int BN, int BK, int WM, int WN, int ST, bool A_KC, bool B_KC>
void launch(dim3 grid, cudaStream_t s, int M, int N, int K, float alpha, const uint16_t* A,
            int64_t lda, const uint16_t* B, int64_t ldb, float beta, float* C, int64_t ldc,
            bool aa, bool ab) {
  constexpr int kThreads = (BM / WM) * (BN / WN) * 32;
  constexpr std::size_t kSmem = std::size_t(ST) * (BM + BN) * BK * 2;
  mma_gemm<BM, BN, BK, WM, WN, ST, A_KC, B_KC><<<grid, kThreads, kSmem, s>>>(
      M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, aa, ab);
}

struct Instance {
  int bm, bn, bk, wm, wn, stages;
  Launch launch[2][2];
  const void* kernel[2][2];
  int threads() const { return (bm / wm) * (bn / wn) * 32; }
  std::size_t smem() const { return std::size_t(stages) * (bm + bn) * bk * 2; }
};

template <int BM, int BN, int BK, int WM, int WN, int ST>
Instance make_instance() {
  return {BM, BN, BK, WM, WN, ST,
          {{&launch<BM, BN, BK, WM, WN, ST, false, false>, &launch<BM, BN, BK, WM, WN, ST, false, true>},
           {&launch<BM, BN, BK, WM, WN, ST, true, false>, &launch<BM, BN, BK, WM, WN, ST, true, true>}},
          {{reinterpret_cast<const void*>(&mma_gemm<BM, BN, BK, WM, WN, ST, false, false>),
            reinterpret_cast<const void*>(&mma_gemm<BM, BN, BK, WM, WN, ST, false, true>)},
           {reinterpret_cast<const void*>(&mma_gemm<BM, BN, BK, WM, WN, ST, true, false>),
            reinterpret_cast<const void*>(&mma_gemm<BM, BN, BK, WM, WN, ST, true, true>)}}};
}

// The compiled configs. 128x256x32 / 64x64 warps / 3 stages (8 warps, 72 KiB): the large-
// problem shape (64x64 warp tiles give 2 ldmatrix.x4 per 4 mma); 128x128x32 with 4 warps
// and 4 stages (64 KiB) for mid sizes; 128x128x64 / 64x32 warps / 3 stages (96 KiB) halves
// the barriers; 64x64x32 / 32x32 warps for small or skinny problems.
const Instance* instances(int* count) {
  static const Instance kAll[] = {
      make_instance<128, 256, 32, 64, 64, 3>(),
      make_instance<128, 128, 32, 64, 64, 4>(),
      make_instance<128, 128, 64, 64, 32, 3>(),
      make_instance<64, 64, 32, 32, 32, 3>(),
  };
  *count = int(sizeof(kAll) / sizeof(kAll[0]));
  return kAll;
}

const Instance* find_instance(const MmaConfig& c) {
  int n = 0;
  const Instance* all = instances(&n);
  for (int i = 0; i < n; ++i)
    if (all[i].bm == c.bm && all[i].bn == c.bn && all[i].bk == c.bk && all[i].wm == c.wm &&
        all[i].wn == c.wn && all[i].stages == c.stages)
      return &all[i];
  return nullptr;
}

std::string compiled_list() {
  int n = 0;
  const Instance* all = instances(&n);
  std::string s;
  for (int i = 0; i < n; ++i)
    s += (s.empty() ? "" : ", ") + std::to_string(all[i].bm) + "x" + std::to_string(all[i].bn) +
         "x" + std::to_string(all[i].bk) + "/w" + std::to_string(all[i].wm) + "x" +
         std::to_string(all[i].wn) + "/s" + std::to_string(all[i].stages);
  return s;
}

class MmaPlan : public Variant::Plan {
 public:
  MmaPlan(const Problem& p, const Instance* inst) : p_(p), inst_(inst) {}
  Status run(const Operands& o) override {
    if (p_.m == 0 || p_.n == 0) return Status::Ok();
    const bool a_kc = p_.ta == Trans::T, b_kc = p_.tb == Trans::N;
    const bool aa = p_.lda % 8 == 0 && aligned16(o.a);
    const bool ab = p_.ldb % 8 == 0 && aligned16(o.b);
    const dim3 grid(unsigned((p_.m + inst_->bm - 1) / inst_->bm),
                    unsigned((p_.n + inst_->bn - 1) / inst_->bn));
    inst_->launch[a_kc][b_kc](grid, to_stream(o.stream), int(p_.m), int(p_.n), int(p_.k),
                              p_.alpha, static_cast<const uint16_t*>(o.a), p_.lda,
                              static_cast<const uint16_t*>(o.b), p_.ldb, p_.beta, o.c, p_.ldc,
                              aa, ab);
    PERFCAL_CUDA_CHECK(cudaGetLastError());
    return Status::Ok();
  }

 private:
  Problem p_;
  const Instance* inst_;
};

class MmaBf16 : public Variant {
 public:
  MmaBf16() {
    info_.name = "gemm/cuda/mma/bf16";
    info_.backend = "cuda";
    info_.dtype = Dtype::bf16;
    info_.description =
        "bf16 tensor cores: mma.sync m16n8k16, ldmatrix, cp.async stages, swizzled smem";
  }
  const VariantInfo& info() const override { return info_; }
  Status available() const override { return device_available(); }

  Json default_config(const Problem& p) const override {
    const int64_t tiles = ((p.m + 127) / 128) * ((p.n + 127) / 128);
    if (tiles < 96) return MmaConfig{64, 64, 32, 32, 32, 3};
    if (p.m >= 4096 && p.n >= 4096) return MmaConfig{128, 256, 32, 64, 64, 3};
    return MmaConfig{};
  }
  SearchSpace search_space(const Problem&) const override {
    return {{"bm", {64, 128}},  {"bn", {64, 128, 256}}, {"bk", {32, 64}},
            {"wm", {32, 64}},   {"wn", {32, 64}},       {"stages", {3, 4}}};
  }

  Status can_implement(const Json& config, const Problem& p) const override {
    MmaConfig c;
    PERFCAL_RETURN_IF_ERROR(parse_config(config, &c));
    PERFCAL_RETURN_IF_ERROR(check_problem(p, Dtype::bf16));
    // Fragments are m16 x n8 x k16 and B fragments are loaded two n-tiles at a time.
    if (c.wm <= 0 || c.wn <= 0 || c.wm % 16 || c.wn % 16 || c.bk % 16 || c.bm % c.wm ||
        c.bn % c.wn)
      return Status::Invalid("wm, wn, bk must be multiples of 16; wm | bm, wn | bn");
    // A pipeline needs at least two stages (one in flight while one is consumed).
    if (c.stages < 2) return Status::Invalid("stages must be at least 2");
    // Only compiled template instances can run.
    const Instance* inst = find_instance(c);
    if (!inst) return Status::Invalid("config not compiled; compiled: " + compiled_list());
    if ((p.n + c.bn - 1) / c.bn > 65535) return Status::Unsupported("n / bn above 65535");
    DeviceLimits lim;
    if (device_available().ok() && current_device_limits(&lim).ok()) {
      // mma.sync m16n8k16 with bf16 inputs and cp.async exist from sm_80 (Ampere) on.
      if (lim.cc_major < 8)
        return Status::Unsupported("needs compute capability 8.0+ (mma.sync bf16, cp.async)");
      // Dynamic shared memory (all stages) against the opt-in per-block limit.
      if (inst->smem() > lim.smem_per_block_optin)
        return Status::Unsupported("shared memory " + std::to_string(inst->smem()) +
                                   " B above the device's opt-in limit " +
                                   std::to_string(lim.smem_per_block_optin));
      // Threads against the register-limited maximum of the compiled kernel.
      cudaFuncAttributes fa{};
      const bool a_kc = p.ta == Trans::T, b_kc = p.tb == Trans::N;
      PERFCAL_CUDA_CHECK(cudaFuncGetAttributes(&fa, inst->kernel[a_kc][b_kc]));
      if (inst->threads() > fa.maxThreadsPerBlock)
        return Status::Unsupported("kernel uses " + std::to_string(fa.numRegs) +
                                   " registers/thread: at most " +
                                   std::to_string(fa.maxThreadsPerBlock) + " threads per block");
    }
    return Status::Ok();
  }

  Status make_plan(const Problem& p, const Json& config,
                   std::unique_ptr<Plan>* out) const override {
    PERFCAL_RETURN_IF_ERROR(can_implement(config, p));
    MmaConfig c;
    PERFCAL_RETURN_IF_ERROR(parse_config(config, &c));
    const Instance* inst = find_instance(c);
    // Above 48 KiB of dynamic shared memory a kernel must opt in, per kernel and device.
    const bool a_kc = p.ta == Trans::T, b_kc = p.tb == Trans::N;
    PERFCAL_CUDA_CHECK(cudaFuncSetAttribute(inst->kernel[a_kc][b_kc],
                                            cudaFuncAttributeMaxDynamicSharedMemorySize,
                                            int(inst->smem())));
    *out = std::make_unique<MmaPlan>(p, inst);
    return Status::Ok();
  }

 private:
  VariantInfo info_;
};

}  // namespace

static const Registrar kRegister{std::make_unique<MmaBf16>()};

}  // namespace perfcal::gemm::gpu
