// Vendor baselines on the GPU, same buffers and process as perfcal's kernels:
//   gemm/cuda/cublas/f32        cublasSgemm, CUBLAS_DEFAULT_MATH (true fp32)
//   gemm/cuda/cublas_tf32/f32   cublasSgemm, CUBLAS_TF32_TENSOR_OP_MATH (inputs rounded to tf32)
//   gemm/cuda/cublas/bf16       cublasGemmEx bf16 x bf16 -> f32, CUBLAS_COMPUTE_32F
//   gemm/cuda/cublaslt/bf16     cublasLtMatmul bf16 x bf16 -> f32, best heuristic algorithm,
//                               32 MiB workspace
// cuBLAS is column-major with BLAS semantics, exactly the gemm.h contract, so the Problem
// maps 1:1. The handle (and the cuBLASLt descriptors, heuristic and workspace) belong to
// the plan: creating them never counts in a timed run. k == 0 does not call the library
// (C = beta C by cudaMemset2DAsync or cublasSgeam), so every baseline has one meaning for
// it. Run: build/bin/bench_gemm --devices cuda:0 --filter 'gemm/cuda/cublas'
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "gemm/cuda/cuda_check.h"

#define PERFCAL_CUBLAS_CHECK(expr)                                                       \
  do {                                                                                   \
    cublasStatus_t perfcal_cublas_st_ = (expr);                                          \
    if (perfcal_cublas_st_ != CUBLAS_STATUS_SUCCESS)                                     \
      return ::perfcal::Status::Internal(std::string(#expr) + " failed at " + __FILE__ +   \
                                         ":" + std::to_string(__LINE__) + ": " +         \
                                         cublasGetStatusString(perfcal_cublas_st_));     \
  } while (0)

namespace perfcal::gemm::gpu {
namespace {

enum class Kind { sgemm, sgemm_tf32, gemmex_bf16, lt_bf16 };

cublasOperation_t op(Trans t) { return t == Trans::N ? CUBLAS_OP_N : CUBLAS_OP_T; }

// Largest power of two (<= 256) dividing the address: what cuBLASLt must be told.
uint32_t alignment_of(const void* p) {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  uint32_t al = 256;
  while (al > 1 && (a % al) != 0) al >>= 1;
  return al;
}

class CublasPlan : public Variant::Plan {
 public:
  CublasPlan(Kind kind, const Problem& p) : kind_(kind), p_(p) {}
  ~CublasPlan() override {
    if (pref_) cublasLtMatmulPreferenceDestroy(pref_);
    if (la_) cublasLtMatrixLayoutDestroy(la_);
    if (lb_) cublasLtMatrixLayoutDestroy(lb_);
    if (lc_) cublasLtMatrixLayoutDestroy(lc_);
    if (desc_) cublasLtMatmulDescDestroy(desc_);
    if (lt_) cublasLtDestroy(lt_);
    if (handle_) cublasDestroy(handle_);
  }

  Status init() {
    PERFCAL_CUBLAS_CHECK(cublasCreate(&handle_));
    PERFCAL_CUBLAS_CHECK(cublasSetMathMode(
        handle_, kind_ == Kind::sgemm_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    if (kind_ != Kind::lt_bf16) return Status::Ok();
    PERFCAL_CUBLAS_CHECK(cublasLtCreate(&lt_));
    PERFCAL_CUBLAS_CHECK(cublasLtMatmulDescCreate(&desc_, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const cublasOperation_t ta = op(p_.ta), tb = op(p_.tb);
    PERFCAL_CUBLAS_CHECK(
        cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    PERFCAL_CUBLAS_CHECK(
        cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    PERFCAL_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&la_, CUDA_R_16BF, uint64_t(p_.a_rows()),
                                                    uint64_t(p_.a_cols()), p_.lda));
    PERFCAL_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&lb_, CUDA_R_16BF, uint64_t(p_.b_rows()),
                                                    uint64_t(p_.b_cols()), p_.ldb));
    PERFCAL_CUBLAS_CHECK(
        cublasLtMatrixLayoutCreate(&lc_, CUDA_R_32F, uint64_t(p_.m), uint64_t(p_.n), p_.ldc));
    PERFCAL_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref_));
    const uint64_t ws = kWorkspace;
    PERFCAL_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
        pref_, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
    return workspace_.allocate(kWorkspace);
  }

  Status run(const Operands& o) override {
    if (p_.m == 0 || p_.n == 0) return Status::Ok();
    cudaStream_t s = to_stream(o.stream);
    PERFCAL_CUBLAS_CHECK(cublasSetStream(handle_, s));
    const int m = int(p_.m), n = int(p_.n), k = int(p_.k);
    if (k == 0) return scale_c(o.c, s);
    switch (kind_) {
      case Kind::sgemm:
      case Kind::sgemm_tf32:
        PERFCAL_CUBLAS_CHECK(cublasSgemm(handle_, op(p_.ta), op(p_.tb), m, n, k, &p_.alpha,
                                         static_cast<const float*>(o.a), int(p_.lda),
                                         static_cast<const float*>(o.b), int(p_.ldb), &p_.beta,
                                         o.c, int(p_.ldc)));
        break;
      case Kind::gemmex_bf16:
        PERFCAL_CUBLAS_CHECK(cublasGemmEx(handle_, op(p_.ta), op(p_.tb), m, n, k, &p_.alpha, o.a,
                                          CUDA_R_16BF, int(p_.lda), o.b, CUDA_R_16BF, int(p_.ldb),
                                          &p_.beta, o.c, CUDA_R_32F, int(p_.ldc),
                                          CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
        break;
      case Kind::lt_bf16: {
        PERFCAL_RETURN_IF_ERROR(choose_algo(o));
        PERFCAL_CUBLAS_CHECK(cublasLtMatmul(lt_, desc_, &p_.alpha, o.a, la_, o.b, lb_, &p_.beta,
                                            o.c, lc_, o.c, lc_, &heur_.algo, workspace_.get(),
                                            kWorkspace, s));
        break;
      }
    }
    return Status::Ok();
  }

  std::size_t workspace_bytes() const override { return kind_ == Kind::lt_bf16 ? kWorkspace : 0; }

 private:
  static constexpr std::size_t kWorkspace = std::size_t{32} << 20;

  // cuBLASLt assumes 256-byte aligned pointers unless told otherwise; the heuristic is asked
  // again whenever the operands' alignment differs from the last call's (not in steady state).
  Status choose_algo(const Operands& o) {
    const uint32_t al[3] = {alignment_of(o.a), alignment_of(o.b), alignment_of(o.c)};
    if (have_algo_ && al[0] == align_[0] && al[1] == align_[1] && al[2] == align_[2])
      return Status::Ok();
    const cublasLtMatmulPreferenceAttributes_t attr[4] = {
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
    const uint32_t val[4] = {al[0], al[1], al[2], al[2]};
    for (int i = 0; i < 4; ++i)
      PERFCAL_CUBLAS_CHECK(
          cublasLtMatmulPreferenceSetAttribute(pref_, attr[i], &val[i], sizeof val[i]));
    int returned = 0;
    PERFCAL_CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(lt_, desc_, la_, lb_, lc_, lc_, pref_, 1,
                                                        &heur_, &returned));
    if (returned == 0)
      return Status::Unsupported("cuBLASLt has no algorithm for this layout and alignment");
    have_algo_ = true;
    for (int i = 0; i < 3; ++i) align_[i] = al[i];
    return Status::Ok();
  }

  // k == 0: C = beta C (beta == 0 writes zeros without reading C).
  Status scale_c(float* c, cudaStream_t s) {
    if (p_.beta == 0.0f) {
      PERFCAL_CUDA_CHECK(cudaMemset2DAsync(c, std::size_t(p_.ldc) * sizeof(float), 0,
                                           std::size_t(p_.m) * sizeof(float), std::size_t(p_.n), s));
      return Status::Ok();
    }
    if (p_.beta == 1.0f) return Status::Ok();
    const float zero = 0.0f;
    PERFCAL_CUBLAS_CHECK(cublasSgeam(handle_, CUBLAS_OP_N, CUBLAS_OP_N, int(p_.m), int(p_.n),
                                     &p_.beta, c, int(p_.ldc), &zero, c, int(p_.ldc), c,
                                     int(p_.ldc)));
    return Status::Ok();
  }

  Kind kind_;
  Problem p_;
  cublasHandle_t handle_ = nullptr;
  cublasLtHandle_t lt_ = nullptr;
  cublasLtMatmulDesc_t desc_ = nullptr;
  cublasLtMatrixLayout_t la_ = nullptr, lb_ = nullptr, lc_ = nullptr;
  cublasLtMatmulPreference_t pref_ = nullptr;
  cublasLtMatmulHeuristicResult_t heur_{};
  bool have_algo_ = false;
  uint32_t align_[3] = {0, 0, 0};
  DeviceBuffer workspace_;
};

class Cublas : public Variant {
 public:
  Cublas(Kind kind, const char* name, Dtype dtype, const char* description) : kind_(kind) {
    info_.name = name;
    info_.backend = "cuda";
    info_.dtype = dtype;
    info_.baseline = true;
    info_.description = description;
  }
  const VariantInfo& info() const override { return info_; }
  Status available() const override { return device_available(); }
  Json default_config(const Problem&) const override { return Json::object(); }
  Status can_implement(const Json& config, const Problem& p) const override {
    if (!config.is_object()) return Status::Invalid("config must be a JSON object");
    PERFCAL_RETURN_IF_ERROR(check_problem(p, info_.dtype));
    // cuBLAS's classic API takes 32-bit leading dimensions.
    const int64_t lim = int64_t{1} << 31;
    if (p.lda >= lim || p.ldb >= lim || p.ldc >= lim)
      return Status::Unsupported("leading dimensions must be below 2^31 for cuBLAS");
    if (kind_ != Kind::sgemm) {
      // TF32 and bf16 tensor-core paths: sm_80+ (cuBLAS would fall back silently otherwise,
      // and the measurement would not be what the name says).
      DeviceLimits lim_dev;
      if (device_available().ok() && current_device_limits(&lim_dev).ok() && lim_dev.cc_major < 8)
        return Status::Unsupported("TF32/bf16 tensor cores need compute capability 8.0+");
    }
    return Status::Ok();
  }
  Status make_plan(const Problem& p, const Json& config,
                   std::unique_ptr<Plan>* out) const override {
    PERFCAL_RETURN_IF_ERROR(can_implement(config, p));
    auto plan = std::make_unique<CublasPlan>(kind_, p);
    PERFCAL_RETURN_IF_ERROR(plan->init());
    *out = std::move(plan);
    return Status::Ok();
  }

 private:
  Kind kind_;
  VariantInfo info_;
};

}  // namespace

static const Registrar kSgemm{std::make_unique<Cublas>(
    Kind::sgemm, "gemm/cuda/cublas/f32", Dtype::f32, "cuBLAS sgemm, fp32 math")};
static const Registrar kTf32{std::make_unique<Cublas>(
    Kind::sgemm_tf32, "gemm/cuda/cublas_tf32/f32", Dtype::f32,
    "cuBLAS sgemm, TF32 tensor-core math")};
static const Registrar kBf16{std::make_unique<Cublas>(
    Kind::gemmex_bf16, "gemm/cuda/cublas/bf16", Dtype::bf16,
    "cuBLAS GemmEx bf16 -> f32, compute 32F")};
static const Registrar kLt{std::make_unique<Cublas>(
    Kind::lt_bf16, "gemm/cuda/cublaslt/bf16", Dtype::bf16,
    "cuBLASLt matmul bf16 -> f32, heuristic algo")};

}  // namespace perfcal::gemm::gpu
