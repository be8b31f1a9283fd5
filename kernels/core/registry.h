// The variant registry: the only list of kernel implementations (DESIGN "central abstraction").
//
// A family (gemm, attention, allreduce) defines its Problem and Operands types and aliases
// `Variant = perfcal::Variant<Problem, Operands>`. Each implementation, perfcal's own or a
// vendor baseline, is one source file that ends with one registration line:
//
//   static const perfcal::Registrar<gemm::Variant> kRegister{std::make_unique<MyVariant>()};
//
// Tests, benchmarks, the tuner and the model enumerate `Registry<V>::instance().all()`.
// Configs cross this boundary as JSON objects; each variant converts them to its own plain
// config struct and owns the single `can_implement` that states every constraint.
#pragma once
#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dtype.h"
#include "core/status.h"

namespace perfcal {

using Json = nlohmann::json;

// Candidate values of one config field; the tuner's space is their product filtered by
// can_implement.
struct ParamSpace {
  std::string name;
  std::vector<Json> values;
};
using SearchSpace = std::vector<ParamSpace>;

struct VariantInfo {
  std::string name;         // registry key == benchmark name prefix == profile "name"
  std::string backend;      // "cpu", "cuda", "threads", "mpi"
  Dtype dtype = Dtype::f32;
  bool baseline = false;    // a vendor library perfcal compares against, not perfcal's kernel
  std::string description;  // one line for `perfcal list`
};

template <class ProblemT, class OperandsT>
class Variant {
 public:
  using Problem = ProblemT;
  using Operands = OperandsT;

  // A prepared execution: buffers packed/allocated, library primitives created. Timed
  // loops call run() only, so set-up costs (oneDNN primitive creation, workspace
  // allocation) never count.
  class Plan {
   public:
    virtual ~Plan() = default;
    virtual Status run(const Operands& ops) = 0;
    // Bytes the plan allocated beyond inputs and outputs (workspaces, packed panels).
    virtual std::size_t workspace_bytes() const { return 0; }
  };

  virtual ~Variant() = default;
  virtual const VariantInfo& info() const = 0;
  const std::string& name() const { return info().name; }
  // Whether this machine can run it at all (ISA, library, device); the reason when not.
  virtual Status available() const { return Status::Ok(); }
  // A good untuned config for `p` on this machine (derived from discovered cache sizes).
  virtual Json default_config(const Problem& p) const = 0;
  // Candidate values per config field; empty when nothing is tunable.
  virtual SearchSpace search_space(const Problem& /*p*/) const { return {}; }
  // The one validity check: every constraint, each with its reason in the message.
  virtual Status can_implement(const Json& config, const Problem& p) const = 0;
  virtual Status make_plan(const Problem& p, const Json& config,
                           std::unique_ptr<Plan>* out) const = 0;
};

// Every variant of every family, for listings (`perfcal list`) that need no family types.
// Filled by Registry::add; the variants live as long as the process.
std::vector<const VariantInfo*>& all_variants();

template <class V>
class Registry {
 public:
  // Defined once per family in its registry.cpp so every binary shares one instance.
  static Registry& instance();

  // Returns false (and keeps the first) when the name is taken.
  bool add(std::unique_ptr<V> v) {
    if (find(v->name())) return false;
    all_variants().push_back(&v->info());
    variants_.push_back(std::move(v));
    std::sort(variants_.begin(), variants_.end(),
              [](const auto& a, const auto& b) { return a->name() < b->name(); });
    return true;
  }
  const std::vector<std::unique_ptr<V>>& all() const { return variants_; }
  const V* find(std::string_view name) const {
    for (const auto& v : variants_)
      if (v->name() == name) return v.get();
    return nullptr;
  }

 private:
  std::vector<std::unique_ptr<V>> variants_;
};

template <class V>
struct Registrar {
  explicit Registrar(std::unique_ptr<V> v) { Registry<V>::instance().add(std::move(v)); }
};

// Reads a config struct from JSON, turning nlohmann's exceptions into a Status.
template <class Config>
Status parse_config(const Json& j, Config* out) {
  try {
    if (!j.is_object()) return Status::Invalid("config must be a JSON object");
    *out = j.get<Config>();
  } catch (const std::exception& e) {
    return Status::Invalid(std::string("bad config: ") + e.what());
  }
  return Status::Ok();
}

}  // namespace perfcal
