// Helpers for the tuner tests: a synthetic target (a small grid with a known cost surface)
// and a measurer that serves it, counting what was really measured.
#pragma once
#include <cmath>
#include <functional>
#include <random>
#include <string>

#include "tuner/evaluator.h"

namespace perfcal::tuner::testing {

// Grid x in {0..7}, y in {0..7}, z in {"a","b"}; x + y > 11 is invalid (116 valid points). Time is a bowl
// with its minimum at (5, 2, "b"), 9 repetitions with 0.5% deterministic jitter.
inline Target bowl_target() {
  Target t;
  t.variant = "test/bowl";
  t.dtype = "f32";
  t.fingerprint = "test-cpu";
  t.problem = {{"m", 8}};
  SearchSpace sp = {{"x", {0, 1, 2, 3, 4, 5, 6, 7}}, {"y", {0, 1, 2, 3, 4, 5, 6, 7}}, {"z", {"a", "b"}}};
  t.default_config = {{"x", 0}, {"y", 0}, {"z", "a"}};
  t.space = Space(sp, Json::object(), [](const Json& c) {
    return c["x"].get<int>() + c["y"].get<int>() > 11 ? Status::Invalid("x + y must be <= 11")
                                                        : Status::Ok();
  });
  return t;
}

inline double bowl_time(const Json& c) {
  const double x = c["x"].get<int>(), y = c["y"].get<int>();
  return 1e-3 * (1.0 + 0.05 * ((x - 5) * (x - 5) + (y - 2) * (y - 2)) + (c["z"] == "b" ? 0 : 0.02));
}

class FakeMeasurer : public Measurer {
 public:
  explicit FakeMeasurer(std::function<double(const Json&)> f, double jitter = 0.005)
      : f_(std::move(f)), jitter_(jitter) {}
  Evaluation measure(const Json& config) override {
    ++calls;
    Evaluation e;
    e.config = config;
    if (incorrect && incorrect(config)) {
      e.outcome = "incorrect";
      e.error = "wrong by design";
      return e;
    }
    std::mt19937_64 rng(std::hash<std::string>{}(config.dump()));
    std::uniform_real_distribution<double> u(-jitter_, jitter_);
    const double t = f_(config);
    for (int r = 0; r < 9; ++r) e.times_s.push_back(t * (1 + u(rng)));
    e.outcome = "passed";
    summarize(&e);
    return e;
  }
  int calls = 0;
  std::function<bool(const Json&)> incorrect;

 private:
  std::function<double(const Json&)> f_;
  double jitter_;
};

}  // namespace perfcal::tuner::testing
