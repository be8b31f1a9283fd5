// What a strategy searches and the one door it measures through.
//
// A Target is one (variant, dtype, problem) with its space, default config and cost model.
// The Evaluator wraps a Measurer with the tuning cache (cached configs are served, not
// re-measured: an interrupted tuning resumes), the budget (evaluations and/or seconds) and
// the progress line. Strategies only propose space indices; the Evaluator records everything.
#pragma once
#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/cost_model.h"
#include "tuner/cache.h"
#include "tuner/evaluation.h"
#include "tuner/space.h"

namespace perfcal::tuner {

struct Target {
  std::string variant, dtype, device = "cpu:0";
  std::string fingerprint;              // device fingerprint for cache keys
  Json problem = Json::object();        // named sizes, e.g. {"m":..,"n":..,"k":..}
  double flops = 0;                     // per run, for GFLOP/s
  Space space;
  Json default_config = Json::object();
  std::shared_ptr<const model::CostModel> model;  // null: default-first ranking
};

struct Budget {
  int64_t max_evaluations = 0;  // 0 = unlimited
  double max_seconds = 0;       // 0 = unlimited; wall time spent measuring (not replaying)
};

struct Progress {
  int64_t evaluations = 0, passed = 0;
  double elapsed_s = 0;
  double best_median_s = 0, default_median_s = 0;
};

class Evaluator {
 public:
  Evaluator(const Target& target, Measurer* measurer, Cache* cache, Budget budget);

  // Evaluates space point `index` (once: repeats return the first result). Returns null
  // when the budget is exhausted before it could be evaluated.
  const Evaluation* evaluate(uint64_t index);
  // The default config, which may lie outside the space grid; evaluated first by the driver.
  const Evaluation* evaluate_default();

  bool exhausted() const;
  // Takes `evaluations` and `seconds` off the budget for measurements after the search (the
  // driver's paired re-measurement), leaving the search at least half of each limit.
  void reserve(int64_t evaluations, double seconds) {
    if (budget_.max_evaluations > 0)
      budget_.max_evaluations = std::max(budget_.max_evaluations - evaluations,
                                         (budget_.max_evaluations + 1) / 2);
    if (budget_.max_seconds > 0)
      budget_.max_seconds = std::max(budget_.max_seconds - seconds, budget_.max_seconds / 2);
  }
  // Evaluations the budget allows in all (0 = no evaluation limit).
  int64_t max_evaluations() const { return budget_.max_evaluations; }
  bool evaluated(uint64_t index) const { return by_index_.count(index) != 0; }
  const std::map<uint64_t, Evaluation>& results() const { return by_index_; }
  const Evaluation* default_result() const { return default_ ? &*default_ : nullptr; }
  // Fastest passed evaluation so far (null if none).
  const Evaluation* best() const;
  int64_t evaluations() const { return count_; }
  int64_t measured() const { return measured_; }  // not served from the cache
  const Target& target() const { return target_; }
  // Time for strategies that rank by measured time: median, or +inf unless passed.
  double score(uint64_t index) const;

  std::function<void(const Progress&)> on_progress;

 private:
  Evaluation run(const Json& config, bool is_default);
  Target const& target_;
  Measurer* measurer_;
  Cache* cache_;
  Budget budget_;
  std::map<uint64_t, Evaluation> by_index_;
  std::optional<Evaluation> default_;
  int64_t count_ = 0, measured_ = 0, passed_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  double spent_s_ = 0;
};

}  // namespace perfcal::tuner
