// Attention as a tuning target: the space, default and model of a registered fused attention
// variant (attention/cpu/flash/<pass>/<dtype>) on one problem, and the real measurer (seeded
// random inputs made once, sampled float64 reference rows, the benchmarks' timing).
//
//   perfcal tune --kernel attention --dtype f32 --shapes 1x8x2048x128/causal,1x8x2048x128/bwd
#pragma once
#include <memory>
#include <string>

#include "attention/attention.h"
#include "attention_check.h"
#include "model/attention_cpu_model.h"
#include "profile/profile.h"
#include "tuner/evaluator.h"
#include "tuner/timing.h"
#include "tuner/tune.h"

namespace perfcal::tuner {

// attention/cpu/flash/<fwd|bwd>/<dtype>: the name the attention C API looks up.
std::string attention_variant_name(bool backward, const std::string& dtype);

// The dense BHSD problem of a tuning shape (seq_q = seq_kv, scale 1/sqrt(head_dim)).
attention::Problem attention_problem(const AttentionShape& s, Dtype dtype);

// The cost model's view of a tuning shape (model/attention_cpu_model.h).
model::AttentionShape attention_model_shape(const AttentionShape& s, const std::string& dtype);

// Target for `v` on `s` (its pass and dtype are the variant's). `prof` (optional) supplies the
// measured peaks for the cost model.
Target attention_target(const attention::Variant& v, const AttentionShape& s,
                        const profile::Profile* prof);

class AttentionMeasurer : public Measurer {
 public:
  // Makes the inputs once. Backward: O and LSE come from the fused forward of the same dtype
  // with its default config, also once (every candidate reads the same forward).
  AttentionMeasurer(const attention::Variant& v, const attention::Problem& p, TimingOptions timing,
                    uint64_t seed = 42);
  Evaluation measure(const Json& config) override;
  void set_time_limit(double seconds) override { time_limit_s_ = seconds; }

 private:
  const attention::Variant& v_;
  attention::Problem p_;
  TimingOptions timing_;
  uint64_t seed_;
  bench::AttentionInputs in_;
  std::string setup_error_;  // inputs or the backward's forward failed: every candidate fails
  double time_limit_s_ = 0;
};

}  // namespace perfcal::tuner
