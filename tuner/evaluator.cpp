#include "tuner/evaluator.h"

#include <limits>

namespace perfcal::tuner {

Evaluator::Evaluator(const Target& target, Measurer* measurer, Cache* cache, Budget budget)
    : target_(target), measurer_(measurer), cache_(cache), budget_(budget) {}

bool Evaluator::exhausted() const {
  if (budget_.max_evaluations > 0 && count_ >= budget_.max_evaluations) return true;
  if (budget_.max_seconds > 0 && spent_s_ >= budget_.max_seconds) return true;
  return false;
}

Evaluation Evaluator::run(const Json& config, bool is_default) {
  CacheKey key{target_.fingerprint, library_versions(), target_.variant, target_.dtype,
               target_.problem, config};
  Evaluation e;
  if (const Evaluation* hit = cache_ ? cache_->find(key) : nullptr) {
    e = *hit;
    e.from_cache = true;
  } else {
    const auto t0 = std::chrono::steady_clock::now();
    e = measurer_->measure(config);
    e.config = config;
    e.cost_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!measurer_->simulated()) spent_s_ += e.cost_s;
    e.is_default = is_default;
    ++measured_;
    // A cache that cannot be written is not worth stopping a tuning for: the result is
    // still used; the driver reports the first write error once (Cache::write_error).
    if (cache_) (void)cache_->append(key, e);
  }
  e.is_default = is_default;
  ++count_;
  if (e.passed()) ++passed_;
  return e;
}

const Evaluation* Evaluator::evaluate_default() {
  if (default_) return &*default_;
  // The default is measured even on an exhausted budget: every result is relative to it.
  default_ = run(target_.default_config, true);
  if (auto idx = target_.space.index_of(target_.default_config)) by_index_.emplace(*idx, *default_);
  if (on_progress) {
    Progress p{count_, passed_, spent_s_, best() ? best()->median_s : 0,
               default_->passed() ? default_->median_s : 0};
    on_progress(p);
  }
  return &*default_;
}

const Evaluation* Evaluator::evaluate(uint64_t index) {
  if (auto it = by_index_.find(index); it != by_index_.end()) return &it->second;
  if (exhausted()) return nullptr;
  Evaluation e = run(target_.space.config_at(index), false);
  const Evaluation* out = &by_index_.emplace(index, std::move(e)).first->second;
  if (on_progress) {
    Progress p{count_, passed_, spent_s_, best() ? best()->median_s : 0,
               default_ && default_->passed() ? default_->median_s : 0};
    on_progress(p);
  }
  return out;
}

const Evaluation* Evaluator::best() const {
  const Evaluation* b = nullptr;
  for (const auto& [i, e] : by_index_)
    if (e.passed() && (!b || e.median_s < b->median_s)) b = &e;
  if (default_ && default_->passed() && (!b || default_->median_s < b->median_s)) b = &*default_;
  return b;
}

double Evaluator::score(uint64_t index) const {
  auto it = by_index_.find(index);
  if (it == by_index_.end() || !it->second.passed()) return std::numeric_limits<double>::infinity();
  return it->second.median_s;
}

}  // namespace perfcal::tuner
