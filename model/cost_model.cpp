#include "model/cost_model.h"

#include <algorithm>
#include <cmath>

#include "core/cpu_info.h"
#include "gemm/ukernel.h"

namespace perfcal::model {

CpuMachine CpuMachine::discover(const profile::Profile* prof) {
  const CpuInfo& ci = cpu_info();
  CpuMachine m;
  m.cores = std::max(1, ci.cores);
  const Isa isa = best_isa();
  m.simd_lanes_f32 = isa == Isa::avx512 ? 16 : isa == Isa::avx2 ? 8 : 4;
  m.vector_registers = isa == Isa::avx512 ? 32 : 16;
  m.l1 = double(ci.cache_bytes(1, 32 * 1024));
  m.l2 = double(ci.cache_bytes(2, 1024 * 1024));
  m.l3_share = 2 * m.l2;
  for (const auto& c : ci.caches)
    if (c.level == 3) m.l3_share = double(c.size_bytes) / std::max(1, c.cores_sharing);
  // Without a probe: 2 FMA ports x lanes x 2 FLOP at the nominal clock (2.5 GHz when the
  // clock is unknown, a typical server all-core frequency).
  const double ghz = ci.nominal_mhz > 0 ? ci.nominal_mhz / 1000.0 : 2.5;
  m.peak_gflops_core = m.fma_units * m.simd_lanes_f32 * 2 * ghz;
  m.mem_gbps = 10.0 * m.cores;  // ~10 GB/s per core until a stream probe says otherwise
  // The kernels' own measurement (a ~0.1 ms loop), which also picks bf16's default compute.
  if (isa == Isa::avx512 && ci.features.avx512_bf16)
    m.bf16_rate = gemm::ukr::avx512_dpbf16_over_fma();
  if (prof) {
    double fma = 0, mem = 0, bf16 = 0;
    for (const auto& x : prof->measurements) {
      if (x.device != "cpu:0" || (!x.outcome.empty() && x.outcome != "passed")) continue;
      if (x.name == "probe/cpu/fma/f32" && x.threads == 1 && x.gflops)
        fma = std::max(fma, *x.gflops);
      if (x.name == "probe/cpu/fma/bf16" && x.threads == 1 && x.gflops)
        bf16 = std::max(bf16, *x.gflops);
      if (x.name.rfind("probe/cpu/mem/", 0) == 0 && x.gbps) mem = std::max(mem, *x.gbps);
    }
    if (fma > 0) m.peak_gflops_core = fma;
    if (fma > 0 && bf16 > 0) m.bf16_rate = bf16 / fma;
    if (mem > 0) m.mem_gbps = mem;
  }
  return m;
}

namespace {

// Distance = number of fields that differ from the default, each weighted by how far the
// value moved (numbers: |log2 ratio|; other values: 1). Scaled into "seconds" only so that
// it sorts; the default itself predicts 1.
class DefaultFirst : public CostModel {
 public:
  explicit DefaultFirst(Json d) : default_(std::move(d)) {}
  std::string name() const override { return "default-first"; }
  double predict_seconds(const Json& config) const override {
    double d = 0;
    for (auto it = config.begin(); it != config.end(); ++it) {
      if (!default_.contains(it.key())) continue;
      const Json& a = it.value();
      const Json& b = default_[it.key()];
      if (a == b) continue;
      if (a.is_number() && b.is_number() && a.get<double>() > 0 && b.get<double>() > 0)
        d += std::fabs(std::log2(a.get<double>() / b.get<double>()));
      else
        d += 1;
    }
    return 1.0 + d;
  }

 private:
  Json default_;
};

}  // namespace

std::unique_ptr<CostModel> default_first_model(Json default_config) {
  return std::make_unique<DefaultFirst>(std::move(default_config));
}

}  // namespace perfcal::model
