// Probe kernels: the ceilings every real kernel is compared with. Each returns the work it
// did so the caller can turn time into a rate; none of them may be optimised away.
#pragma once
#include <cstddef>
#include <cstdint>

namespace perfcal::bench::probe {

// Runs `iters` rounds of independent FMA chains on one thread; returns FLOPs executed.
// Enough independent accumulators to cover FMA latency x ports on current x86 cores.
double fma_f32_avx512(int64_t iters, float* sink);
double fma_f64_avx512(int64_t iters, double* sink);
double dpbf16_avx512(int64_t iters, float* sink);  // vdpbf16ps: 2 FLOP per bf16 pair
double fma_f32_avx2(int64_t iters, float* sink);
double fma_f64_avx2(int64_t iters, double* sink);

// Sums `bytes` of `buf` `passes` times with wide loads; returns bytes read.
double read_sweep_avx512(const float* buf, std::size_t floats, int passes, float* sink);

}  // namespace perfcal::bench::probe
