/* perfcal GEMM: a cblas-compatible single-precision GEMM and a bf16-input GEMM with fp32
 * accumulation, running perfcal's tuned CPU kernels (AVX-512 / AVX2 / portable, chosen by
 * cpuid at run time). Usable from C and C++; link perfcal::kernels.
 *
 *   C = alpha * op(A) * op(B) + beta * C        op(X) = X or X^T, C is M x N
 *
 * Semantics are those of reference BLAS: row or column major, leading dimensions at least
 * the stored rows (column major) or columns (row major), beta == 0 overwrites C without
 * reading it, M == 0 or N == 0 returns at once, K == 0 or alpha == 0 leaves beta * C.
 * Invalid arguments are reported as cblas does: one line on stderr naming the parameter by
 * its position in the call, C untouched; the same number is returned (0 = success).
 * Threads: PERFCAL_NUM_THREADS, else OMP_NUM_THREADS / omp_get_max_threads().
 */
#ifndef PERFCAL_GEMM_H_
#define PERFCAL_GEMM_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Same values as CBLAS_ORDER / CBLAS_TRANSPOSE, so (PerfcalOrder)CblasRowMajor works. */
typedef enum PerfcalOrder { PerfcalRowMajor = 101, PerfcalColMajor = 102 } PerfcalOrder;
typedef enum PerfcalTranspose {
  PerfcalNoTrans = 111,
  PerfcalTrans = 112,
  PerfcalConjTrans = 113 /* real data: same as PerfcalTrans */
} PerfcalTranspose;

/* fp32 GEMM; returns 0, or the 1-based position of the first invalid argument. */
int perfcal_sgemm(PerfcalOrder order, PerfcalTranspose trans_a, PerfcalTranspose trans_b, int64_t m,
                  int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b,
                  int64_t ldb, float beta, float* c, int64_t ldc);

/* A and B are bf16 bit patterns (the top 16 bits of an IEEE float32), C and the
 * accumulation are fp32. Returns as perfcal_sgemm. */
int perfcal_sbgemm(PerfcalOrder order, PerfcalTranspose trans_a, PerfcalTranspose trans_b,
                   int64_t m, int64_t n, int64_t k, float alpha, const uint16_t* a, int64_t lda,
                   const uint16_t* b, int64_t ldb, float beta, float* c, int64_t ldc);

#ifdef __cplusplus
} /* extern "C" */

#include <string>

namespace perfcal {

// Blocking and threading of perfcal's BLIS-style CPU GEMM; the tuner's search space.
// JSON form: {"mr":32,"nr":12,"mc":1088,"kc":240,"nc":8184,"threads":1,
//             "parallel_loop":"ic","prefetch":0,"stream":"none","compute":"native","algo":"blis"}
struct CpuGemmConfig {
  int mr = 0, nr = 0;          // micro-tile (register block); a compiled micro-kernel shape
  int mc = 0, kc = 0, nc = 0;  // cache blocks: A block mc x kc in L2, B panel kc x nc in L3
  int threads = 1;
  // "ic" (rows, B shared), "jr" (B micro-panels), "jc" (column chunks, each thread packs
  // its own A and B), "ic_chunks" (row chunks, each thread packs its own B: for m >> n).
  std::string parallel_loop = "ic";
  // Software prefetch distance in k steps (0 = off): of the packed A panel, or with stream
  // "direct" of each B column's next line.
  int prefetch = 0;
  // "b": pack each B micro-panel right before its first use and prefetch the next panel's
  // source into L2 under the current panel's FMAs, instead of packing the whole kc x nc
  // panel first; for skinny problems (few rows of A), where packing B is most of the time
  // and otherwise waits on memory with no arithmetic to overlap. Needs B private to the
  // thread (threads = 1 or parallel_loop "jc" / "ic_chunks"). "none": pack the whole block
  // first.
  // "direct" (AVX-512, B not transposed, or A transposed and run on C^T): B is not packed
  // at all; the micro-kernels broadcast it from where it lies, nr column streams, kc up to
  // 4096 (no B panel has to stay in L1). The default: up to 512 rows of A; past that when B
  // has 256+ columns and fits in L3 (re-read from L3 once per A block): fp32 the whole L3;
  // bf16 half a core's share, and only where broadcasts are instructions of their own
  // ("register" below). bf16 with compute "native" (B's (k, k+1) pairs go to vdpbf16ps as they
  // lie): up to 32 rows where that instruction is half the FMA rate.
  std::string stream = "none";
  // "dot": skinny problems (at most 8 rows of op(A) with B not transposed, or 8 columns of
  // op(B) with A transposed) as dot products that read the large operand once, in place,
  // contiguous in k, with no packing (AVX-512, fp32 or bf16 widened as it is loaded; the
  // blocking fields are unused). "blis": the five loops around the micro-kernels.
  std::string algo = "blis";
  // bf16 only: "native" multiplies bf16 pairs with vdpbf16ps; "widen" converts the panels to
  // fp32 while packing and runs the fp32 FMA kernels (products of bf16 values are exact in
  // fp32, accumulation is fp32 either way). Which is faster depends on the core.
  std::string compute = "native";
  // How the micro-kernels broadcast each B element (bf16: pair): "register" (one broadcast
  // instruction, then register operands) or "embedded" (AVX-512 only: folded into every
  // FMA / vdpbf16ps as a {1to16} memory operand; fewer instructions, but more loads). The
  // faster one depends on the core (embedded ran 0.87-0.92x register on a Zen 5, register
  // 0.93x embedded on a Sapphire Rapids); the default is measured once per process.
  std::string broadcast = "register";
};

// The config perfcal_sgemm / perfcal_sbgemm would use (the one selection point; a tuned
// lookup goes here). `threads` <= 0 means the default thread count.
CpuGemmConfig gemm_config_for(bool bf16, PerfcalOrder order, PerfcalTranspose trans_a,
                              PerfcalTranspose trans_b, int64_t m, int64_t n, int64_t k,
                              int threads);

// As perfcal_sgemm / perfcal_sbgemm with an explicit config (tuner, benchmarks). An
// invalid config returns -1 with the reason in *why (when non-null), C untouched.
int sgemm(const CpuGemmConfig& config, PerfcalOrder order, PerfcalTranspose trans_a,
          PerfcalTranspose trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc,
          std::string* why = nullptr);
int sbgemm(const CpuGemmConfig& config, PerfcalOrder order, PerfcalTranspose trans_a,
           PerfcalTranspose trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const uint16_t* a, int64_t lda, const uint16_t* b, int64_t ldb, float beta, float* c,
           int64_t ldc, std::string* why = nullptr);

}  // namespace perfcal
#endif /* __cplusplus */

#endif /* PERFCAL_GEMM_H_ */
