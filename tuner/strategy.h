// Search strategies: one interface, one file each (strategy_<name>.cpp).
//   exhaustive  every valid point in index order (ground truth for small spaces)
//   random      valid points in a seeded random order
//   annealing   simulated annealing over one-field-one-step neighbours
//   model       rank every valid point with the target's cost model, measure the top few,
//               then hill-climb from the best measured point through its neighbours
// Strategies propose; the Evaluator measures, caches and enforces the budget, so a strategy
// just stops when evaluate() returns null.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tuner/evaluator.h"

namespace perfcal::tuner {

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string name() const = 0;
  virtual void search(Evaluator& eval, uint64_t seed) = 0;
};

std::unique_ptr<Strategy> make_exhaustive();
std::unique_ptr<Strategy> make_random();
std::unique_ptr<Strategy> make_annealing();
std::unique_ptr<Strategy> make_model_guided();

// By name; null when unknown.
std::unique_ptr<Strategy> make_strategy(const std::string& name);
std::vector<std::string> strategy_names();

// Valid points ranked by the target's model (best first), the default-first model when the
// target has none. Ties keep index order so the ranking is deterministic.
std::vector<uint64_t> rank_by_model(const Target& t);

}  // namespace perfcal::tuner
