// Internal: the per-ISA reduction kernels behind make_reducer(). Each tier fills a table
// indexed [dtype][op] of out = a op b over n elements, with the exact semantics of the
// portable scalar code below, so every tier gives bit-identical results:
//   sum  a + b (one rounding; no FMA contraction possible)
//   max  a > b ? a : b   (== MAXPS(a, b): b when either is NaN)
//   min  a < b ? a : b   (== MINPS(a, b))
//   bf16 widened to fp32, op, rounded back to nearest even; NaN kept quiet (core/dtype.h).
#pragma once
#include <cstddef>

#include "allreduce/allreduce.h"

namespace perfcal::allreduce::detail {

using ReduceFn = void (*)(const void* a, const void* b, void* out, std::size_t n);

// [dtype: 0 f32, 1 f64, 2 bf16][op: 0 sum, 1 max, 2 min]
struct ReduceTable {
  ReduceFn fn[3][3] = {};
};

const ReduceTable& reduce_table_portable();
const ReduceTable& reduce_table_avx2();
const ReduceTable& reduce_table_avx512();

inline int dtype_index(Dtype d) { return d == Dtype::f64 ? 1 : d == Dtype::bf16 ? 2 : 0; }

template <class T>
inline T apply_op(Op op, T a, T b) {
  switch (op) {
    case Op::max:
      return a > b ? a : b;
    case Op::min:
      return a < b ? a : b;
    default:
      return a + b;
  }
}

}  // namespace perfcal::allreduce::detail
