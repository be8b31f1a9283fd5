#include "tuner/attention_target.h"

#include <chrono>
#include <cmath>
#include <limits>

#include "core/tuned.h"
#include "model/attention_cpu_model.h"

namespace perfcal::tuner {

std::string attention_variant_name(bool backward, const std::string& dtype) {
  return std::string("attention/cpu/flash/") + (backward ? "bwd" : "fwd") + "/" + dtype;
}

attention::Problem attention_problem(const AttentionShape& s, Dtype dtype) {
  return attention::Problem::dense(s.backward ? attention::Pass::bwd : attention::Pass::fwd, dtype,
                                   s.batch, s.heads, s.kv_heads, s.seq, s.seq, s.head_dim,
                                   s.causal);
}

model::AttentionShape attention_model_shape(const AttentionShape& s, const std::string& dtype) {
  model::AttentionShape m;
  m.batch = s.batch, m.heads = s.heads, m.kv_heads = s.kv_heads;
  m.seq_q = m.seq_kv = s.seq, m.head_dim = s.head_dim;
  m.causal = s.causal, m.backward = s.backward;
  m.elem_bytes = dtype == "bf16" ? 2 : 4;
  return m;
}

Target attention_target(const attention::Variant& v, const AttentionShape& s,
                        const profile::Profile* prof) {
  const attention::Problem p = attention_problem(s, v.info().dtype);
  Target t;
  t.variant = v.name();
  t.dtype = to_string(v.info().dtype);
  t.device = "cpu:0";
  t.fingerprint = tuned::cpu_fingerprint();
  t.problem = s.problem();
  t.flops = attention::flops(p);
  t.default_config = v.default_config(p);
  const attention::Variant* vp = &v;
  // The variant's own space and its can_implement: the tuner keeps no second list.
  t.space = Space(v.search_space(p), t.default_config,
                  [vp, p](const Json& c) { return vp->can_implement(c, p); });
  t.model = model::attention_cpu_model(attention_model_shape(s, t.dtype),
                                       model::CpuMachine::discover(prof));
  return t;
}

AttentionMeasurer::AttentionMeasurer(const attention::Variant& v, const attention::Problem& p,
                                     TimingOptions timing, uint64_t seed)
    : v_(v), p_(p), timing_(timing), seed_(seed) {
  if (!bench::make_attention_inputs(p_, seed_, &in_)) {
    setup_error_ = "cannot allocate the attention inputs";
    return;
  }
  if (p_.pass == attention::Pass::bwd) {
    // The backward reads the forward's O and LSE: computed once by the fused forward of the
    // same dtype (the bench does the same), then shared by every candidate.
    attention::Problem pf = p_;
    pf.pass = attention::Pass::fwd;
    const auto* fwd =
        attention::Registry::instance().find(attention_variant_name(false, to_string(p_.dtype)));
    if (!fwd) {
      setup_error_ = "no fused forward variant to produce O and LSE";
      return;
    }
    std::unique_ptr<attention::Variant::Plan> plan;
    Status s = fwd->make_plan(pf, fwd->default_config(pf), &plan);
    if (s.ok()) s = plan->run(in_.ops);
    if (!s.ok()) setup_error_ = "the forward for O and LSE failed: " + s.message();
  }
}

Evaluation AttentionMeasurer::measure(const Json& config) {
  Evaluation e;
  e.config = config;
  if (!setup_error_.empty()) {
    e.error = setup_error_;
    return e;  // "failed"
  }
  auto from_status = [&](const Status& s) {
    e.outcome = s.code() == StatusCode::kUnsupported       ? "unsupported"
                : s.code() == StatusCode::kInvalidArgument ? "invalid_config"
                                                           : "failed";
    e.error = s.message();
    return e;
  };
  std::unique_ptr<attention::Variant::Plan> plan;
  if (Status s = v_.make_plan(p_, config, &plan); !s.ok()) return from_status(s);

  // Verify on the tuned problem before timing (CONVENTIONS 9). The outputs start as NaN so
  // an element the kernel never writes cannot pass; any NaN/Inf left is incorrect.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<std::pair<float*, int64_t>> outs;
  if (p_.pass == attention::Pass::fwd)
    outs = {{in_.ops.o, attention::o_elements(p_)}, {in_.ops.lse, attention::lse_elements(p_)}};
  else
    outs = {{in_.ops.dq, attention::q_elements(p_)},
            {in_.ops.dk, attention::kv_elements(p_, p_.k)},
            {in_.ops.dv, attention::kv_elements(p_, p_.v)}};
  for (auto [x, n] : outs) std::fill(x, x + n, nan);
  const auto t0 = std::chrono::steady_clock::now();
  if (Status s = plan->run(in_.ops); !s.ok()) {
    from_status(s);
    e.outcome = "failed";
    return e;
  }
  const double once = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (std::size_t t = 0; t < outs.size(); ++t) {
    const auto [x, n] = outs[t];
    const bool lse = p_.pass == attention::Pass::fwd && t == 1;
    for (int64_t i = 0; i < n; ++i) {
      // Dense LSE [b][h][sq]: a row that sees no key is -inf by contract.
      if (lse && std::isinf(x[i]) && x[i] < 0 && p_.key_end(i % p_.seq_q) == 0) continue;
      if (!std::isfinite(x[i])) {
        static const char* names[2][3] = {{"O", "LSE", ""}, {"dQ", "dK", "dV"}};
        e.outcome = "incorrect";
        e.error = std::string(names[p_.pass == attention::Pass::bwd][t]) + " element " +
                  std::to_string(i) + " not finite";
        e.max_rel_error = std::numeric_limits<double>::infinity();
        return e;
      }
    }
  }
  // Sampled float64 reference rows, the bench's check and tolerance (bench/attention_check.h).
  const double err = bench::verify_attention(p_, in_.ops, seed_);
  const double tol = bench::attention_tolerance(p_);
  e.max_rel_error = err / tol;
  if (!(err <= tol)) {
    e.outcome = "incorrect";
    e.error = "sampled error " + std::to_string(err) + " > tolerance " + std::to_string(tol);
    return e;
  }
  if (time_limit_s_ > 0 && once > time_limit_s_) {
    e.outcome = "timeout";
    e.error = "one run took " + std::to_string(once) + " s (limit " +
              std::to_string(time_limit_s_) + " s)";
    return e;
  }
  std::string terr;
  e.times_s = time_repetitions(
      v_.name() + "/tune", [&] { return plan->run(in_.ops); }, timing_, &terr);
  if (e.times_s.empty()) {
    e.outcome = "failed";
    e.error = terr.empty() ? "no timed repetitions" : terr;
    return e;
  }
  e.outcome = "passed";
  summarize(&e);
  return e;
}

}  // namespace perfcal::tuner
