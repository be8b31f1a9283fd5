#include "tuner/space.h"

#include <algorithm>

namespace perfcal::tuner {

Space::Space(SearchSpace params, Json base, Validity valid)
    : params_(std::move(params)), base_(std::move(base)), valid_(std::move(valid)) {
  if (!base_.is_object()) base_ = Json::object();
  total_ = 1;
  for (const auto& p : params_) total_ *= p.values.size();
  if (params_.empty()) total_ = 1;  // one point: the base config itself
}

std::vector<int> Space::digits(uint64_t index) const {
  std::vector<int> d(params_.size());
  for (std::size_t i = params_.size(); i-- > 0;) {
    const uint64_t r = params_[i].values.size();
    d[i] = static_cast<int>(index % r);
    index /= r;
  }
  return d;
}

uint64_t Space::index_from(const std::vector<int>& d) const {
  uint64_t idx = 0;
  for (std::size_t i = 0; i < params_.size(); ++i) idx = idx * params_[i].values.size() + d[i];
  return idx;
}

Json Space::config_at(uint64_t index) const {
  Json c = base_;
  const std::vector<int> d = digits(index);
  for (std::size_t i = 0; i < params_.size(); ++i) c[params_[i].name] = params_[i].values[d[i]];
  return c;
}

std::optional<uint64_t> Space::index_of(const Json& config) const {
  std::vector<int> d(params_.size());
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const auto& vals = params_[i].values;
    if (!config.contains(params_[i].name)) return std::nullopt;
    const Json& v = config[params_[i].name];
    auto it = std::find(vals.begin(), vals.end(), v);
    if (it == vals.end()) return std::nullopt;
    d[i] = static_cast<int>(it - vals.begin());
  }
  // The point is this config only if the fields the space does not vary match too (a GEMM
  // default on the dot-product path is not the BLIS point with the same blocking).
  const uint64_t index = index_from(d);
  if (config_at(index) != config) return std::nullopt;
  return index;
}

void Space::for_each_valid(const std::function<bool(uint64_t, const Json&)>& fn) const {
  if (valid_cache_) {
    for (uint64_t i : *valid_cache_)
      if (!fn(i, config_at(i))) return;
    return;
  }
  for (uint64_t i = 0; i < total_; ++i) {
    Json c = config_at(i);
    if (check(c).ok() && !fn(i, c)) return;
  }
}

const std::vector<uint64_t>& Space::valid_indices() const {
  if (!valid_cache_) {
    std::vector<uint64_t> v;
    for (uint64_t i = 0; i < total_; ++i)
      if (valid(i)) v.push_back(i);
    valid_cache_ = std::move(v);
  }
  return *valid_cache_;
}

std::vector<uint64_t> Space::neighbors(uint64_t index) const {
  std::vector<uint64_t> out;
  const std::vector<int> d = digits(index);
  for (std::size_t i = 0; i < params_.size(); ++i) {
    for (int step : {-1, 1}) {
      const int v = d[i] + step;
      if (v < 0 || v >= static_cast<int>(params_[i].values.size())) continue;
      std::vector<int> e = d;
      e[i] = v;
      const uint64_t j = index_from(e);
      if (valid(j)) out.push_back(j);
    }
  }
  return out;
}

Status restrict_field(SearchSpace* s, const std::string& name, const std::vector<Json>& values) {
  for (auto& p : *s) {
    if (p.name != name) continue;
    if (values.empty()) return Status::Invalid("--fix " + name + " needs at least one value");
    p.values = values;
    return Status::Ok();
  }
  std::string names;
  for (const auto& p : *s) names += (names.empty() ? "" : ", ") + p.name;
  return Status::Invalid("no tunable field \"" + name + "\" (fields: " + names + ")");
}

}  // namespace perfcal::tuner
