// Analytical cost models that rank tuning candidates before anything is measured (the
// tuner's model-guided strategy). A model predicts seconds for a config of one problem; only
// the order matters to the tuner, but the units are kept honest (roofline with the device's
// peaks) so predictions can be shown next to measurements.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "profile/profile.h"

namespace perfcal::model {

using Json = nlohmann::json;

class CostModel {
 public:
  virtual ~CostModel() = default;
  virtual std::string name() const = 0;
  // Predicted seconds of `config` (a full config object); +inf when the model rules it out.
  virtual double predict_seconds(const Json& config) const = 0;
};

// What the CPU models need about the machine. Peaks come from the profile's probes when a
// profile is given, otherwise from the ISA (FMA units x lanes x nominal clock).
struct CpuMachine {
  double peak_gflops_core = 0;  // f32 FMA peak of one core
  // FLOP/s of bf16 dot products (vdpbf16ps) over fp32 FMA: about 0.5 where a core splits
  // the instruction, 1 where it does not (and where it does not exist: unused).
  double bf16_rate = 1.0;
  double mem_gbps = 0;  // sustained memory bandwidth, all cores
  int cores = 1;
  int simd_lanes_f32 = 16;  // 16 (AVX-512), 8 (AVX2), 4 (portable)
  int vector_registers = 32;
  double fma_latency = 4, fma_units = 2;  // cycles, issue ports (Skylake-SP and later)
  double l1 = 32 * 1024.0, l2 = 1024 * 1024.0, l3_share = 2 * 1024 * 1024.0;

  // From cpu_info() and, when non-null, the probe measurements of `prof` (cpu:0).
  static CpuMachine discover(const profile::Profile* prof);
};

// Ranks configs by how far they are from the default: the fallback when a family has no
// model (the default is tried first, then its nearest variations).
std::unique_ptr<CostModel> default_first_model(Json default_config);

}  // namespace perfcal::model
