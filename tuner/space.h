// The search space of one variant on one problem: the product of the variant's
// search_space() values, filtered by its can_implement (the single list of constraints:
// the tuner keeps no second one). Configs are addressed by a mixed-radix index (first field
// slowest), enumerated lazily, and merged onto a base config so fields the space does not
// vary keep their default values.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/registry.h"

namespace perfcal::tuner {

using Json = nlohmann::json;
using Validity = std::function<Status(const Json& config)>;

class Space {
 public:
  Space() = default;
  // `base` supplies fields the space does not vary; `valid` is the variant's can_implement
  // bound to the problem.
  Space(SearchSpace params, Json base, Validity valid);
  const Json& base() const { return base_; }

  const SearchSpace& params() const { return params_; }
  // Size of the product (before can_implement).
  uint64_t total() const { return total_; }
  Json config_at(uint64_t index) const;
  // Index of the space point `config` sits on; nullopt when a field's value is not a
  // candidate of the space.
  std::optional<uint64_t> index_of(const Json& config) const;
  std::vector<int> digits(uint64_t index) const;
  uint64_t index_from(const std::vector<int>& digits) const;

  Status check(const Json& config) const { return valid_ ? valid_(config) : Status::Ok(); }
  bool valid(uint64_t index) const { return check(config_at(index)).ok(); }
  // Visits valid points in index order; `fn` returns false to stop early.
  void for_each_valid(const std::function<bool(uint64_t index, const Json& config)>& fn) const;
  // Valid points (computed once, then remembered).
  const std::vector<uint64_t>& valid_indices() const;
  uint64_t count_valid() const { return valid_indices().size(); }
  // Valid points one field one step away (index +-1 in that field's value list).
  std::vector<uint64_t> neighbors(uint64_t index) const;

 private:
  SearchSpace params_;
  Json base_ = Json::object();
  Validity valid_;
  uint64_t total_ = 1;
  mutable std::optional<std::vector<uint64_t>> valid_cache_;
};

// Pins field `name` to `values` (the CLI's --fix threads=2); an unknown field is an error.
Status restrict_field(SearchSpace* s, const std::string& name, const std::vector<Json>& values);

}  // namespace perfcal::tuner
