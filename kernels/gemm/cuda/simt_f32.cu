// gemm/cuda/simt/f32: fp32 GEMM on the CUDA cores (no tensor cores), the gemm.h contract on
// device pointers. Run: build/bin/bench_gemm --devices cuda:0 --filter gemm/cuda/simt/f32
//
// Block tile BM x BN, k-step BK; each thread owns a TM x TN register block of C.
//   A tile (BM x BK) and B tile (BN x BK) live in shared memory k-major:
//     As[kk][m]  (BK rows of BM + 4 floats)     Bs[kk][n]  (BK rows of BN + 4 floats)
//   so the inner product reads one float4 per 4 rows (and per 4 columns) of the register
//   block. The thread's TM rows are TM/4 groups of 4 consecutive rows spaced 4 * (BM/TM)
//   apart (likewise columns): consecutive lanes read consecutive float4s, no bank conflicts.
//   The +4 row padding keeps the transposing stores (k-contiguous operands) conflict-free
//   for BK = 8 while keeping float4 alignment.
// Double buffering: the next k-tile is loaded into registers while the current one is
// multiplied from shared memory, then stored into the other buffer; one barrier per k-tile.
// Loads are float4 where the operand's leading dimension is a multiple of 4, its base is
// 16-byte aligned and the tile is entirely inside the matrix; otherwise a guarded element
// path zero-fills out-of-range rows/columns/k (edge tiles, odd ld, misaligned pointers).
// Stores of C are float4 under the same conditions, guarded elements otherwise.
// Each (config, ta, tb) is one template instance; configs not compiled are refused by
// can_implement.
#include <cuda_runtime.h>

#include <algorithm>
#include <string>

#include "gemm/cuda/cuda_check.h"

namespace perfcal::gemm::gpu {
namespace {

// JSON form: {"bm":128,"bn":128,"bk":8,"tm":8,"tn":8,"threads":256}
struct SimtConfig {
  int bm = 128, bn = 128, bk = 8;  // block tile and k-step
  int tm = 8, tn = 8;              // register block per thread
  int threads = 256;               // must equal (bm / tm) * (bn / tn)
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SimtConfig, bm, bn, bk, tm, tn, threads)

constexpr int kPad = 4;  // floats of padding per shared-memory row (see header)

// One operand's BX x BK tile (x = m for A, n for B). KC: the operand is contiguous along k
// in memory (element (x, k) at P[x * ld + k]); otherwise contiguous along x
// (P[k * ld + x]). Each thread moves kVecs groups of 4 elements, contiguous in memory.
template <int BX, int BK, int THREADS, bool KC>
struct TileLoader {
  static constexpr int kTotal = BX * BK / 4;  // groups of 4 in the tile
  static constexpr int kVecs = (kTotal + THREADS - 1) / THREADS;
  static constexpr int kStride = BX + kPad;  // shared-memory row length

  __device__ static void load(float (&r)[kVecs * 4], const float* __restrict__ p, int64_t ld,
                              int x0, int k0, int x_ext, int k_ext, bool vec, int tid) {
    const bool full = vec && x0 + BX <= x_ext && k0 + BK <= k_ext;
#pragma unroll
    for (int i = 0; i < kVecs; ++i) {
      const int v = tid + i * THREADS;
      if (kTotal % THREADS != 0 && v >= kTotal) break;
      if (KC) {
        const int x = v / (BK / 4), kk = (v % (BK / 4)) * 4;
        if (full) {
          const float4 t = *reinterpret_cast<const float4*>(p + int64_t(x0 + x) * ld + (k0 + kk));
          r[4 * i] = t.x, r[4 * i + 1] = t.y, r[4 * i + 2] = t.z, r[4 * i + 3] = t.w;
        } else {
#pragma unroll
          for (int q = 0; q < 4; ++q) {
            const int gx = x0 + x, gk = k0 + kk + q;
            r[4 * i + q] = (gx < x_ext && gk < k_ext) ? p[int64_t(gx) * ld + gk] : 0.0f;
          }
        }
      } else {
        const int kk = v / (BX / 4), x = (v % (BX / 4)) * 4;
        if (full) {
          const float4 t = *reinterpret_cast<const float4*>(p + int64_t(k0 + kk) * ld + (x0 + x));
          r[4 * i] = t.x, r[4 * i + 1] = t.y, r[4 * i + 2] = t.z, r[4 * i + 3] = t.w;
        } else {
#pragma unroll
          for (int q = 0; q < 4; ++q) {
            const int gx = x0 + x + q, gk = k0 + kk;
            r[4 * i + q] = (gx < x_ext && gk < k_ext) ? p[int64_t(gk) * ld + gx] : 0.0f;
          }
        }
      }
    }
  }

  // Shared layout s[kk * kStride + x].
  __device__ static void store(const float (&r)[kVecs * 4], float* s, int tid) {
#pragma unroll
    for (int i = 0; i < kVecs; ++i) {
      const int v = tid + i * THREADS;
      if (kTotal % THREADS != 0 && v >= kTotal) break;
      if (KC) {
        const int x = v / (BK / 4), kk = (v % (BK / 4)) * 4;
#pragma unroll
        for (int q = 0; q < 4; ++q) s[(kk + q) * kStride + x] = r[4 * i + q];
      } else {
        const int kk = v / (BX / 4), x = (v % (BX / 4)) * 4;
        *reinterpret_cast<float4*>(s + kk * kStride + x) =
            make_float4(r[4 * i], r[4 * i + 1], r[4 * i + 2], r[4 * i + 3]);
      }
    }
  }
};

// C = alpha op(A) op(B) + beta C, column-major; grid (ceil(M/BM), ceil(N/BN)).
// A_KC: ta == T (op(A)(i,l) = A[l + i lda]); B_KC: tb == N (op(B)(l,j) = B[l + j ldb]).
template <int BM, int BN, int BK, int TM, int TN, bool A_KC, bool B_KC>
__global__ void __launch_bounds__((BM / TM) * (BN / TN))
    simt_gemm(int M, int N, int K, float alpha, const float* __restrict__ A, int64_t lda,
              const float* __restrict__ B, int64_t ldb, float beta, float* __restrict__ C,
              int64_t ldc, bool vec_a, bool vec_b, bool vec_c) {
  static_assert(TM % 4 == 0 && TN % 4 == 0 && BK % 4 == 0, "float4 register groups");
  static_assert(BM % TM == 0 && BN % TN == 0, "register blocks tile the block");
  constexpr int R = BM / TM, CN = BN / TN, THREADS = R * CN;
  using LA = TileLoader<BM, BK, THREADS, A_KC>;
  using LB = TileLoader<BN, BK, THREADS, B_KC>;
  __shared__ __align__(16) float As[2][BK * LA::kStride];
  __shared__ __align__(16) float Bs[2][BK * LB::kStride];

  const int tid = threadIdx.x;
  const int trow = tid % R, tcol = tid / R;
  const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
  const int nk = (K + BK - 1) / BK;

  float acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

  float ra[LA::kVecs * 4], rb[LB::kVecs * 4];
  if (nk > 0) {
    LA::load(ra, A, lda, m0, 0, M, K, vec_a, tid);
    LB::load(rb, B, ldb, n0, 0, N, K, vec_b, tid);
    LA::store(ra, As[0], tid);
    LB::store(rb, Bs[0], tid);
  }
  __syncthreads();

  for (int kt = 0; kt < nk; ++kt) {
    const int cur = kt & 1;
    const bool more = kt + 1 < nk;
    if (more) {  // global -> registers for the next tile, overlapping the FMAs below
      LA::load(ra, A, lda, m0, (kt + 1) * BK, M, K, vec_a, tid);
      LB::load(rb, B, ldb, n0, (kt + 1) * BK, N, K, vec_b, tid);
    }
    const float* as = As[cur];
    const float* bs = Bs[cur];
#pragma unroll
    for (int kk = 0; kk < BK; ++kk) {
      float a[TM], b[TN];
#pragma unroll
      for (int g = 0; g < TM / 4; ++g) {
        const float4 t = *reinterpret_cast<const float4*>(as + kk * LA::kStride + g * 4 * R + trow * 4);
        a[4 * g] = t.x, a[4 * g + 1] = t.y, a[4 * g + 2] = t.z, a[4 * g + 3] = t.w;
      }
#pragma unroll
      for (int g = 0; g < TN / 4; ++g) {
        const float4 t = *reinterpret_cast<const float4*>(bs + kk * LB::kStride + g * 4 * CN + tcol * 4);
        b[4 * g] = t.x, b[4 * g + 1] = t.y, b[4 * g + 2] = t.z, b[4 * g + 3] = t.w;
      }
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    if (more) {  // the other buffer was last read in iteration kt - 1, before its barrier
      LA::store(ra, As[cur ^ 1], tid);
      LB::store(rb, Bs[cur ^ 1], tid);
    }
    __syncthreads();
  }

  // Epilogue: C(gm + q, gn) for the thread's rows; beta == 0 never reads C.
#pragma unroll
  for (int j = 0; j < TN; ++j) {
    const int gn = n0 + (j / 4) * 4 * CN + tcol * 4 + (j % 4);
    if (gn >= N) continue;
#pragma unroll
    for (int g = 0; g < TM / 4; ++g) {
      const int gm = m0 + g * 4 * R + trow * 4;
      float* cp = C + int64_t(gn) * ldc + gm;
      if (vec_c && gm + 3 < M) {
        float4 o = make_float4(alpha * acc[4 * g][j], alpha * acc[4 * g + 1][j],
                               alpha * acc[4 * g + 2][j], alpha * acc[4 * g + 3][j]);
        if (beta != 0.0f) {
          const float4 old = *reinterpret_cast<const float4*>(cp);
          o.x += beta * old.x, o.y += beta * old.y, o.z += beta * old.z, o.w += beta * old.w;
        }
        *reinterpret_cast<float4*>(cp) = o;
      } else {
#pragma unroll
        for (int q = 0; q < 4; ++q) {
          if (gm + q >= M) break;
          float v = alpha * acc[4 * g + q][j];
          if (beta != 0.0f) v += beta * cp[q];
          cp[q] = v;
        }
      }
    }
  }
}

using Launch = void (*)(dim3 grid, cudaStream_t s, int M, int N, int K, float alpha,
                        const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
                        float* C, int64_t ldc, bool va, bool vb, bool vc);

template <int BM, int BN, int BK, int TM, int TN, bool A_KC, bool B_KC>
void launch(dim3 grid, cudaStream_t s, int M, int N, int K, float alpha, const float* A,
            int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, bool va,
            bool vb, bool vc) {
  simt_gemm<BM, BN, BK, TM, TN, A_KC, B_KC><<<grid, (BM / TM) * (BN / TN), 0, s>>>(
      M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, va, vb, vc);
}

// One compiled config: its launchers and kernels for [A_KC][B_KC].
struct Instance {
  int bm, bn, bk, tm, tn;
  Launch launch[2][2];
  const void* kernel[2][2];
};

template <int BM, int BN, int BK, int TM, int TN>
Instance make_instance() {
  return {BM, BN, BK, TM, TN,
          {{&launch<BM, BN, BK, TM, TN, false, false>, &launch<BM, BN, BK, TM, TN, false, true>},
           {&launch<BM, BN, BK, TM, TN, true, false>, &launch<BM, BN, BK, TM, TN, true, true>}},
          {{reinterpret_cast<const void*>(&simt_gemm<BM, BN, BK, TM, TN, false, false>),
            reinterpret_cast<const void*>(&simt_gemm<BM, BN, BK, TM, TN, false, true>)},
           {reinterpret_cast<const void*>(&simt_gemm<BM, BN, BK, TM, TN, true, false>),
            reinterpret_cast<const void*>(&simt_gemm<BM, BN, BK, TM, TN, true, true>)}}};
}

// The compiled configs. 128x128x8 / 8x8 / 256 threads: 64 accumulators per thread, 16.5 KiB
// of shared memory, the classic large-problem shape; x16 halves the barriers per FMA;
// 64x64 configs keep more blocks in flight for small or skinny problems.
const Instance* instances(int* count) {
  static const Instance kAll[] = {
      make_instance<128, 128, 8, 8, 8>(), make_instance<128, 128, 16, 8, 8>(),
      make_instance<128, 64, 8, 8, 4>(),  make_instance<64, 64, 8, 4, 4>(),
      make_instance<64, 64, 16, 8, 8>(),
  };
  *count = int(sizeof(kAll) / sizeof(kAll[0]));
  return kAll;
}

const Instance* find_instance(const SimtConfig& c) {
  int n = 0;
  const Instance* all = instances(&n);
  for (int i = 0; i < n; ++i)
    if (all[i].bm == c.bm && all[i].bn == c.bn && all[i].bk == c.bk && all[i].tm == c.tm &&
        all[i].tn == c.tn)
      return &all[i];
  return nullptr;
}

std::string compiled_list() {
  int n = 0;
  const Instance* all = instances(&n);
  std::string s;
  for (int i = 0; i < n; ++i)
    s += (s.empty() ? "" : ", ") + std::to_string(all[i].bm) + "x" + std::to_string(all[i].bn) +
         "x" + std::to_string(all[i].bk) + "/" + std::to_string(all[i].tm) + "x" +
         std::to_string(all[i].tn);
  return s;
}

class SimtPlan : public Variant::Plan {
 public:
  SimtPlan(const Problem& p, const Instance* inst) : p_(p), inst_(inst) {}
  Status run(const Operands& o) override {
    if (p_.m == 0 || p_.n == 0) return Status::Ok();
    const bool a_kc = p_.ta == Trans::T, b_kc = p_.tb == Trans::N;
    const bool va = p_.lda % 4 == 0 && aligned16(o.a);
    const bool vb = p_.ldb % 4 == 0 && aligned16(o.b);
    const bool vc = p_.ldc % 4 == 0 && aligned16(o.c);
    const dim3 grid(unsigned((p_.m + inst_->bm - 1) / inst_->bm),
                    unsigned((p_.n + inst_->bn - 1) / inst_->bn));
    inst_->launch[a_kc][b_kc](grid, to_stream(o.stream), int(p_.m), int(p_.n), int(p_.k),
                              p_.alpha, static_cast<const float*>(o.a), p_.lda,
                              static_cast<const float*>(o.b), p_.ldb, p_.beta, o.c, p_.ldc, va,
                              vb, vc);
    PERFCAL_CUDA_CHECK(cudaGetLastError());
    return Status::Ok();
  }

 private:
  Problem p_;
  const Instance* inst_;
};

class SimtF32 : public Variant {
 public:
  SimtF32() {
    info_.name = "gemm/cuda/simt/f32";
    info_.backend = "cuda";
    info_.dtype = Dtype::f32;
    info_.description =
        "fp32 SIMT: smem tiles, TMxTN register block, float4 loads, double buffering";
  }
  const VariantInfo& info() const override { return info_; }
  Status available() const override { return device_available(); }

  Json default_config(const Problem& p) const override {
    // Fewer than ~one wave of 128x128 tiles on a large GPU: smaller tiles for more blocks.
    const int64_t tiles = ((p.m + 127) / 128) * ((p.n + 127) / 128);
    if (tiles < 96) return SimtConfig{64, 64, 8, 4, 4, 256};
    return SimtConfig{};
  }
  SearchSpace search_space(const Problem&) const override {
    return {{"bm", {64, 128}}, {"bn", {64, 128}}, {"bk", {8, 16}},
            {"tm", {4, 8}},    {"tn", {4, 8}},    {"threads", {64, 128, 256}}};
  }

  Status can_implement(const Json& config, const Problem& p) const override {
    SimtConfig c;
    PERFCAL_RETURN_IF_ERROR(parse_config(config, &c));
    PERFCAL_RETURN_IF_ERROR(check_problem(p, Dtype::f32));
    // Register blocks are read as float4 groups and must tile the block exactly.
    if (c.tm <= 0 || c.tn <= 0 || c.tm % 4 || c.tn % 4 || c.bm % c.tm || c.bn % c.tn)
      return Status::Invalid("tm, tn must be multiples of 4 dividing bm, bn");
    // One thread per register block: threads is derived, never free.
    if (c.threads != (c.bm / c.tm) * (c.bn / c.tn))
      return Status::Invalid("threads must equal (bm / tm) * (bn / tn) = " +
                             std::to_string((c.bm / c.tm) * (c.bn / c.tn)));
    // Only compiled template instances can run (no run-time code generation).
    const Instance* inst = find_instance(c);
    if (!inst) return Status::Invalid("config not compiled; compiled: " + compiled_list());
    // The grid's y dimension holds the column tiles (limit 65535 on every CUDA device).
    if ((p.n + c.bn - 1) / c.bn > 65535) return Status::Unsupported("n / bn above 65535");
    // Device limits, from the device itself when one is present: the instance's static
    // shared memory against sharedMemPerBlock, and its thread count against the
    // register-limited maximum that cudaFuncGetAttributes reports for the compiled kernel.
    DeviceLimits lim;
    if (device_available().ok() && current_device_limits(&lim).ok()) {
      cudaFuncAttributes fa{};
      const bool a_kc = p.ta == Trans::T, b_kc = p.tb == Trans::N;
      PERFCAL_CUDA_CHECK(cudaFuncGetAttributes(&fa, inst->kernel[a_kc][b_kc]));
      if (fa.sharedSizeBytes > lim.smem_per_block)
        return Status::Unsupported("shared memory " + std::to_string(fa.sharedSizeBytes) +
                                   " B above the device's " + std::to_string(lim.smem_per_block));
      if (c.threads > fa.maxThreadsPerBlock)
        return Status::Unsupported("kernel uses " + std::to_string(fa.numRegs) +
                                   " registers/thread: at most " +
                                   std::to_string(fa.maxThreadsPerBlock) + " threads per block");
    }
    return Status::Ok();
  }

  Status make_plan(const Problem& p, const Json& config,
                   std::unique_ptr<Plan>* out) const override {
    PERFCAL_RETURN_IF_ERROR(can_implement(config, p));
    SimtConfig c;
    PERFCAL_RETURN_IF_ERROR(parse_config(config, &c));
    *out = std::make_unique<SimtPlan>(p, find_instance(c));
    return Status::Ok();
  }

 private:
  VariantInfo info_;
};

}  // namespace

static const Registrar kRegister{std::make_unique<SimtF32>()};

}  // namespace perfcal::gemm::gpu
