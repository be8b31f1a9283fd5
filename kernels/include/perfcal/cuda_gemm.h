/* perfcal GPU GEMM: fp32 and bf16-input GEMM with fp32 accumulation on device pointers,
 * running perfcal's CUDA kernels (SIMT fp32; mma.sync tensor cores for bf16, sm_80+).
 * Usable from C and C++ without the CUDA headers: the stream is passed as void*
 * (a cudaStream_t; NULL = the legacy default stream). Link perfcal::kernels.
 *
 *   C = alpha * op(A) * op(B) + beta * C        op(X) = X or X^T, C is M x N
 *
 * Semantics are perfcal_sgemm's (<perfcal/gemm.h>, reference BLAS): row or column major,
 * leading dimensions at least the stored rows (column major) or columns (row major),
 * beta == 0 overwrites C without reading it, M == 0 or N == 0 returns at once, K == 0
 * leaves beta * C. A, B and C must be device memory of the current device (or managed
 * memory); any alignment and leading dimension is accepted (the fast paths need ld a
 * multiple of 4 (fp32) / 8 (bf16) and 16-byte aligned pointers).
 *
 * The call is asynchronous on `stream`; nothing is synchronised. It returns one of the
 * codes below and never aborts or prints; perfcal_cuda_last_error() gives the reason of
 * the calling thread's last failure. Built without CUDA, or with no device, every call
 * returns PERFCAL_CUDA_UNSUPPORTED.
 */
#ifndef PERFCAL_CUDA_GEMM_H_
#define PERFCAL_CUDA_GEMM_H_

#include <stdint.h>

#include <perfcal/gemm.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  PERFCAL_CUDA_OK = 0,
  PERFCAL_CUDA_INVALID_ARGUMENT = 1, /* bad order/transpose, negative size, ld too small, null */
  PERFCAL_CUDA_UNSUPPORTED = 2,      /* no CUDA in this build, no device, or sm < 8.0 for bf16 */
  PERFCAL_CUDA_OUT_OF_MEMORY = 3,
  PERFCAL_CUDA_INTERNAL = 4          /* a CUDA error (launch failure, bad pointer, ...) */
};

int perfcal_cuda_sgemm(PerfcalOrder order, PerfcalTranspose trans_a, PerfcalTranspose trans_b,
                       int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                       const float* b, int64_t ldb, float beta, float* c, int64_t ldc,
                       void* stream);

/* A and B are bf16 bit patterns (the top 16 bits of an IEEE float32); C and the
 * accumulation are fp32. */
int perfcal_cuda_gemm_bf16(PerfcalOrder order, PerfcalTranspose trans_a,
                           PerfcalTranspose trans_b, int64_t m, int64_t n, int64_t k,
                           float alpha, const uint16_t* a, int64_t lda, const uint16_t* b,
                           int64_t ldb, float beta, float* c, int64_t ldc, void* stream);

/* The reason for the calling thread's last non-zero return ("" if none). */
const char* perfcal_cuda_last_error(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* PERFCAL_CUDA_GEMM_H_ */
