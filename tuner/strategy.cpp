#include "tuner/strategy.h"

#include <algorithm>
#include <numeric>

namespace perfcal::tuner {

std::unique_ptr<Strategy> make_strategy(const std::string& name) {
  if (name == "exhaustive") return make_exhaustive();
  if (name == "random") return make_random();
  if (name == "annealing") return make_annealing();
  if (name == "model") return make_model_guided();
  return nullptr;
}

std::vector<std::string> strategy_names() { return {"exhaustive", "random", "annealing", "model"}; }

std::vector<uint64_t> rank_by_model(const Target& t) {
  const std::vector<uint64_t>& valid = t.space.valid_indices();
  std::shared_ptr<const model::CostModel> m = t.model;
  if (!m) m = model::default_first_model(t.default_config);
  std::vector<std::pair<double, uint64_t>> scored;
  scored.reserve(valid.size());
  for (uint64_t i : valid) scored.emplace_back(m->predict_seconds(t.space.config_at(i)), i);
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<uint64_t> out;
  out.reserve(scored.size());
  for (const auto& s : scored) out.push_back(s.second);
  return out;
}

}  // namespace perfcal::tuner
