// Cache-blocking model of perfcal's BLIS-style CPU GEMM (kernels/gemm/blis.h): predicts the
// time of a config {mr, nr, mc, kc, nc, threads, parallel_loop, prefetch} on an m x n x k
// problem as packing time (a phase of its own: B and A read from memory and written into
// panels) plus the larger of compute and the traffic streamed under it (C once per kc
// block, the B panel read back from beyond L2), plus fork/join overheads. Compute is the
// peak times these factors, each a fraction of 1:
//   - register blocking: mr*nr/lanes accumulators must cover FMA latency x units, and the
//     tile plus its A vectors must fit the register file;
//   - load/FMA balance: per k step mr/lanes vector loads + nr broadcasts feed (mr/lanes)*nr
//     FMAs;
//   - micro-kernel call overhead: loading/storing the C tile once per kc steps;
//   - cache fit: B micro-panel kc*nr in half of L1, the A block mc*kc in half of L2, the B
//     panel kc*nc in the core's L3 share;
//   - edge-tile waste: full mr x nr tiles are computed, only stores are masked;
//   - thread load balance over the split loop, and barriers per block.
#pragma once
#include <cstdint>
#include <memory>

#include "model/cost_model.h"

namespace perfcal::model {

struct GemmShape {
  int64_t m = 0, n = 0, k = 0;
  int elem_bytes = 4;  // bytes per A/B element (f32 4, bf16 2)
};

std::unique_ptr<CostModel> gemm_cpu_model(const GemmShape& shape, const CpuMachine& machine);

// The model's breakdown of one config, for tests and for explaining a ranking.
struct GemmPrediction {
  double seconds = 0;
  double compute_s = 0, memory_s = 0, overhead_s = 0;
  double eff_register = 1, eff_loads = 1, eff_call = 1, eff_cache = 1, eff_edge = 1,
         eff_balance = 1;
};
GemmPrediction predict_gemm_cpu(const Json& config, const GemmShape& shape,
                                const CpuMachine& machine);

}  // namespace perfcal::model
