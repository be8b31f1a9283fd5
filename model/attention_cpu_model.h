// Analytical model of perfcal's fused CPU attention (kernels/attention/flash_impl.h): predicts
// the time of a FlashConfig {br, bc, threads, compute} on one problem, only well enough to
// rank candidates for the tuner's model-guided strategy (the tuner measures the top ones).
//
//   time = sum over parallel regions of the busiest thread's work + packing + fork/join
//   work of one item = tile GEMM cycles / micro-kernel efficiency + softmax + rescales
//
// Forward: one region per (batch, kv head); items are (head of the group, Br query tile),
// each looping over the Bc key tiles it sees (causal: up to its last row's key_end); per
// (Br x Bc) tile two GEMMs (S = Q K^T, O += P V; 4 Br Bc D FLOP), exp2 over Br x Bc, the
// O rescale (Br x D) and the O accumulator loaded and stored once per key tile. Backward:
// one region per (batch, head); items are Bc key tiles looping over the query tiles that
// see them; five GEMMs per tile (10 Br Bc D FLOP), exp2 and dS over Br x Bc, the dQ rows
// (Br x D) of the per-thread buffer loaded and stored per tile, the dK/dV accumulators
// (Bc x D) per query tile, and the per-thread dQ buffers summed at the end.
//
// Factors, each a fraction of the core's peak or a count of cycles:
//   - rows: tiles run in 6-row register blocks, so Br pads to a multiple of 6;
//   - S GEMM width: Bc / lanes vectors per row x 6 rows must cover FMA latency x units;
//   - C-tile traffic per call (O / dQ / dK,dV accumulators) against the call's FMAs;
//   - L1: a GEMM's B panel (D x Bc, the K^T or V tile) and the 6-row A block; L2: the tiles
//     one thread reuses (can_implement already rules out what does not fit L2);
//   - K and V (backward: Q and dO) re-read once per item: from L2 when they fit, else at
//     an L3-ish bandwidth, so larger items (Br forward, Bc backward) read less;
//   - the dynamic schedule of unequal items (causal) simulated over the threads;
//   - more threads than cores time-share.
// Peaks: the profile's measured FMA peak when given (CpuMachine::discover), else nominal.
#pragma once
#include <cstdint>
#include <memory>

#include "model/cost_model.h"

namespace perfcal::model {

struct AttentionShape {
  int64_t batch = 1, heads = 1, kv_heads = 1, seq_q = 0, seq_kv = 0, head_dim = 0;
  bool causal = false, backward = false;
  int elem_bytes = 4;  // Q, K, V, dO elements (f32 4, bf16 2)
};

std::unique_ptr<CostModel> attention_cpu_model(const AttentionShape& shape,
                                               const CpuMachine& machine);

// The model's breakdown of one config, for tests and for explaining a ranking.
struct AttentionPrediction {
  double seconds = 0;
  double compute_s = 0;   // busiest thread's tile work, all regions
  double memory_s = 0;    // re-reading K/V (Q/dO) beyond L2, all regions
  double overhead_s = 0;  // packing, fork/join, dQ reduction
  double eff_ukernel = 1, eff_cache = 1, eff_balance = 1;
  double waste = 0;  // computed but masked or padded share of the tile FLOP
};
AttentionPrediction predict_attention_cpu(const Json& config, const AttentionShape& shape,
                                          const CpuMachine& machine);

}  // namespace perfcal::model
