// Internal interface between the attention variants (flash.cpp, baselines/) and the per-ISA
// kernels (avx512/, avx2/, flash_portable.cpp). Not installed; users go through the registry
// or the C API.
#pragma once
#include <cstddef>
#include <cstdint>

#include "attention/attention.h"

namespace perfcal::attention::detail {

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// Scratch the fused drivers carve (in floats): one shared block plus one block per thread.
struct FlashScratch {
  int64_t shared_floats = 0;
  int64_t per_thread_floats = 0;
  int threads = 1;
  int64_t total_floats() const { return shared_floats + per_thread_floats * threads; }
};
FlashScratch flash_scratch(const Problem& p, int br, int bc, int threads);

struct FlashArgs {
  const Problem* p = nullptr;
  const Operands* ops = nullptr;
  int br = 64, bc = 64, threads = 1;
  bool widen = false;           // bf16: products in fp32 on widened inputs (FlashConfig)
  float* shared = nullptr;      // FlashScratch::shared_floats, 64-byte aligned
  float* per_thread = nullptr;  // threads * per_thread_floats
  int64_t per_thread_floats = 0;
};

// Fused forward / backward per ISA tier. The bf16 path of the avx512 tier needs
// AVX512_BF16 (vdpbf16ps); without it the same tier widens bf16 to fp32 while packing.
Status flash_forward_avx512(const FlashArgs& a);
Status flash_backward_avx512(const FlashArgs& a);
Status flash_forward_avx2(const FlashArgs& a);
Status flash_backward_avx2(const FlashArgs& a);
Status flash_forward_portable(const FlashArgs& a);
Status flash_backward_portable(const FlashArgs& a);
bool avx512_bf16_dot_available();

// Vectorised row operations of one ISA tier, shared with the composition's softmax so both
// variants use the same exp2.
struct RowOps {
  float (*max_scaled)(const float* x, int64_t n, float s);               // max_j s * x[j]
  float (*exp2_row)(float* x, int64_t n, float s, float sub);            // x = 2^(s x - sub), sum
  void (*exp2_row_vec)(float* x, int64_t n, float s, const float* sub);  // sub per column
  void (*ds_row)(const float* p, float* dp, const float* Dv, int64_t n, float s);
  void (*scale)(float* x, int64_t n, float a);
};
const RowOps& row_ops_avx512();
const RowOps& row_ops_avx2();
const RowOps& row_ops_portable();

// Row softmax helpers for the composition (same exp2 as the fused kernel, picked by ISA).
// Row r of S (ld elements apart, n valid keys, the rest of the row up to `width` set to 0):
// S = exp(scale * S - max) / sum, lse[r] = max + log(sum), or 0 / -inf for an empty row.
void softmax_rows(float* S, int64_t rows, int64_t ld, int64_t width, const int64_t* n_valid,
                  float scale, float* lse, int threads);
// Backward rows: P = exp(scale * S - lse) for the valid keys, 0 beyond.
void probs_from_lse_rows(float* S, int64_t rows, int64_t ld, int64_t width, const int64_t* n_valid,
                         float scale, const float* lse, int threads);
// dS = P o (dP - D_row) * scale, in place in dP.
void ds_rows(const float* P, float* dP, int64_t rows, int64_t ld, int64_t width, const float* Drow,
             float scale, int threads);

}  // namespace perfcal::attention::detail
