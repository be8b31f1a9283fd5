// Random: valid points without replacement in a seeded order; the baseline a smarter
// strategy must beat at equal budget.
#include <algorithm>
#include <random>

#include "tuner/strategy.h"

namespace perfcal::tuner {
namespace {

class RandomSearch : public Strategy {
 public:
  std::string name() const override { return "random"; }
  void search(Evaluator& eval, uint64_t seed) override {
    std::vector<uint64_t> order = eval.target().space.valid_indices();
    std::mt19937_64 rng(seed);
    std::shuffle(order.begin(), order.end(), rng);
    for (uint64_t i : order)
      if (!eval.evaluate(i)) return;
  }
};

}  // namespace

std::unique_ptr<Strategy> make_random() { return std::make_unique<RandomSearch>(); }

}  // namespace perfcal::tuner
