// The reduction inner loop, portable tier, and the run-time choice between tiers (AVX-512,
// AVX2, portable by cpuid, lowered by PERFCAL_ISA). The vector tiers live in avx512/ and
// avx2/ and reproduce this code's results bit for bit (reduce_kernels.h).
#include "allreduce/reduce_kernels.h"

namespace perfcal::allreduce {
namespace detail {
namespace {

template <class T, Op op>
void reduce_plain(const void* a, const void* b, void* out, std::size_t n) {
  const T* x = static_cast<const T*>(a);
  const T* y = static_cast<const T*>(b);
  T* o = static_cast<T*>(out);
  for (std::size_t i = 0; i < n; ++i) o[i] = apply_op<T>(op, x[i], y[i]);
}

template <Op op>
void reduce_bf16(const void* a, const void* b, void* out, std::size_t n) {
  const uint16_t* x = static_cast<const uint16_t*>(a);
  const uint16_t* y = static_cast<const uint16_t*>(b);
  uint16_t* o = static_cast<uint16_t*>(out);
  for (std::size_t i = 0; i < n; ++i)
    o[i] = float_to_bf16(apply_op<float>(op, bf16_to_float(x[i]), bf16_to_float(y[i])));
}

}  // namespace

const ReduceTable& reduce_table_portable() {
  static const ReduceTable t = [] {
    ReduceTable r;
    r.fn[0][0] = reduce_plain<float, Op::sum>;
    r.fn[0][1] = reduce_plain<float, Op::max>;
    r.fn[0][2] = reduce_plain<float, Op::min>;
    r.fn[1][0] = reduce_plain<double, Op::sum>;
    r.fn[1][1] = reduce_plain<double, Op::max>;
    r.fn[1][2] = reduce_plain<double, Op::min>;
    r.fn[2][0] = reduce_bf16<Op::sum>;
    r.fn[2][1] = reduce_bf16<Op::max>;
    r.fn[2][2] = reduce_bf16<Op::min>;
    return r;
  }();
  return t;
}

}  // namespace detail

Reducer make_reducer(Dtype dtype, Op op, Isa isa) {
  Reducer r;
  r.elem_bytes = size_of(dtype);
  if (dtype != Dtype::f32 && dtype != Dtype::f64 && dtype != Dtype::bf16) return r;
  if (!isa_available(isa)) return r;
  const detail::ReduceTable& t = isa == Isa::avx512 ? detail::reduce_table_avx512()
                                 : isa == Isa::avx2 ? detail::reduce_table_avx2()
                                                    : detail::reduce_table_portable();
  r.fn = t.fn[detail::dtype_index(dtype)][static_cast<int>(op)];
  return r;
}

Reducer make_reducer(Dtype dtype, Op op) { return make_reducer(dtype, op, best_isa()); }

}  // namespace perfcal::allreduce
