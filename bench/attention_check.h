// Inputs and sampled verification of an attention problem, shared by the attention
// benchmarks (bench/attention_bench.cpp) and the tuner's measurer (tuner/attention_target.cpp),
// so both check a kernel the same way before timing it (CONVENTIONS 9).
//
// Verification: sampled rows (first, last, middle and four seeded random rows of the first
// and last head of the first and last batch) against the float64 reference. Forward checks
// O rows and LSE; backward checks dQ rows and dK/dV rows, taking the forward's O and LSE in
// the operands as given (as the backward contract does).
#pragma once
#include <cstdint>
#include <vector>

#include "attention/attention.h"
#include "core/aligned_buffer.h"

namespace perfcal::bench {

// Seeded uniform inputs Q, K, V, dO in the problem's dtype and the fp32 outputs, allocated
// to the problem's extents; `ops` points at them.
struct AttentionInputs {
  AlignedBuffer<float> q32, k32, v32, do32;
  AlignedBuffer<uint16_t> q16, k16, v16, do16;
  AlignedBuffer<float> o, lse, dq, dk, dv;
  attention::Operands ops;
};

// False when an allocation failed.
bool make_attention_inputs(const attention::Problem& p, uint64_t seed, AttentionInputs* in);

// Normwise tolerance of sampled outputs against float64. fp32: sums of seq terms, error
// ~ sqrt(seq) eps, x64 margin for exp2 and the online rescaling. bf16 (float64 reference on
// the same bf16 values): the fused kernel rounds P (and dS in backward) to bf16, 2^-9
// relative each, accumulated over tiles; 2e-2 leaves 5x room and still rejects a dropped
// key or a missing rescale (errors ~ 1e-1).
double attention_tolerance(const attention::Problem& p);

// Rows to check out of n: first, last, middle and four seeded random rows (sorted, unique).
std::vector<int64_t> attention_sample_rows(int64_t n, uint64_t seed);

// Max normwise relative error of the sampled rows of the pass's outputs in `ops` against the
// float64 reference (forward: also the LSE's relative error). +inf when a sampled output is
// NaN or Inf.
double verify_attention(const attention::Problem& p, const attention::Operands& ops, uint64_t seed);

}  // namespace perfcal::bench
