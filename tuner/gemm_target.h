// GEMM as a tuning target: the space, default and model of a registered GEMM variant on one
// m x n x k problem, and the real measurer (seeded random inputs, sampled float64
// reference check, Google Benchmark timing).
#pragma once
#include <memory>
#include <string>

#include "gemm/gemm.h"
#include "profile/profile.h"
#include "tuner/evaluator.h"
#include "tuner/timing.h"
#include "tuner/tune.h"

namespace perfcal::tuner {

// perfcal's own tunable CPU GEMM for `dtype` that this CPU runs best (the ISA the C API
// dispatches to); null with *why when none.
const gemm::Variant* pick_gemm_variant(Dtype dtype, std::string* why);

// The dense column-major problem of a tuned shape (its transposes included; beta = 0).
gemm::Problem gemm_problem(Dtype dtype, const Shape& s);

// Target for `v` on gemm_problem(s). The search space is the variant's, filtered by its
// can_implement on that problem (so, e.g., B read in place only where B's columns are
// contiguous in k). `prof` (optional) supplies the measured peaks for the cost model.
Target gemm_target(const gemm::Variant& v, const Shape& s, const profile::Profile* prof);

class GemmMeasurer : public Measurer {
 public:
  GemmMeasurer(const gemm::Variant& v, const gemm::Problem& p, TimingOptions timing,
               uint64_t seed = 42);
  Evaluation measure(const Json& config) override;
  // Seconds one verification run may take before the candidate is recorded as a timeout
  // and not timed (0 = no limit). The driver sets it from the default's time.
  void set_time_limit(double seconds) override { time_limit_s_ = seconds; }

 private:
  const gemm::Variant& v_;
  gemm::Problem p_;
  TimingOptions timing_;
  std::vector<float> a32_, b32_;
  std::vector<uint16_t> a16_, b16_;
  std::vector<float> c_;
  struct Sample {
    int64_t i, j;
    double ref, bound;
  };
  std::vector<Sample> samples_;
  double time_limit_s_ = 0;
};

}  // namespace perfcal::tuner
