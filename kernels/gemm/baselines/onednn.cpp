// Baselines gemm/cpu/onednn/f32 and gemm/cpu/onednn/bf16: oneDNN matmul (Debian libdnnl),
// same process, same inputs as perfcal's variants.
//
// oneDNN matmul is row-major (dst[M x N] = src[M x K] * weights[K x N]), so the column-major
// contract is handed over as its transpose, C^T = op(B)^T op(A)^T, with transposes and
// leading dimensions expressed as memory-descriptor strides (no copies):
//   src     = op(B)^T  dims {n, k}: tb=N strides {ldb, 1}, tb=T strides {1, ldb}
//   weights = op(A)^T  dims {k, m}: ta=N strides {lda, 1}, ta=T strides {1, lda}
//   dst     = C^T      dims {n, m}: strides {ldc, 1}
// alpha is an output scale, beta a sum post-op (absent when beta == 0, so C is not read).
// The primitive is created in make_plan, outside any timed loop. Threads: this oneDNN uses
// the OpenMP runtime, so the plan sets omp_set_num_threads around creation and execution.
#include <omp.h>

#include <dnnl.hpp>

#include "core/cpu_info.h"
#include "gemm/gemm.h"

namespace perfcal::gemm {
namespace {

struct Config {
  int threads = 1;
};
void to_json(Json& j, const Config& c) { j = Json{{"threads", c.threads}}; }
void from_json(const Json& j, Config& c) { j.at("threads").get_to(c.threads); }

// Restores the caller's OpenMP thread count on scope exit.
class OmpThreads {
 public:
  explicit OmpThreads(int t) : saved_(omp_get_max_threads()) { omp_set_num_threads(t); }
  ~OmpThreads() { omp_set_num_threads(saved_); }

 private:
  int saved_;
};

class OnednnPlan : public Variant::Plan {
 public:
  OnednnPlan(const Problem& p, int threads) : p_(p), threads_(threads) {}

  Status init() {
    // oneDNN 2.6 divides by K while creating a bf16 matmul (SIGFPE at K = 0); run() does
    // the K = 0 case (C = beta C) itself.
    if (p_.m == 0 || p_.n == 0 || p_.k == 0) return Status::Ok();
    using dt = dnnl::memory::data_type;
    using dims = dnnl::memory::dims;
    const dt in = p_.dtype == Dtype::bf16 ? dt::bf16 : dt::f32;
    try {
      OmpThreads omp(threads_);
      eng_ = dnnl::engine(dnnl::engine::kind::cpu, 0);
      strm_ = dnnl::stream(eng_);
      dnnl::memory::desc src({p_.n, p_.k}, in,
                             p_.tb == Trans::N ? dims{p_.ldb, 1} : dims{1, p_.ldb});
      dnnl::memory::desc wei({p_.k, p_.m}, in,
                             p_.ta == Trans::N ? dims{p_.lda, 1} : dims{1, p_.lda});
      dnnl::memory::desc dst({p_.n, p_.m}, dt::f32, dims{p_.ldc, 1});
      dnnl::primitive_attr attr;
      if (p_.alpha != 1.0f) attr.set_output_scales(0, {p_.alpha});
      if (p_.beta != 0.0f) {
        dnnl::post_ops po;
        po.append_sum(p_.beta);
        attr.set_post_ops(po);
      }
      dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, wei, dst), attr, eng_);
      impl_ = pd.impl_info_str();
      prim_ = dnnl::matmul(pd);
      src_ = dnnl::memory(src, eng_, DNNL_MEMORY_NONE);
      wei_ = dnnl::memory(wei, eng_, DNNL_MEMORY_NONE);
      dst_ = dnnl::memory(dst, eng_, DNNL_MEMORY_NONE);
    } catch (const dnnl::error& e) {
      return Status::Internal(std::string("oneDNN matmul: ") + e.what());
    }
    return Status::Ok();
  }

  Status run(const Operands& ops) override {
    if (p_.m == 0 || p_.n == 0) return Status::Ok();
    if (p_.k == 0) {  // BLAS: C = beta * C; beta = 0 writes zeros without reading C
      for (int64_t j = 0; j < p_.n; ++j)
        for (int64_t i = 0; i < p_.m; ++i) {
          float& c = ops.c[i + j * p_.ldc];
          c = p_.beta == 0.0f ? 0.0f : p_.beta * c;
        }
      return Status::Ok();
    }
    try {
      OmpThreads omp(threads_);
      src_.set_data_handle(const_cast<void*>(ops.b));
      wei_.set_data_handle(const_cast<void*>(ops.a));
      dst_.set_data_handle(ops.c);
      prim_.execute(strm_, {{DNNL_ARG_SRC, src_}, {DNNL_ARG_WEIGHTS, wei_}, {DNNL_ARG_DST, dst_}});
      strm_.wait();
    } catch (const dnnl::error& e) {
      return Status::Internal(std::string("oneDNN matmul: ") + e.what());
    }
    return Status::Ok();
  }

 private:
  Problem p_;
  int threads_;
  dnnl::engine eng_;
  dnnl::stream strm_;
  dnnl::matmul prim_;
  dnnl::memory src_, wei_, dst_;
  std::string impl_;
};

class OnednnVariant : public Variant {
 public:
  explicit OnednnVariant(Dtype d)
      : info_{d == Dtype::bf16 ? "gemm/cpu/onednn/bf16" : "gemm/cpu/onednn/f32", "cpu", d, true,
              d == Dtype::bf16 ? "oneDNN matmul, bf16 inputs, f32 output (baseline)"
                               : "oneDNN matmul, f32 (baseline)"} {}
  const VariantInfo& info() const override { return info_; }
  Status available() const override {
    // oneDNN would run bf16 without AVX512_BF16 through slow emulation or refuse; compare
    // only where the hardware instruction exists.
    if (info_.dtype == Dtype::bf16 && !cpu_info().features.avx512_bf16)
      return Status::Unsupported("no AVX512_BF16 on this CPU");
    return Status::Ok();
  }
  Json default_config(const Problem&) const override { return Config{cpu_info().cores}; }
  SearchSpace search_space(const Problem&) const override {
    ParamSpace t{"threads", {}};
    for (int i = 1; i <= cpu_info().cores; i *= 2) t.values.push_back(i);
    return {t};
  }
  Status can_implement(const Json& config, const Problem& p) const override {
    Config c;
    PERFCAL_RETURN_IF_ERROR(parse_config(config, &c));
    PERFCAL_RETURN_IF_ERROR(validate(p));
    // One primitive per input type; C is f32 for both.
    if (p.dtype != info_.dtype)
      return Status::Unsupported(std::string("this baseline takes ") + to_string(info_.dtype));
    // omp_set_num_threads needs at least one.
    if (c.threads < 1) return Status::Invalid("threads must be >= 1");
    return Status::Ok();
  }
  Status make_plan(const Problem& p, const Json& config,
                   std::unique_ptr<Plan>* out) const override {
    PERFCAL_RETURN_IF_ERROR(can_implement(config, p));
    Config c;
    PERFCAL_RETURN_IF_ERROR(parse_config(config, &c));
    auto plan = std::make_unique<OnednnPlan>(p, c.threads);
    PERFCAL_RETURN_IF_ERROR(plan->init());
    *out = std::move(plan);
    return Status::Ok();
  }

 private:
  VariantInfo info_;
};

}  // namespace
}  // namespace perfcal::gemm

static const perfcal::gemm::Registrar kRegisterF32{
    std::make_unique<perfcal::gemm::OnednnVariant>(perfcal::Dtype::f32)};
static const perfcal::gemm::Registrar kRegisterBf16{
    std::make_unique<perfcal::gemm::OnednnVariant>(perfcal::Dtype::bf16)};
