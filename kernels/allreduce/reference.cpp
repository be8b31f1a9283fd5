// Float64 reference for the all-reduce contract in allreduce.h, the crafted inputs every
// test and benchmark checks against, and the two bandwidth formulas. Deliberately the
// obvious loops.
#include <algorithm>
#include <cmath>

#include "allreduce/allreduce.h"

// The family's one registry instance. Specialized in perfcal, the template's namespace, as
// the standard requires (GCC also accepts it inside the family's namespace; clang does not).
namespace perfcal {
template <>
allreduce::Registry& allreduce::Registry::instance() {
  static allreduce::Registry r;
  return r;
}
}  // namespace perfcal

namespace perfcal::allreduce {

// docs/ALLREDUCE.md "Bandwidth", as written there.
double algbw_gbps(double bytes, double seconds) { return bytes / seconds / 1e9; }
double busbw_gbps(double algbw, int ranks) { return algbw * 2.0 * (ranks - 1) / ranks; }

double crafted_value(int64_t i, int rank, int ranks, uint64_t seed) {
  // |v| <= k with k * ranks <= 256: every partial sum is an integer of at most 8 significant
  // bits, exact in bf16 (and trivially in f32/f64).
  const int64_t k = std::max<int64_t>(1, std::min<int64_t>(8, 256 / std::max(1, ranks)));
  const uint64_t h = (static_cast<uint64_t>(i) * 2654435761u +
                      static_cast<uint64_t>(rank) * 40503u + seed * 97u) >>
                     3;
  return static_cast<double>(static_cast<int64_t>(h % static_cast<uint64_t>(2 * k + 1)) - k);
}

void fill_crafted(Dtype dtype, void* x, int64_t count, int rank, int ranks, uint64_t seed) {
  for (int64_t i = 0; i < count; ++i) {
    const double v = crafted_value(i, rank, ranks, seed);
    switch (dtype) {
      case Dtype::f64:
        static_cast<double*>(x)[i] = v;
        break;
      case Dtype::bf16:
        static_cast<uint16_t*>(x)[i] = float_to_bf16(static_cast<float>(v));
        break;
      default:
        static_cast<float*>(x)[i] = static_cast<float>(v);
        break;
    }
  }
}

double load(Dtype dtype, const void* x, int64_t i) {
  switch (dtype) {
    case Dtype::f64:
      return static_cast<const double*>(x)[i];
    case Dtype::bf16:
      return bf16_to_float(static_cast<const uint16_t*>(x)[i]);
    default:
      return static_cast<const float*>(x)[i];
  }
}

namespace {
double apply(Op op, double a, double b) {
  switch (op) {
    case Op::max:
      return std::max(a, b);
    case Op::min:
      return std::min(a, b);
    default:
      return a + b;
  }
}
}  // namespace

void reference(const Problem& p, const std::vector<const void*>& inputs, double* out) {
  for (int64_t i = 0; i < p.count; ++i) {
    double acc = load(p.dtype, inputs[0], i);
    for (std::size_t r = 1; r < inputs.size(); ++r)
      acc = apply(p.op, acc, load(p.dtype, inputs[r], i));
    out[i] = acc;
  }
}

double crafted_reference(const Problem& p, int64_t i, uint64_t seed) {
  double acc = crafted_value(i, 0, p.ranks, seed);
  for (int r = 1; r < p.ranks; ++r) acc = apply(p.op, acc, crafted_value(i, r, p.ranks, seed));
  return acc;
}

int64_t count_wrong_crafted(const Problem& p, const void* got, uint64_t seed) {
  int64_t wrong = 0;
  for (int64_t i = 0; i < p.count; ++i)
    if (!(load(p.dtype, got, i) == crafted_reference(p, i, seed))) ++wrong;
  return wrong;
}

}  // namespace perfcal::allreduce
