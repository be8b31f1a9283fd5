// Exhaustive: every valid point in index order. The ground truth other strategies are
// compared against on recorded caches; only practical for small or pinned spaces.
#include "tuner/strategy.h"

namespace perfcal::tuner {
namespace {

class Exhaustive : public Strategy {
 public:
  std::string name() const override { return "exhaustive"; }
  void search(Evaluator& eval, uint64_t) override {
    for (uint64_t i : eval.target().space.valid_indices())
      if (!eval.evaluate(i)) return;
  }
};

}  // namespace

std::unique_ptr<Strategy> make_exhaustive() { return std::make_unique<Exhaustive>(); }

}  // namespace perfcal::tuner
