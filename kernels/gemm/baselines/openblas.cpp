// Baseline gemm/cpu/openblas/f32: OpenBLAS cblas_sgemm on the column-major contract, in the
// same process and on the same inputs as perfcal's variants.
// Threads come from the config (openblas_set_num_threads before every call, because the
// setting is global and other code may change it between calls).
// Note: OPENBLAS_CORETYPE in the environment pins OpenBLAS to that core's kernels; the
// profile records openblas_corename() so a number is never read without its core.
#include "gemm/baselines/openblas.h"

#include <cblas.h>

#include "core/cpu_info.h"
#include "gemm/gemm.h"

namespace perfcal::gemm {

std::string openblas_corename() {
  const char* s = openblas_get_corename();
  return s ? s : "";
}

std::string openblas_config() {
  const char* s = openblas_get_config();
  return s ? s : "";
}

namespace {

struct Config {
  int threads = 1;
};
void to_json(Json& j, const Config& c) { j = Json{{"threads", c.threads}}; }
void from_json(const Json& j, Config& c) { j.at("threads").get_to(c.threads); }

class OpenblasPlan : public Variant::Plan {
 public:
  OpenblasPlan(const Problem& p, int threads) : p_(p), threads_(threads) {}
  Status run(const Operands& ops) override {
    if (p_.m == 0 || p_.n == 0) return Status::Ok();
    openblas_set_num_threads(threads_);
    cblas_sgemm(CblasColMajor, p_.ta == Trans::N ? CblasNoTrans : CblasTrans,
                p_.tb == Trans::N ? CblasNoTrans : CblasTrans, static_cast<blasint>(p_.m),
                static_cast<blasint>(p_.n), static_cast<blasint>(p_.k), p_.alpha,
                static_cast<const float*>(ops.a), static_cast<blasint>(p_.lda),
                static_cast<const float*>(ops.b), static_cast<blasint>(p_.ldb), p_.beta, ops.c,
                static_cast<blasint>(p_.ldc));
    return Status::Ok();
  }

 private:
  Problem p_;
  int threads_;
};

class OpenblasVariant : public Variant {
 public:
  const VariantInfo& info() const override {
    static const VariantInfo i{"gemm/cpu/openblas/f32", "cpu", Dtype::f32, true,
                               "OpenBLAS cblas_sgemm (baseline)"};
    return i;
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
    // cblas_sgemm takes fp32 operands only.
    if (p.dtype != Dtype::f32) return Status::Unsupported("OpenBLAS sgemm is fp32 only");
    // blasint is 32-bit in this OpenBLAS build; larger sizes would wrap.
    const int64_t lim = (int64_t{1} << 31) - 1;
    if (p.m > lim || p.n > lim || p.k > lim || p.lda > lim || p.ldb > lim || p.ldc > lim)
      return Status::Unsupported("sizes exceed OpenBLAS's 32-bit blasint");
    // openblas_set_num_threads needs at least one.
    if (c.threads < 1) return Status::Invalid("threads must be >= 1");
    return Status::Ok();
  }
  Status make_plan(const Problem& p, const Json& config,
                   std::unique_ptr<Plan>* out) const override {
    PERFCAL_RETURN_IF_ERROR(can_implement(config, p));
    Config c;
    PERFCAL_RETURN_IF_ERROR(parse_config(config, &c));
    *out = std::make_unique<OpenblasPlan>(p, c.threads);
    return Status::Ok();
  }
};

}  // namespace
}  // namespace perfcal::gemm

static const perfcal::gemm::Registrar kRegister{std::make_unique<perfcal::gemm::OpenblasVariant>()};
