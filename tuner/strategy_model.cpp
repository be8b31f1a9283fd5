// Model-guided: rank every valid point with the target's analytical cost model (no
// measurement), measure the top few, then refine by local search: from the best measured
// point, measure its unevaluated neighbours in model order and move whenever one is faster;
// stop at a local optimum or the budget. The model needs only to order candidates roughly:
// measurement corrects it locally.
#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "tuner/strategy.h"

namespace perfcal::tuner {
namespace {

class ModelGuided : public Strategy {
 public:
  std::string name() const override { return "model"; }
  void search(Evaluator& eval, uint64_t) override {
    const Target& t = eval.target();
    const std::vector<uint64_t> ranked = rank_by_model(t);
    if (ranked.empty()) return;
    std::map<uint64_t, std::size_t> rank;
    for (std::size_t r = 0; r < ranked.size(); ++r) rank[ranked[r]] = r;

    // Opening: the model's top points plus, for every value of every field, the best-ranked
    // point having that value. The model is trusted for the order, not for every field: when
    // it misjudges one choice (a micro-kernel shape that runs slower than its register use
    // predicts) the coverage still measures the alternatives. Capped at half the evaluation
    // budget (8 to 32 points without one) so local search keeps the rest.
    std::vector<uint64_t> opening;
    std::set<uint64_t> seen;
    auto take = [&](uint64_t i) {
      if (seen.insert(i).second) opening.push_back(i);
    };
    for (std::size_t r = 0; r < std::min<std::size_t>(ranked.size(), 4); ++r) take(ranked[r]);
    const SearchSpace& params = t.space.params();
    std::vector<uint64_t> coverage;
    for (std::size_t f = 0; f < params.size(); ++f) {
      if (params[f].values.size() < 2) continue;
      std::vector<bool> covered(params[f].values.size(), false);
      for (uint64_t i : ranked) {
        const int d = t.space.digits(i)[f];
        if (!covered[d]) covered[d] = true, coverage.push_back(i);
      }
    }
    std::sort(coverage.begin(), coverage.end(), [&](uint64_t a, uint64_t b) { return rank[a] < rank[b]; });
    for (uint64_t i : coverage) take(i);
    std::size_t cap = std::clamp<std::size_t>(ranked.size() / 100, 8, 32);
    if (eval.max_evaluations() > 0) cap = std::max<std::size_t>(4, eval.max_evaluations() / 2);
    const std::size_t top = std::min(cap, opening.size());
    for (std::size_t r = 0; r < top; ++r)
      if (!eval.evaluate(opening[r])) return;

    auto best_index = [&]() -> std::optional<uint64_t> {
      std::optional<uint64_t> b;
      for (const auto& [i, e] : eval.results())
        if (e.passed() && (!b || e.median_s < eval.score(*b))) b = i;
      return b;
    };
    // Hill-climb from the best measured point; when its neighbourhood is exhausted without
    // improvement, continue down the model's ranking (the next-best prediction).
    std::size_t next_ranked = 0;
    while (!eval.exhausted()) {
      std::optional<uint64_t> cur = best_index();
      bool moved = false;
      if (cur) {
        std::vector<uint64_t> nb = t.space.neighbors(*cur);
        std::sort(nb.begin(), nb.end(), [&](uint64_t a, uint64_t b) { return rank[a] < rank[b]; });
        const double before = eval.score(*cur);
        for (uint64_t n : nb) {
          if (eval.evaluated(n)) continue;
          if (!eval.evaluate(n)) return;
          if (eval.score(n) < before) {
            moved = true;
            break;  // first improvement: re-centre on it
          }
        }
      }
      if (moved) continue;
      while (next_ranked < ranked.size() && eval.evaluated(ranked[next_ranked])) ++next_ranked;
      if (next_ranked >= ranked.size()) return;  // everything measured
      if (!eval.evaluate(ranked[next_ranked++])) return;
    }
  }
};

}  // namespace

std::unique_ptr<Strategy> make_model_guided() { return std::make_unique<ModelGuided>(); }

}  // namespace perfcal::tuner
