// Simulated annealing over the one-field-one-step neighbourhood. Starts at the default's
// grid point (or a random valid one), accepts a slower neighbour with probability
// exp(-(t_new / t_cur - 1) / T), cools geometrically, and restarts from a random valid point
// when every neighbour of the current one has been tried.
#include <cmath>
#include <random>

#include "tuner/strategy.h"

namespace perfcal::tuner {
namespace {

class Annealing : public Strategy {
 public:
  std::string name() const override { return "annealing"; }
  void search(Evaluator& eval, uint64_t seed) override {
    const Space& space = eval.target().space;
    const std::vector<uint64_t>& valid = space.valid_indices();
    if (valid.empty()) return;
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u01(0, 1);
    auto random_point = [&] { return valid[rng() % valid.size()]; };
    uint64_t cur = random_point();
    if (auto d = space.index_of(eval.target().default_config); d && space.valid(*d)) cur = *d;
    if (!eval.evaluate(cur)) return;
    // Temperature in relative slowdown: 0.1 accepts a 10% slower point with p = 1/e early.
    double temp = 0.1;
    const double cooling = 0.97;
    int64_t stale = 0;
    while (!eval.exhausted() && stale < int64_t(valid.size())) {
      std::vector<uint64_t> fresh;
      for (uint64_t n : space.neighbors(cur))
        if (!eval.evaluated(n)) fresh.push_back(n);
      if (fresh.empty()) {
        // Local neighbourhood done: jump to an unevaluated random point.
        uint64_t j = random_point();
        int tries = 0;
        while (eval.evaluated(j) && tries++ < 64) j = random_point();
        if (eval.evaluated(j)) {
          ++stale;
          continue;
        }
        if (!eval.evaluate(j)) return;
        cur = j;
        continue;
      }
      const uint64_t next = fresh[rng() % fresh.size()];
      if (!eval.evaluate(next)) return;
      const double tc = eval.score(cur), tn = eval.score(next);
      if (tn < tc || (std::isfinite(tn) && u01(rng) < std::exp(-(tn / tc - 1.0) / temp)))
        cur = next;
      temp = std::max(1e-4, temp * cooling);
    }
  }
};

}  // namespace

std::unique_ptr<Strategy> make_annealing() { return std::make_unique<Annealing>(); }

}  // namespace perfcal::tuner
