// The composition a user writes without perfcal, as registered baseline variants:
//
//   attention/cpu/composed/fwd/f32    attention/cpu/composed/fwd/bf16
//   attention/cpu/composed/bwd/f32    attention/cpu/composed/bwd/bf16
//
// Per (batch, head): S = Q K^T through OpenBLAS cblas_sgemm, materialised [seq_q x seq_kv];
// a vectorised row softmax (the fused kernel's exp2, OpenMP over rows; masked keys are
// skipped, but S is still computed in full as a masked framework op would); O = P V through
// cblas_sgemm. Backward: S again, P from LSE, dV += P^T dO, dP = dO V^T, dS = P o (dP - D),
// dQ = dS K, dK += dS^T Q: five sgemm calls, two [seq_q x seq_kv] matrices.
// bf16 inputs are converted to fp32 first (OpenBLAS has no bf16 GEMM with fp32 inputs of this
// shape), so the bf16 baseline is fp32 arithmetic on bf16-valued inputs: the most accurate
// bf16 result a composition can give, which is what the fused bf16 kernel's tolerance is
// measured against. Tensors that are already fp32 with unit head_dim stride are passed to
// BLAS in place (BHSD or BSHD through the leading dimension); others are copied first.
// Config: ComposedConfig {threads}: openblas_set_num_threads and the softmax's OpenMP team.
#include <cblas.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "attention/attention.h"
#include "attention/flash_kernels.h"
#include "core/aligned_buffer.h"
#include "core/cpu_info.h"

extern "C" void openblas_set_num_threads(int num_threads);

namespace perfcal::attention {

void to_json(Json& j, const ComposedConfig& c) { j = Json{{"threads", c.threads}}; }
void from_json(const Json& j, ComposedConfig& c) { c.threads = j.value("threads", 1); }

namespace {

// A [rows x D] fp32 view of one (batch, head) slice: in place when possible, else copied.
struct Slice {
  const float* ptr = nullptr;
  int64_t ld = 0;
};

bool in_place(const Problem& p, const Strides& s) {
  return p.dtype == Dtype::f32 && s.d == 1 && s.s >= p.head_dim;
}

Slice view(const Problem& p, const void* x, const Strides& s, int64_t base, int64_t rows,
           float* scratch) {
  if (in_place(p, s)) return {static_cast<const float*>(x) + base, s.s};
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t d = 0; d < p.head_dim; ++d)
      scratch[r * p.head_dim + d] = float(load(p.dtype, x, base + r * s.s + d * s.d));
  return {scratch, p.head_dim};
}

class ComposedVariant final : public Variant {
 public:
  ComposedVariant(Pass pass, Dtype dtype) : pass_(pass) {
    info_.name = std::string("attention/cpu/composed/") + to_string(pass) + "/" + to_string(dtype);
    info_.backend = "cpu";
    info_.dtype = dtype;
    info_.baseline = true;
    info_.description = std::string("OpenBLAS sgemm + vectorised softmax, materialising S") +
                        (dtype == Dtype::bf16 ? " (bf16 converted to fp32 first)" : "");
  }
  const VariantInfo& info() const override { return info_; }
  Json default_config(const Problem&) const override {
    return ComposedConfig{std::max(1, cpu_info().cores)};
  }
  SearchSpace search_space(const Problem&) const override {
    return {{"threads", {1, std::max(1, cpu_info().cores)}}};
  }

  Status can_implement(const Json& config, const Problem& p) const override {
    PERFCAL_RETURN_IF_ERROR(validate(p));
    if (p.pass != pass_) return Status::Unsupported(name() + " runs the other pass");
    if (p.dtype != info_.dtype)
      return Status::Unsupported(name() + " needs dtype " + to_string(info_.dtype));
    ComposedConfig c;
    PERFCAL_RETURN_IF_ERROR(parse_config(config, &c));
    if (c.threads < 1 || c.threads > 1024) return Status::Invalid("threads must be in [1, 1024]");
    // cblas takes int sizes and leading dimensions.
    const int64_t imax = std::numeric_limits<int>::max();
    if (p.seq_q > imax || p.seq_kv > imax || p.head_dim > imax || p.q.s > imax || p.k.s > imax ||
        p.v.s > imax || p.o.s > imax)
      return Status::Unsupported("sizes or strides beyond the int range of cblas");
    // The materialised S (and dP) must be allocatable.
    if (double(p.seq_q) * double(p.seq_kv) * 8.0 > std::ldexp(1.0, 46))
      return Status::OutOfMemory("seq_q x seq_kv scores would exceed 64 TiB");
    return Status::Ok();
  }

  Status make_plan(const Problem& p, const Json& config,
                   std::unique_ptr<Plan>* out) const override {
    PERFCAL_RETURN_IF_ERROR(can_implement(config, p));
    auto plan = std::make_unique<ComposedPlan>();
    plan->p = p;
    PERFCAL_RETURN_IF_ERROR(parse_config(config, &plan->c));
    const int64_t D = p.head_dim, sq = p.seq_q, skv = p.seq_kv;
    // Layout of the workspace (floats): S | dP (bwd) | Qf | Kf | Vf | dOf (bwd) |
    // Of / dQf | dKf, dVf (bwd) | D (bwd)
    int64_t n = sq * skv;
    plan->off_dp = n;
    if (p.pass == Pass::bwd) n += sq * skv;
    plan->off_q = n;
    n += in_place(p, p.q) ? 0 : sq * D;
    plan->off_k = n;
    n += in_place(p, p.k) ? 0 : skv * D;
    plan->off_v = n;
    n += in_place(p, p.v) ? 0 : skv * D;
    plan->off_do = n;
    if (p.pass == Pass::bwd) n += in_place(p, p.o) ? 0 : sq * D;
    plan->off_o = n;
    const bool o_direct = p.pass == Pass::fwd && p.o.d == 1 && p.o.s >= D;
    if (!o_direct) n += sq * D;
    plan->off_dkv = n;
    if (p.pass == Pass::bwd) n += 2 * skv * D;
    plan->off_d = n;
    if (p.pass == Pass::bwd) n += sq;
    plan->o_direct = o_direct;
    if (!plan->buf.reset(std::size_t(n)))
      return Status::OutOfMemory("cannot allocate " + std::to_string(n * 4) +
                                 " bytes for the materialised scores");
    plan->n_valid.resize(sq);
    for (int64_t i = 0; i < sq; ++i) plan->n_valid[i] = p.key_end(i);
    *out = std::move(plan);
    return Status::Ok();
  }

 private:
  struct ComposedPlan final : Plan {
    Problem p;
    ComposedConfig c;
    AlignedBuffer<float> buf;
    std::vector<int64_t> n_valid;
    int64_t off_dp = 0, off_q = 0, off_k = 0, off_v = 0, off_do = 0, off_o = 0, off_dkv = 0,
            off_d = 0;
    bool o_direct = false;

    std::size_t workspace_bytes() const override {
      return buf.size() * sizeof(float) + n_valid.size() * sizeof(int64_t);
    }

    Status run(const Operands& ops) override {
      if (!ops.q || !ops.k || !ops.v || !ops.o || !ops.lse)
        return Status::Invalid("q, k, v, o and lse must be non-null");
      if (p.pass == Pass::bwd && (!ops.d_o || !ops.dq || !ops.dk || !ops.dv))
        return Status::Invalid("backward needs d_o, dq, dk and dv");
      openblas_set_num_threads(c.threads);
      return p.pass == Pass::fwd ? forward(ops) : backward(ops);
    }

    Status forward(const Operands& ops) {
      const int64_t D = p.head_dim, sq = p.seq_q, skv = p.seq_kv, g = p.group();
      float* S = buf.data();
      Slice K, V;
      for (int64_t b = 0; b < p.batch; ++b)
        for (int64_t h = 0; h < p.heads; ++h) {
          const int64_t kvh = h / g;
          if (h % g == 0) {
            K = view(p, ops.k, p.k, b * p.k.b + kvh * p.k.h, skv, buf.data() + off_k);
            V = view(p, ops.v, p.v, b * p.v.b + kvh * p.v.h, skv, buf.data() + off_v);
          }
          const Slice Q = view(p, ops.q, p.q, b * p.q.b + h * p.q.h, sq, buf.data() + off_q);
          float* lse = ops.lse + (b * p.heads + h) * sq;
          float* O = o_direct ? ops.o + b * p.o.b + h * p.o.h : buf.data() + off_o;
          const int64_t ldo = o_direct ? p.o.s : D;
          if (sq == 0) continue;
          if (skv == 0) {
            for (int64_t i = 0; i < sq; ++i) lse[i] = -std::numeric_limits<float>::infinity();
            for (int64_t i = 0; i < sq; ++i) std::fill(O + i * ldo, O + i * ldo + D, 0.0f);
          } else {
            // S[sq x skv] = Q K^T (unscaled; the softmax applies scale)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(sq), int(skv), int(D), 1.0f,
                        Q.ptr, int(Q.ld), K.ptr, int(K.ld), 0.0f, S, int(skv));
            detail::softmax_rows(S, sq, skv, skv, p.causal ? n_valid.data() : nullptr, p.scale, lse,
                                 c.threads);
            // O[sq x D] = P V
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(sq), int(D), int(skv), 1.0f,
                        S, int(skv), V.ptr, int(V.ld), 0.0f, O, int(ldo));
          }
          if (!o_direct)
            for (int64_t i = 0; i < sq; ++i)
              for (int64_t d = 0; d < D; ++d)
                ops.o[b * p.o.b + h * p.o.h + i * p.o.s + d * p.o.d] = O[i * D + d];
        }
      return Status::Ok();
    }

    Status backward(const Operands& ops) {
      const int64_t D = p.head_dim, sq = p.seq_q, skv = p.seq_kv, g = p.group();
      float* P = buf.data();
      float* dP = buf.data() + off_dp;
      float* dQf = buf.data() + off_o;
      float* dKf = buf.data() + off_dkv;
      float* dVf = dKf + skv * D;
      float* Drow = buf.data() + off_d;
      Slice K, V;
      for (int64_t b = 0; b < p.batch; ++b)
        for (int64_t h = 0; h < p.heads; ++h) {
          const int64_t kvh = h / g;
          const bool first = h % g == 0;
          if (first) {
            K = view(p, ops.k, p.k, b * p.k.b + kvh * p.k.h, skv, buf.data() + off_k);
            V = view(p, ops.v, p.v, b * p.v.b + kvh * p.v.h, skv, buf.data() + off_v);
          }
          const int64_t qbase = b * p.q.b + h * p.q.h, obase = b * p.o.b + h * p.o.h;
          const Slice Q = view(p, ops.q, p.q, qbase, sq, buf.data() + off_q);
          const Slice dO = view(p, ops.d_o, p.o, obase, sq, buf.data() + off_do);
          const float* lse = ops.lse + (b * p.heads + h) * sq;
          const float beta = first ? 0.0f : 1.0f;
          if (sq > 0 && skv > 0) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(sq), int(skv), int(D), 1.0f,
                        Q.ptr, int(Q.ld), K.ptr, int(K.ld), 0.0f, P, int(skv));
            detail::probs_from_lse_rows(P, sq, skv, skv, p.causal ? n_valid.data() : nullptr,
                                        p.scale, lse, c.threads);
            // dV[skv x D] (+)= P^T dO
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(skv), int(D), int(sq), 1.0f, P,
                        int(skv), dO.ptr, int(dO.ld), beta, dVf, int(D));
            // dP[sq x skv] = dO V^T
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(sq), int(skv), int(D), 1.0f,
                        dO.ptr, int(dO.ld), V.ptr, int(V.ld), 0.0f, dP, int(skv));
            for (int64_t i = 0; i < sq; ++i) {
              double acc = 0;
              for (int64_t d = 0; d < D; ++d)
                acc += dO.ptr[i * dO.ld + d] * ops.o[obase + i * p.o.s + d * p.o.d];
              Drow[i] = float(acc);
            }
            detail::ds_rows(P, dP, sq, skv, skv, Drow, p.scale, c.threads);
            // dQ[sq x D] = dS K;  dK[skv x D] (+)= dS^T Q
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(sq), int(D), int(skv), 1.0f,
                        dP, int(skv), K.ptr, int(K.ld), 0.0f, dQf, int(D));
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(skv), int(D), int(sq), 1.0f,
                        dP, int(skv), Q.ptr, int(Q.ld), beta, dKf, int(D));
          } else {
            std::fill(dQf, dQf + sq * D, 0.0f);
            if (first) std::fill(dKf, dKf + 2 * skv * D, 0.0f);
          }
          for (int64_t i = 0; i < sq; ++i)
            for (int64_t d = 0; d < D; ++d) ops.dq[qbase + i * p.q.s + d * p.q.d] = dQf[i * D + d];
          if (h % g == g - 1)
            for (int64_t j = 0; j < skv; ++j)
              for (int64_t d = 0; d < D; ++d) {
                ops.dk[b * p.k.b + kvh * p.k.h + j * p.k.s + d * p.k.d] = dKf[j * D + d];
                ops.dv[b * p.v.b + kvh * p.v.h + j * p.v.s + d * p.v.d] = dVf[j * D + d];
              }
        }
      return Status::Ok();
    }
  };

  Pass pass_;
  VariantInfo info_;
};

const Registrar kFwdF32{std::make_unique<ComposedVariant>(Pass::fwd, Dtype::f32)};
const Registrar kFwdBf16{std::make_unique<ComposedVariant>(Pass::fwd, Dtype::bf16)};
const Registrar kBwdF32{std::make_unique<ComposedVariant>(Pass::bwd, Dtype::f32)};
const Registrar kBwdBf16{std::make_unique<ComposedVariant>(Pass::bwd, Dtype::bf16)};

}  // namespace
}  // namespace perfcal::attention
