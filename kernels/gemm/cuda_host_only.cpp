// <perfcal/cuda_gemm.h> when perfcal is built without CUDA: the functions exist (so a
// program linking perfcal::kernels always links) and report PERFCAL_CUDA_UNSUPPORTED.
// With CUDA, kernels/gemm/cuda/c_api.cpp defines them. (Compiled in every build because
// kernels/gemm/cuda/ is compiled only where nvcc exists; cf. core/gpu_probes_host_only.cpp.)
#include "perfcal/cuda_gemm.h"

#ifndef PERFCAL_HAVE_CUDA
extern "C" int perfcal_cuda_sgemm(PerfcalOrder, PerfcalTranspose, PerfcalTranspose, int64_t,
                                  int64_t, int64_t, float, const float*, int64_t, const float*,
                                  int64_t, float, float*, int64_t, void*) {
  return PERFCAL_CUDA_UNSUPPORTED;
}

extern "C" int perfcal_cuda_gemm_bf16(PerfcalOrder, PerfcalTranspose, PerfcalTranspose, int64_t,
                                      int64_t, int64_t, float, const uint16_t*, int64_t,
                                      const uint16_t*, int64_t, float, float*, int64_t, void*) {
  return PERFCAL_CUDA_UNSUPPORTED;
}

extern "C" const char* perfcal_cuda_last_error(void) { return "perfcal was built without CUDA"; }
#endif
