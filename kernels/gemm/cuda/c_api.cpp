// The public GPU GEMM API (<perfcal/cuda_gemm.h>): perfcal_cuda_sgemm / perfcal_cuda_gemm_bf16
// on device pointers and a stream, with perfcal_sgemm's (cblas) semantics.
//
// Row-major calls become the column-major gemm.h contract by C^T = op(B)^T op(A)^T (the
// operands swap places and keep their transpose flags), as in kernels/gemm/c_api.cpp. The
// call runs the registry's gemm/cuda/simt/f32 or gemm/cuda/mma/bf16 with its default config
// for the problem (the one selection point; a tuned lookup would slot in here).
// Errors: a code from cuda_gemm.h, the reason in a thread-local string; nothing printed.
// Without CUDA this file is not built: kernels/gemm/cuda_host_only.cpp provides the API.
#include <cuda_runtime.h>

#include <string>

#include "gemm/cuda/cuda_check.h"
#include "perfcal/cuda_gemm.h"

namespace perfcal::gemm::gpu {
namespace {

thread_local std::string t_last_error;

int fail(int code, std::string why) {
  t_last_error = std::move(why);
  return code;
}

int code_of(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk: return PERFCAL_CUDA_OK;
    case StatusCode::kInvalidArgument: return PERFCAL_CUDA_INVALID_ARGUMENT;
    case StatusCode::kUnsupported: return PERFCAL_CUDA_UNSUPPORTED;
    case StatusCode::kOutOfMemory: return PERFCAL_CUDA_OUT_OF_MEMORY;
    default: return PERFCAL_CUDA_INTERNAL;
  }
}

bool valid_trans(PerfcalTranspose t) {
  return t == PerfcalNoTrans || t == PerfcalTrans || t == PerfcalConjTrans;
}
Trans to_trans(PerfcalTranspose t) { return t == PerfcalNoTrans ? Trans::N : Trans::T; }

// Host memory the device cannot address (plain malloc/new) is an argument error, not a
// crash on the device.
bool device_accessible(const void* p) {
  cudaPointerAttributes at{};
  if (cudaPointerGetAttributes(&at, p) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return at.type != cudaMemoryTypeUnregistered;
}

int execute(const char* routine, bool bf16, PerfcalOrder order, PerfcalTranspose ta,
            PerfcalTranspose tb, int64_t m, int64_t n, int64_t k, float alpha, const void* a,
            int64_t lda, const void* b, int64_t ldb, float beta, float* c, int64_t ldc,
            void* stream) {
  t_last_error.clear();
  auto bad = [&](const std::string& what) {
    return fail(PERFCAL_CUDA_INVALID_ARGUMENT, std::string(routine) + ": " + what);
  };
  if (order != PerfcalRowMajor && order != PerfcalColMajor)
    return bad("order must be 101 (row major) or 102 (column major)");
  if (!valid_trans(ta)) return bad("trans_a must be 111, 112 or 113");
  if (!valid_trans(tb)) return bad("trans_b must be 111, 112 or 113");
  if (m < 0 || n < 0 || k < 0) return bad("m, n and k must be non-negative");
  const bool col = order == PerfcalColMajor;
  const bool na = ta == PerfcalNoTrans, nb = tb == PerfcalNoTrans;
  const int64_t need_a = col ? (na ? m : k) : (na ? k : m);
  const int64_t need_b = col ? (nb ? k : n) : (nb ? n : k);
  const int64_t need_c = col ? m : n;
  if (lda < std::max<int64_t>(1, need_a)) return bad("lda = " + std::to_string(lda) + " too small");
  if (ldb < std::max<int64_t>(1, need_b)) return bad("ldb = " + std::to_string(ldb) + " too small");
  if (ldc < std::max<int64_t>(1, need_c)) return bad("ldc = " + std::to_string(ldc) + " too small");
  if (m == 0 || n == 0) return PERFCAL_CUDA_OK;
  const bool product = k > 0 && alpha != 0.0f;
  if (product && (!a || !b)) return bad("A or B is null");
  if (!c) return bad("C is null");

  if (Status s = device_available(); !s.ok()) return fail(code_of(s), s.message());
  if (product && (!device_accessible(a) || !device_accessible(b)))
    return bad("A or B is not device-accessible memory");
  if (!device_accessible(c)) return bad("C is not device-accessible memory");

  Problem p;
  p.dtype = bf16 ? Dtype::bf16 : Dtype::f32;
  p.alpha = alpha, p.beta = beta, p.k = k, p.ldc = ldc;
  Operands o;
  o.c = c;
  o.stream = stream;
  if (col) {
    p.m = m, p.n = n, p.ta = to_trans(ta), p.tb = to_trans(tb), p.lda = lda, p.ldb = ldb;
    o.a = a, o.b = b;
  } else {
    p.m = n, p.n = m, p.ta = to_trans(tb), p.tb = to_trans(ta), p.lda = ldb, p.ldb = lda;
    o.a = b, o.b = a;
  }
  if (!product) {
    // alpha == 0 or k == 0: A and B are never read (they may be null); the kernels compute
    // beta C from a zero accumulator when k == 0, so run with k = 0.
    p.k = 0;
    p.lda = std::max<int64_t>(1, p.ta == Trans::N ? p.m : 0);
    p.ldb = std::max<int64_t>(1, p.tb == Trans::N ? 0 : p.n);
  }
  const Variant* v =
      Registry::instance().find(bf16 ? "gemm/cuda/mma/bf16" : "gemm/cuda/simt/f32");
  if (!v) return fail(PERFCAL_CUDA_INTERNAL, "GPU GEMM variant not registered");
  std::unique_ptr<Variant::Plan> plan;
  if (Status s = v->make_plan(p, v->default_config(p), &plan); !s.ok())
    return fail(code_of(s), s.message());
  if (Status s = plan->run(o); !s.ok()) return fail(code_of(s), s.message());
  return PERFCAL_CUDA_OK;
}

}  // namespace
}  // namespace perfcal::gemm::gpu

extern "C" int perfcal_cuda_sgemm(PerfcalOrder order, PerfcalTranspose trans_a,
                                  PerfcalTranspose trans_b, int64_t m, int64_t n, int64_t k,
                                  float alpha, const float* a, int64_t lda, const float* b,
                                  int64_t ldb, float beta, float* c, int64_t ldc, void* stream) {
  return perfcal::gemm::gpu::execute("perfcal_cuda_sgemm", false, order, trans_a, trans_b, m, n,
                                     k, alpha, a, lda, b, ldb, beta, c, ldc, stream);
}

extern "C" int perfcal_cuda_gemm_bf16(PerfcalOrder order, PerfcalTranspose trans_a,
                                      PerfcalTranspose trans_b, int64_t m, int64_t n, int64_t k,
                                      float alpha, const uint16_t* a, int64_t lda,
                                      const uint16_t* b, int64_t ldb, float beta, float* c,
                                      int64_t ldc, void* stream) {
  return perfcal::gemm::gpu::execute("perfcal_cuda_gemm_bf16", true, order, trans_a, trans_b, m,
                                     n, k, alpha, a, lda, b, ldb, beta, c, ldc, stream);
}

extern "C" const char* perfcal_cuda_last_error(void) {
  return perfcal::gemm::gpu::t_last_error.c_str();
}
