// Internal to kernels/gemm/cuda: the one CUDA_CHECK (CONVENTIONS 13) and small helpers the
// GPU GEMM variants share. Needs the CUDA runtime headers (CUDA builds only).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "gemm/cuda/gemm_gpu.h"

// Returns a Status naming the failing expression, file and line; never aborts.
#define PERFCAL_CUDA_CHECK(expr)                                                         \
  do {                                                                                   \
    cudaError_t perfcal_cuda_err_ = (expr);                                              \
    if (perfcal_cuda_err_ != cudaSuccess)                                                \
      return ::perfcal::gemm::gpu::cuda_status(static_cast<int>(perfcal_cuda_err_), #expr, \
                                               __FILE__, __LINE__);                      \
  } while (0)

namespace perfcal::gemm::gpu {

inline cudaStream_t to_stream(void* s) { return static_cast<cudaStream_t>(s); }

inline bool aligned16(const void* p) { return (reinterpret_cast<std::uintptr_t>(p) & 15u) == 0; }

// Checks shared by every GPU variant's can_implement / run: the gemm.h contract plus the
// dtype. Sizes above int32 are refused (grid and index arithmetic of perfcal's kernels are
// 32-bit in the tile loops; leading-dimension products are 64-bit).
inline Status check_problem(const Problem& p, Dtype want) {
  PERFCAL_RETURN_IF_ERROR(validate(p));
  if (p.dtype != want)
    return Status::Invalid(std::string("dtype must be ") + to_string(want));
  const int64_t lim = int64_t{1} << 31;
  if (p.m >= lim || p.n >= lim || p.k >= lim)
    return Status::Unsupported("m, n and k must each be below 2^31");
  return Status::Ok();
}

}  // namespace perfcal::gemm::gpu
