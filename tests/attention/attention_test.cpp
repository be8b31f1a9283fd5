// Attention family: every registered variant against the float64 reference on awkward shapes,
// the reference against finite differences, the checker against deliberately wrong kernels,
// and invalid descriptors. Run: build/bin/test_attention (about a minute in Release).
//
// Tolerances (normwise: max |got - ref| / max |ref| over a tensor, gradients floored at
// max |dV| because dQ and dK vanish exactly with one key; LSE relative to max(1, |lse|)):
//
//   fp32 O, LSE, dQ, dK, dV   16 eps32 sqrt(max(seq_q, seq_kv, head_dim))
//       fp32 sums of that length; random-sign rounding errors grow like sqrt(n) eps, and 16
//       covers the exp2 polynomial (~2 ulp) and the online-softmax rescaling.
//   composed bf16 vs float64 on the bf16-valued inputs   the fp32 bound
//       it is fp32 arithmetic on exactly representable bf16 values.
//   fused bf16 vs float64 on the unrounded fp32 inputs   <= 2 x composed bf16's error, + 1e-6
//       the rule: rounding the inputs to bf16 dominates both; the fused kernel may add
//       its P / dS rounding to bf16 (2^-9 relative) but no more than that again.
//   fused bf16 LSE vs float64 on the bf16 values   1e-2
//       the row sum is taken over bf16-rounded P.
//   reference vs central finite differences (float64)   1e-5 relative
//       h = 1e-3 on float-representable perturbations: truncation error ~h^2.
#include "attention/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_info.h"
#include "perfcal/attention.h"
#include "perfcal/perfcal.h"

namespace perfcal::attention {
namespace {

constexpr double kEps32 = 1.1920928955078125e-07;

struct Shape {
  int64_t b, h, kvh, sq, skv, d;
  bool causal;
  Layout layout = Layout::bhsd;
};

std::string str(const Shape& s) {
  return "b" + std::to_string(s.b) + "h" + std::to_string(s.h) + "kv" + std::to_string(s.kvh) +
         "sq" + std::to_string(s.sq) + "skv" + std::to_string(s.skv) + "d" + std::to_string(s.d) +
         (s.causal ? "c" : "") + (s.layout == Layout::bshd ? "bshd" : "");
}

Problem make(const Shape& s, Pass pass, Dtype dt) {
  return Problem::dense(pass, dt, s.b, s.h, s.kvh, s.sq, s.skv, s.d, s.causal, s.layout);
}

// Every tensor of one problem, fp32 master values plus their bf16 rounding. Pointers are
// offset by one element from the 64-byte aligned start so no kernel may assume alignment.
struct Tensors {
  std::vector<float> q, k, v, d_o, o, lse, dq, dk, dv;
  std::vector<uint16_t> qb, kb, vb, dob;
  const Problem p;
  explicit Tensors(const Problem& p_, uint64_t seed, float magnitude = 1.0f) : p(p_) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    auto fill = [&](std::vector<float>& x, int64_t n, float mag) {
      x.resize(n + 1);
      for (auto& e : x) e = mag * u(rng);
    };
    fill(q, q_elements(p), magnitude);
    fill(k, kv_elements(p, p.k), magnitude);
    fill(v, kv_elements(p, p.v), 1.0f);
    fill(d_o, o_elements(p), 1.0f);
    o.assign(o_elements(p) + 1, 0.0f);
    lse.assign(lse_elements(p) + 1, 0.0f);
    dq.assign(q_elements(p) + 1, 0.0f);
    dk.assign(kv_elements(p, p.k) + 1, 0.0f);
    dv.assign(kv_elements(p, p.v) + 1, 0.0f);
    auto round = [](const std::vector<float>& x, std::vector<uint16_t>& y) {
      y.resize(x.size());
      for (size_t i = 0; i < x.size(); ++i) y[i] = float_to_bf16(x[i]);
    };
    round(q, qb), round(k, kb), round(v, vb), round(d_o, dob);
  }
  // Inputs as the kernel sees them (dtype of p), offset by one element.
  Operands ops(Dtype dt) {
    Operands r;
    const bool b = dt == Dtype::bf16;
    r.q = b ? (const void*)(qb.data() + 1) : (const void*)(q.data() + 1);
    r.k = b ? (const void*)(kb.data() + 1) : (const void*)(k.data() + 1);
    r.v = b ? (const void*)(vb.data() + 1) : (const void*)(v.data() + 1);
    r.d_o = b ? (const void*)(dob.data() + 1) : (const void*)(d_o.data() + 1);
    r.o = o.data() + 1;
    r.lse = lse.data() + 1;
    r.dq = dq.data() + 1;
    r.dk = dk.data() + 1;
    r.dv = dv.data() + 1;
    return r;
  }
};

// Normwise relative error of a strided fp32 tensor against a dense BHSD double tensor,
// divided by max(max |ref|, floor): gradients that are exactly zero in exact arithmetic
// (one key: dQ = dK = 0) are measured against the scale of dV instead.
double tensor_error(const Problem& p, const float* got, const Strides& s, int64_t nh, int64_t ns,
                    const std::vector<double>& ref, double floor = 0) {
  double max_err = 0, max_ref = 0;
  for (int64_t b = 0; b < p.batch; ++b)
    for (int64_t h = 0; h < nh; ++h)
      for (int64_t i = 0; i < ns; ++i)
        for (int64_t d = 0; d < p.head_dim; ++d) {
          const double r = ref[((b * nh + h) * ns + i) * p.head_dim + d];
          const double g = got[b * s.b + h * s.h + i * s.s + d * s.d];
          if (!std::isfinite(g)) return std::numeric_limits<double>::infinity();
          max_err = std::max(max_err, std::abs(g - r));
          max_ref = std::max(max_ref, std::abs(r));
        }
  return max_err / std::max({max_ref, floor, 1e-30});
}

double lse_error(const float* got, const std::vector<double>& ref) {
  double e = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (std::isinf(ref[i])) {
      if (!(std::isinf(got[i]) && got[i] < 0)) return std::numeric_limits<double>::infinity();
      continue;
    }
    if (!std::isfinite(got[i])) return std::numeric_limits<double>::infinity();
    e = std::max(e, std::abs(got[i] - ref[i]) / std::max(1.0, std::abs(ref[i])));
  }
  return e;
}

double fp32_bound(const Problem& p) {
  return 16 * kEps32 * std::sqrt(double(std::max({p.seq_kv, p.seq_q, p.head_dim, int64_t{1}})));
}

struct FwdRef {
  std::vector<double> o, lse;
};
double max_abs(const std::vector<double>& x) {
  double m = 0;
  for (double e : x) m = std::max(m, std::abs(e));
  return m;
}

FwdRef ref_fwd(const Problem& p, const Operands& in) {
  FwdRef r;
  r.o.resize(p.batch * p.heads * p.seq_q * p.head_dim);
  r.lse.resize(p.batch * p.heads * p.seq_q);
  reference_forward(p, in.q, in.k, in.v, r.o.data(), r.lse.data());
  return r;
}
struct BwdRef {
  std::vector<double> dq, dk, dv;
};
BwdRef ref_bwd(const Problem& p, const Operands& in) {
  BwdRef r;
  r.dq.resize(p.batch * p.heads * p.seq_q * p.head_dim);
  r.dk.resize(p.batch * p.kv_heads * p.seq_kv * p.head_dim);
  r.dv.resize(r.dk.size());
  reference_backward(p, in.q, in.k, in.v, in.d_o, r.dq.data(), r.dk.data(), r.dv.data());
  return r;
}

// The checker: runs `v` on `p` and returns its errors (O / LSE, or dQ / dK / dV) against
// float64 results `fr` / `br`. Backward inputs O and LSE come from the float64 forward.
struct Errors {
  Status status;
  double a = 0, b = 0, c = 0;  // fwd: O, LSE;  bwd: dQ, dK, dV
  double worst() const { return std::max({a, b, c}); }
};
Errors check(const Variant& v, const Json& cfg, const Problem& p, Tensors& t, const FwdRef& fr,
             const BwdRef* br) {
  Errors e;
  std::unique_ptr<Variant::Plan> plan;
  e.status = v.make_plan(p, cfg, &plan);
  if (!e.status.ok()) return e;
  Operands ops = t.ops(p.dtype);
  if (p.pass == Pass::bwd) {
    for (int64_t b = 0; b < p.batch; ++b)
      for (int64_t h = 0; h < p.heads; ++h)
        for (int64_t i = 0; i < p.seq_q; ++i) {
          const int64_t row = (b * p.heads + h) * p.seq_q + i;
          ops.lse[row] = float(fr.lse[row]);
          for (int64_t d = 0; d < p.head_dim; ++d)
            ops.o[b * p.o.b + h * p.o.h + i * p.o.s + d] = float(fr.o[row * p.head_dim + d]);
        }
  }
  e.status = plan->run(ops);
  if (!e.status.ok()) return e;
  if (p.pass == Pass::fwd) {
    e.a = tensor_error(p, ops.o, p.o, p.heads, p.seq_q, fr.o);
    e.b = lse_error(ops.lse, fr.lse);
  } else {
    const double floor = max_abs(br->dv);
    e.a = tensor_error(p, ops.dq, p.q, p.heads, p.seq_q, br->dq, floor);
    e.b = tensor_error(p, ops.dk, p.k, p.kv_heads, p.seq_kv, br->dk, floor);
    e.c = tensor_error(p, ops.dv, p.v, p.kv_heads, p.seq_kv, br->dv, floor);
  }
  return e;
}

double grad_error(const Problem& p, const Operands& ops, const BwdRef& r) {
  const double floor = max_abs(r.dv);
  return std::max({tensor_error(p, ops.dq, p.q, p.heads, p.seq_q, r.dq, floor),
                   tensor_error(p, ops.dk, p.k, p.kv_heads, p.seq_kv, r.dk, floor),
                   tensor_error(p, ops.dv, p.v, p.kv_heads, p.seq_kv, r.dv, floor)});
}

std::vector<Shape> shapes() {
  return {
      {1, 1, 1, 1, 1, 64, false},      // seq 1
      {1, 2, 2, 1, 37, 64, true},      // one query, causal: sees every key
      {2, 3, 3, 17, 31, 80, false},    // primes, head_dim 80
      {1, 4, 2, 67, 67, 96, true},     // GQA 2:1, causal square
      {1, 8, 1, 45, 113, 128, true},   // GQA 8:1, seq_q < seq_kv, bottom-right
      {1, 2, 1, 100, 37, 64, true},    // seq_q > seq_kv: 63 rows see no key
      {1, 2, 2, 70, 131, 256, false},  // head_dim 256
      {1, 2, 1, 97, 450, 128, false},  // several of the forward default's 192-key tiles + tail
      {1, 1, 1, 400, 400, 64, true},   // the same, causal
      {2, 2, 1, 65, 97, 128, false, Layout::bshd},  // BSHD strides
      {1, 2, 2, 33, 29, 128, true, Layout::bshd},
      {1, 1, 1, 19, 23, 72, false},  // head_dim not a multiple of 16
      {1, 1, 1, 9, 11, 33, true},    // odd head_dim (bf16 pair padding)
      {1, 2, 1, 5, 0, 64, false},    // no keys at all
      {1, 1, 1, 0, 7, 64, false},    // no queries
  };
}

// Configs each variant is run with: its default, plus awkward tiles for the fused one.
std::vector<Json> configs(const Variant& v, const Problem& p) {
  std::vector<Json> c = {v.default_config(p)};
  if (v.name().find("/flash/") != std::string::npos) {
    c.push_back(Json{{"br", 16}, {"bc", 32}, {"threads", 2}});
    c.push_back(Json{{"br", 128}, {"bc", 16}, {"threads", 1}});
  }
  return c;
}

const Variant* find(const std::string& name) {
  const Variant* v = Registry::instance().find(name);
  EXPECT_NE(v, nullptr) << name;
  return v;
}

TEST(AttentionRegistry, HasFusedAndComposedForEveryPassAndDtype) {
  for (const char* var : {"flash", "composed"})
    for (const char* pass : {"fwd", "bwd"})
      for (const char* dt : {"f32", "bf16"})
        EXPECT_NE(
            Registry::instance().find(std::string("attention/cpu/") + var + "/" + pass + "/" + dt),
            nullptr);
}

// fp32 variants: error within the fp32 bound. bf16 composed: fp32 bound against float64 on
// the bf16 values. bf16 fused: at most 2x the composed bf16 error against float64 on the
// unrounded inputs.
void check_all(Pass pass, const std::vector<Shape>& list) {
  for (const Shape& s : list) {
    const Problem p32 = make(s, pass, Dtype::f32), p16 = make(s, pass, Dtype::bf16);
    Tensors t(p32, 1234 + s.sq * 7 + s.skv);
    Operands in32 = t.ops(Dtype::f32), in16 = t.ops(Dtype::bf16);
    const FwdRef f32ref = ref_fwd(p32, in32), f16ref = ref_fwd(p16, in16);
    BwdRef b32ref, b16ref;
    if (pass == Pass::bwd) b32ref = ref_bwd(p32, in32), b16ref = ref_bwd(p16, in16);
    // Baseline for the bf16 rule: composed bf16 against the unrounded float64 truth. Its
    // backward O/LSE inputs are the float64 forward of the bf16 values it actually sees.
    double composed16 = 0;
    {
      const Variant* c = find(std::string("attention/cpu/composed/") + to_string(pass) + "/bf16");
      Errors e = check(*c, c->default_config(p16), p16, t, f16ref, &b16ref);
      ASSERT_TRUE(e.status.ok()) << e.status.message();
      // ... but measured against the fp32-input truth.
      Operands ops = t.ops(Dtype::bf16);
      if (pass == Pass::fwd)
        composed16 = tensor_error(p16, ops.o, p16.o, p16.heads, p16.seq_q, f32ref.o);
      else
        composed16 = grad_error(p16, ops, b32ref);
      EXPECT_LE(e.worst(), fp32_bound(p16)) << "composed bf16 on " << str(s);
    }
    for (const auto& v : Registry::instance().all()) {
      if (v->name().find(std::string("/") + to_string(pass) + "/") == std::string::npos) continue;
      const bool bf16 = v->info().dtype == Dtype::bf16;
      const Problem& p = bf16 ? p16 : p32;
      for (const Json& cfg : configs(*v, p)) {
        const std::string what = v->name() + " " + cfg.dump() + " on " + str(s);
        if (!bf16) {
          Errors e = check(*v, cfg, p, t, f32ref, &b32ref);
          ASSERT_TRUE(e.status.ok()) << what << ": " << e.status.message();
          EXPECT_LE(e.worst(), fp32_bound(p))
              << what << " errors " << e.a << " " << e.b << " " << e.c;
        } else if (v->name().find("/composed/") == std::string::npos) {
          // Inputs O/LSE for backward: float64 forward of the bf16 values, as for composed.
          Errors e = check(*v, cfg, p, t, f16ref, &b16ref);
          ASSERT_TRUE(e.status.ok()) << what << ": " << e.status.message();
          Operands ops = t.ops(Dtype::bf16);
          double err;
          if (pass == Pass::fwd) {
            err = tensor_error(p, ops.o, p.o, p.heads, p.seq_q, f32ref.o);
            EXPECT_LE(e.b, 1e-2) << what << " lse";  // LSE of bf16-valued scores
          } else {
            err = grad_error(p, ops, b32ref);
          }
          EXPECT_LE(err, 2 * composed16 + 1e-6)
              << what << " bf16 error " << err << " vs composed " << composed16;
        }
      }
    }
  }
}

TEST(AttentionForward, EveryVariantMatchesReference) { check_all(Pass::fwd, shapes()); }
TEST(AttentionBackward, EveryVariantMatchesReference) { check_all(Pass::bwd, shapes()); }

// The drivers are shared by the ISA tiers; run the lower tiers on a few shapes too.
TEST(AttentionTiers, Avx2AndPortableMatchReference) {
  const std::vector<Shape> few = {{1, 4, 2, 67, 67, 96, true},
                                  {1, 2, 1, 100, 37, 64, true},
                                  {1, 1, 1, 9, 11, 33, true},
                                  {2, 2, 1, 21, 40, 80, false, Layout::bshd}};
  for (const char* isa : {"avx2", "portable"}) {
    if (std::string(isa) == "avx2" && !isa_available(Isa::avx2)) continue;
    setenv("PERFCAL_ISA", isa, 1);
    SCOPED_TRACE(isa);
    check_all(Pass::fwd, few);
    check_all(Pass::bwd, few);
    unsetenv("PERFCAL_ISA");
  }
}

// Scores of magnitude ~ 10^3: exp() of them overflows fp32, so a softmax without the max
// subtraction fails; the kernels must stay finite and right.
TEST(AttentionForward, LargeMagnitudeInputsStayFinite) {
  const Shape s{1, 2, 1, 40, 70, 64, false};
  const Problem p = make(s, Pass::fwd, Dtype::f32);
  Tensors t(p, 99, 30.0f);
  const FwdRef r = ref_fwd(p, t.ops(Dtype::f32));
  for (const char* name : {"attention/cpu/flash/fwd/f32", "attention/cpu/composed/fwd/f32"}) {
    const Variant* v = find(name);
    Errors e = check(*v, v->default_config(p), p, t, r, nullptr);
    ASSERT_TRUE(e.status.ok());
    // Scores ~1e3 make the softmax a near-argmax; relative error in S of eps * |S| moves P
    // by ~|S| eps, so the bound scales with the score magnitude.
    EXPECT_LE(e.worst(), 2e-3) << name;
  }
}

// ---- Testing the tester: deliberately wrong kernels the checker must reject. ----

enum class Bug { no_max_subtraction, drop_last_key };

class WrongForward final : public Variant {
 public:
  explicit WrongForward(Bug bug) : bug_(bug) { info_.name = "attention/cpu/wrong/fwd/f32"; }
  const VariantInfo& info() const override { return info_; }
  Json default_config(const Problem&) const override { return Json::object(); }
  Status can_implement(const Json&, const Problem& p) const override { return validate(p); }
  Status make_plan(const Problem& p, const Json&, std::unique_ptr<Plan>* out) const override {
    auto plan = std::make_unique<P>();
    plan->p = p;
    plan->bug = bug_;
    *out = std::move(plan);
    return Status::Ok();
  }

 private:
  struct P final : Plan {
    Problem p;
    Bug bug;
    // Plain fp32 attention with the bug; otherwise what the reference does.
    Status run(const Operands& ops) override {
      const float* q = static_cast<const float*>(ops.q);
      const float* k = static_cast<const float*>(ops.k);
      const float* v = static_cast<const float*>(ops.v);
      for (int64_t b = 0; b < p.batch; ++b)
        for (int64_t h = 0; h < p.heads; ++h)
          for (int64_t i = 0; i < p.seq_q; ++i) {
            int64_t end = p.key_end(i);
            if (bug == Bug::drop_last_key && end > 0) --end;
            const int64_t kvh = h / p.group();
            std::vector<float> s(end);
            float mx = -std::numeric_limits<float>::infinity();
            for (int64_t j = 0; j < end; ++j) {
              float acc = 0;
              for (int64_t d = 0; d < p.head_dim; ++d)
                acc += q[b * p.q.b + h * p.q.h + i * p.q.s + d] *
                       k[b * p.k.b + kvh * p.k.h + j * p.k.s + d];
              s[j] = acc * p.scale;
              mx = std::max(mx, s[j]);
            }
            if (bug == Bug::no_max_subtraction) mx = 0;
            float sum = 0;
            for (auto& x : s) sum += (x = std::exp(x - mx));
            for (int64_t d = 0; d < p.head_dim; ++d) {
              float acc = 0;
              for (int64_t j = 0; j < end; ++j)
                acc += s[j] * v[b * p.v.b + kvh * p.v.h + j * p.v.s + d];
              ops.o[b * p.o.b + h * p.o.h + i * p.o.s + d] = acc / sum;
            }
            ops.lse[(b * p.heads + h) * p.seq_q + i] = mx + std::log(sum);
          }
      return Status::Ok();
    }
  };
  Bug bug_;
  VariantInfo info_;
};

TEST(AttentionChecker, RejectsDeliberatelyWrongKernels) {
  {
    const Problem p = make({1, 2, 1, 40, 70, 64, false}, Pass::fwd, Dtype::f32);
    Tensors t(p, 7, 30.0f);
    const FwdRef r = ref_fwd(p, t.ops(Dtype::f32));
    WrongForward w(Bug::no_max_subtraction);
    Errors e = check(w, Json::object(), p, t, r, nullptr);
    ASSERT_TRUE(e.status.ok());
    EXPECT_GT(e.worst(), fp32_bound(p)) << "no-max-subtraction kernel was accepted";
  }
  for (const Shape& s : {Shape{1, 2, 2, 17, 31, 64, false}, Shape{1, 2, 1, 45, 113, 128, true}}) {
    const Problem p = make(s, Pass::fwd, Dtype::f32);
    Tensors t(p, 8);
    const FwdRef r = ref_fwd(p, t.ops(Dtype::f32));
    WrongForward w(Bug::drop_last_key);
    Errors e = check(w, Json::object(), p, t, r, nullptr);
    ASSERT_TRUE(e.status.ok());
    EXPECT_GT(e.worst(), fp32_bound(p)) << "drop-last-key kernel was accepted on " << str(s);
    // And its error is far from the bf16 rule's scale too: 2 x input rounding.
    EXPECT_GT(e.a, 1e-3) << str(s);
  }
}

// The reference's analytic gradients against central differences of L = sum(dO o O).
TEST(AttentionReference, GradientsMatchFiniteDifferences) {
  const Problem p = make({1, 2, 1, 5, 7, 8, true}, Pass::bwd, Dtype::f32);
  Tensors t(p, 3);
  Operands in = t.ops(Dtype::f32);
  const BwdRef g = ref_bwd(p, in);
  auto loss = [&]() {
    const FwdRef r = ref_fwd(p, t.ops(Dtype::f32));
    double l = 0;
    for (int64_t h = 0; h < p.heads; ++h)
      for (int64_t i = 0; i < p.seq_q; ++i)
        for (int64_t d = 0; d < p.head_dim; ++d)
          l += double(t.d_o[1 + h * p.o.h + i * p.o.s + d]) *
               r.o[(h * p.seq_q + i) * p.head_dim + d];
    return l;
  };
  auto fd = [&](std::vector<float>& x, int64_t idx) {
    const float x0 = x[1 + idx];
    x[1 + idx] = x0 + 1e-3f;
    const double hi = x[1 + idx], lp = loss();
    x[1 + idx] = x0 - 1e-3f;
    const double lo = x[1 + idx], lm = loss();
    x[1 + idx] = x0;
    return (lp - lm) / (hi - lo);
  };
  double worst = 0, scale = 0;
  for (int64_t i = 0; i < int64_t(g.dq.size()); ++i)
    worst = std::max(worst, std::abs(fd(t.q, i) - g.dq[i])),
    scale = std::max(scale, std::abs(g.dq[i]));
  for (int64_t i = 0; i < int64_t(g.dk.size()); ++i) {
    worst = std::max(worst, std::abs(fd(t.k, i) - g.dk[i]));
    worst = std::max(worst, std::abs(fd(t.v, i) - g.dv[i]));
    scale = std::max({scale, std::abs(g.dk[i]), std::abs(g.dv[i])});
  }
  EXPECT_LE(worst / scale, 1e-5);
}

// Rows that see no key (causal, seq_q > seq_kv): O = 0, LSE = -inf, zero dQ, never NaN.
TEST(AttentionForward, FullyMaskedRowsAreDefined) {
  const Problem p = make({1, 1, 1, 9, 4, 64, true}, Pass::fwd, Dtype::f32);
  for (const char* name : {"attention/cpu/flash/fwd/f32", "attention/cpu/flash/fwd/bf16",
                           "attention/cpu/composed/fwd/f32"}) {
    const Variant* v = find(name);
    Problem pp = p;
    pp.dtype = v->info().dtype;
    Tensors t(pp, 5);
    std::unique_ptr<Variant::Plan> plan;
    ASSERT_TRUE(v->make_plan(pp, v->default_config(pp), &plan).ok());
    Operands ops = t.ops(pp.dtype);
    ASSERT_TRUE(plan->run(ops).ok());
    for (int i = 0; i < 5; ++i) {
      EXPECT_TRUE(std::isinf(ops.lse[i]) && ops.lse[i] < 0) << name << " row " << i;
      for (int d = 0; d < 64; ++d) EXPECT_EQ(ops.o[i * 64 + d], 0.0f) << name;
    }
    for (int i = 5; i < 9; ++i) EXPECT_TRUE(std::isfinite(ops.lse[i])) << name;
  }
}

TEST(AttentionContract, InvalidDescriptorsAreRejected) {
  Problem ok = Problem::dense(Pass::fwd, Dtype::f32, 1, 8, 2, 16, 16, 64, false);
  EXPECT_TRUE(validate(ok).ok());
  auto bad = [&](auto mutate, StatusCode code, const char* needle) {
    Problem p = ok;
    mutate(p);
    Status s = validate(p);
    EXPECT_EQ(s.code(), code) << needle;
    EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
  };
  bad([](Problem& p) { p.kv_heads = 3; }, StatusCode::kInvalidArgument, "multiple of kv_heads");
  bad([](Problem& p) { p.seq_q = -1; }, StatusCode::kInvalidArgument, "seq_q");
  bad([](Problem& p) { p.head_dim = 0; }, StatusCode::kInvalidArgument, "head_dim");
  bad([](Problem& p) { p.heads = 0; }, StatusCode::kInvalidArgument, "heads");
  bad([](Problem& p) { p.scale = std::nanf(""); }, StatusCode::kInvalidArgument, "scale");
  bad([](Problem& p) { p.k.s = -5; }, StatusCode::kInvalidArgument, "negative stride");
  bad([](Problem& p) { p.batch = 4, p.q.b = int64_t{1} << 62; }, StatusCode::kInvalidArgument,
      "overflow");
  bad([](Problem& p) { p.o.d = 0; }, StatusCode::kInvalidArgument, "zero");
  bad([](Problem& p) { p.dtype = Dtype::f64; }, StatusCode::kUnsupported, "dtype");

  const Variant* v = find("attention/cpu/flash/fwd/f32");
  EXPECT_EQ(v->can_implement(Json{{"br", 8}, {"bc", 64}, {"threads", 1}}, ok).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(v->can_implement(Json{{"br", 64}, {"bc", 64}, {"threads", 0}}, ok).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(v->can_implement(Json("not an object"), ok).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(v->can_implement(v->default_config(ok),
                             Problem::dense(Pass::bwd, Dtype::f32, 1, 1, 1, 4, 4, 64, false))
                .code(),
            StatusCode::kUnsupported);
  // Tiles too big for L2 are refused with a reason, not run slowly.
  Problem big = ok;
  big.head_dim = 4096;
  big.q = big.o = Problem::dense(Pass::fwd, Dtype::f32, 1, 8, 2, 16, 16, 4096, false).q;
  big.k = big.v = Problem::dense(Pass::fwd, Dtype::f32, 1, 8, 2, 16, 16, 4096, false).k;
  Status s = v->can_implement(Json{{"br", 512}, {"bc", 512}, {"threads", 1}}, big);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("L2"), std::string::npos) << s.message();
  // A plan refuses null pointers instead of crashing.
  std::unique_ptr<Variant::Plan> plan;
  ASSERT_TRUE(v->make_plan(ok, v->default_config(ok), &plan).ok());
  EXPECT_EQ(plan->run(Operands{}).code(), StatusCode::kInvalidArgument);
}

// The C API: a user's BSHD problem through perfcal_attention_forward/backward.
TEST(AttentionCApi, ForwardBackwardAndErrors) {
  const Shape s{2, 4, 2, 23, 41, 64, true, Layout::bshd};
  const Problem p = make(s, Pass::bwd, Dtype::f32);
  Tensors t(p, 11);
  perfcal_attention_desc d = {};
  d.batch = p.batch, d.heads = p.heads, d.kv_heads = p.kv_heads;
  d.seq_q = p.seq_q, d.seq_kv = p.seq_kv, d.head_dim = p.head_dim;
  auto put = [](int64_t* dst, const Strides& st) {
    dst[0] = st.b, dst[1] = st.h, dst[2] = st.s, dst[3] = st.d;
  };
  put(d.q_strides, p.q), put(d.k_strides, p.k), put(d.v_strides, p.v), put(d.o_strides, p.o);
  d.dtype = PERFCAL_ATTN_F32;
  d.causal = 1;
  d.scale = 0;  // default 1/sqrt(head_dim)
  Operands in = t.ops(Dtype::f32);
  ASSERT_EQ(perfcal_attention_forward(&d, in.q, in.k, in.v, in.o, in.lse), PERFCAL_ATTN_OK)
      << perfcal_attention_last_error();
  const FwdRef fr = ref_fwd(p, in);
  EXPECT_LE(tensor_error(p, in.o, p.o, p.heads, p.seq_q, fr.o), fp32_bound(p));
  ASSERT_EQ(
      perfcal_attention_backward(&d, in.q, in.k, in.v, in.o, in.lse, in.d_o, in.dq, in.dk, in.dv),
      PERFCAL_ATTN_OK)
      << perfcal_attention_last_error();
  const BwdRef br = ref_bwd(p, in);
  EXPECT_LE(tensor_error(p, in.dq, p.q, p.heads, p.seq_q, br.dq), 4 * fp32_bound(p));
  EXPECT_LE(tensor_error(p, in.dk, p.k, p.kv_heads, p.seq_kv, br.dk), 4 * fp32_bound(p));

  perfcal_attention_desc bad = d;
  bad.kv_heads = 3;
  EXPECT_EQ(perfcal_attention_forward(&bad, in.q, in.k, in.v, in.o, in.lse),
            PERFCAL_ATTN_INVALID_ARGUMENT);
  EXPECT_NE(std::string(perfcal_attention_last_error()).find("kv_heads"), std::string::npos);
  EXPECT_EQ(perfcal_attention_forward(nullptr, in.q, in.k, in.v, in.o, in.lse),
            PERFCAL_ATTN_INVALID_ARGUMENT);
  EXPECT_EQ(perfcal_attention_forward(&d, nullptr, in.k, in.v, in.o, in.lse),
            PERFCAL_ATTN_INVALID_ARGUMENT);
  bad = d;
  bad.dtype = 77;
  EXPECT_EQ(perfcal_attention_forward(&bad, in.q, in.k, in.v, in.o, in.lse),
            PERFCAL_ATTN_INVALID_ARGUMENT);
  EXPECT_STRNE(perfcal_attention_status_string(PERFCAL_ATTN_UNSUPPORTED), "");
}

}  // namespace
}  // namespace perfcal::attention
