// One evaluation of one candidate config, and the measurers that produce them: the real
// one (verify against the family's float64 reference, then time with the benchmarks' code)
// and the simulated one that replays a recorded tuning cache without the hardware.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace perfcal::tuner {

using Json = nlohmann::json;

// Outcome vocabulary of CONVENTIONS 9. Only "passed" evaluations are ever ranked.
inline constexpr const char* kOutcomes[] = {"passed",      "incorrect",      "failed",
                                            "unsupported", "invalid_config", "timeout"};

struct Evaluation {
  Json config = Json::object();
  std::string outcome = "failed";
  std::string error;
  std::vector<double> times_s;  // seconds per repetition, in run order
  double median_s = 0, min_s = 0, max_s = 0, cv = 0;
  std::optional<double> max_rel_error;  // sampled error / tolerance bound (<= 1 passes)
  bool from_cache = false;              // not measured in this run
  bool is_default = false;              // the variant's default config for this problem
  double cost_s = 0;                    // wall time spent evaluating it here

  bool passed() const { return outcome == "passed" && median_s > 0; }
};

// Fills median/min/max/cv from times_s with the benchmarks' statistics (bench::time_stats).
void summarize(Evaluation* e);

class Measurer {
 public:
  virtual ~Measurer() = default;
  // Verifies then times `config` (already checked against the space). Never throws.
  virtual Evaluation measure(const Json& config) = 0;
  // True when evaluations come from a recording (no hardware time is spent).
  virtual bool simulated() const { return false; }
  // Seconds one run may take before a candidate is recorded as a timeout (0 = no limit).
  virtual void set_time_limit(double) {}
};

}  // namespace perfcal::tuner
