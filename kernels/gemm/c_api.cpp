// The public GEMM API (<perfcal/gemm.h>): perfcal_sgemm / perfcal_sbgemm with cblas
// semantics, and the C++ entries taking an explicit CpuGemmConfig.
//
// Row-major calls are mapped onto the column-major contract of gemm.h by computing
// C^T = op(B)^T op(A)^T: a row-major matrix read column-major is its transpose, so the
// operands swap places and keep their own transpose flags.
//
// Argument errors follow cblas/xerbla: the first invalid argument in call order is named by
// its 1-based position in the call, one line goes to stderr, C is not touched and that
// position is returned. (kernels/ code otherwise never prints; this is the C API's contract.)
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/tuned.h"
#include "gemm/blis.h"

namespace perfcal {
namespace {

using gemm::Problem;
using gemm::Trans;

bool valid_trans(PerfcalTranspose t) {
  return t == PerfcalNoTrans || t == PerfcalTrans || t == PerfcalConjTrans;
}
Trans to_trans(PerfcalTranspose t) { return t == PerfcalNoTrans ? Trans::N : Trans::T; }

int default_threads() {
  if (const char* e = std::getenv("PERFCAL_NUM_THREADS")) {
    int t = std::atoi(e);
    if (t > 0) return t;
  }
  return std::max(1, omp_get_max_threads());
}

struct Call {
  const char* routine;
  bool bf16;
  PerfcalOrder order;
  PerfcalTranspose ta, tb;
  int64_t m, n, k;
  float alpha;
  const void* a;
  int64_t lda;
  const void* b;
  int64_t ldb;
  float beta;
  float* c;
  int64_t ldc;
};

// cblas argument check; returns 0 or the position of the first bad argument, and writes
// the xerbla-style line.
int check(const Call& x) {
  auto bad = [&](int pos, const std::string& what) {
    std::fprintf(stderr, "** On entry to %s parameter number %d had an illegal value (%s)\n",
                 x.routine, pos, what.c_str());
    return pos;
  };
  if (x.order != PerfcalRowMajor && x.order != PerfcalColMajor)
    return bad(1, "order must be 101 (row major) or 102 (column major)");
  if (!valid_trans(x.ta)) return bad(2, "TransA must be 111, 112 or 113");
  if (!valid_trans(x.tb)) return bad(3, "TransB must be 111, 112 or 113");
  if (x.m < 0) return bad(4, "M < 0");
  if (x.n < 0) return bad(5, "N < 0");
  if (x.k < 0) return bad(6, "K < 0");
  const bool col = x.order == PerfcalColMajor;
  const bool na = x.ta == PerfcalNoTrans, nb = x.tb == PerfcalNoTrans;
  // Stored rows (column major) or columns (row major) of each matrix.
  const int64_t need_a = col ? (na ? x.m : x.k) : (na ? x.k : x.m);
  const int64_t need_b = col ? (nb ? x.k : x.n) : (nb ? x.n : x.k);
  const int64_t need_c = col ? x.m : x.n;
  const bool product = x.m > 0 && x.n > 0 && x.k > 0 && x.alpha != 0.0f;
  if (product && !x.a) return bad(8, "A is null");
  if (x.lda < std::max<int64_t>(1, need_a))
    return bad(9, "lda = " + std::to_string(x.lda) + " < max(1, " + std::to_string(need_a) + ")");
  if (product && !x.b) return bad(10, "B is null");
  if (x.ldb < std::max<int64_t>(1, need_b))
    return bad(11, "ldb = " + std::to_string(x.ldb) + " < max(1, " + std::to_string(need_b) + ")");
  if (x.m > 0 && x.n > 0 && !x.c) return bad(13, "C is null");
  if (x.ldc < std::max<int64_t>(1, need_c))
    return bad(14, "ldc = " + std::to_string(x.ldc) + " < max(1, " + std::to_string(need_c) + ")");
  return 0;
}

// The call as a column-major problem of the gemm.h contract.
Problem to_problem(const Call& x, gemm::Operands* ops) {
  Problem p;
  p.dtype = x.bf16 ? Dtype::bf16 : Dtype::f32;
  p.alpha = x.alpha;
  p.beta = x.beta;
  p.k = x.k;
  p.ldc = x.ldc;
  ops->c = x.c;
  if (x.order == PerfcalColMajor) {
    p.m = x.m, p.n = x.n;
    p.ta = to_trans(x.ta), p.tb = to_trans(x.tb);
    p.lda = x.lda, p.ldb = x.ldb;
    ops->a = x.a, ops->b = x.b;
  } else {
    p.m = x.n, p.n = x.m;
    p.ta = to_trans(x.tb), p.tb = to_trans(x.ta);
    p.lda = x.ldb, p.ldb = x.lda;
    ops->a = x.b, ops->b = x.a;
  }
  return p;
}

// The one config-selection point (a tuned-config lookup slots in here, falling back to the
// analytical default).
CpuGemmConfig select_config(const Problem& p, const gemm::KernelSet& ks, int threads) {
  // A tuned config for the nearest shape bucket (perfcal_load_profile / PERFCAL_PROFILE),
  // used only when valid here. Threads: an explicit count wins; a tuned count never exceeds
  // what PERFCAL_NUM_THREADS / OpenMP allow.
  if (tuned::active()) {
    const std::string name =
        std::string("gemm/cpu/") + to_string(ks.isa) + "/" + to_string(ks.dtype);
    auto op = [](gemm::Trans t) { return t == gemm::Trans::T ? 'T' : 'N'; };
    if (auto j = tuned::lookup(name, p.m, p.n, p.k, nullptr, op(p.ta), op(p.tb))) {
      CpuGemmConfig c;
      if (parse_config(*j, &c).ok()) {
        c.threads = threads > 0 ? threads : std::min(c.threads, default_threads());
        // Checked on the dense problem of the same shape: config constraints do not depend
        // on leading dimensions, and gemm_config_for passes placeholder ones.
        if (gemm::can_implement(c, Problem::dense(p.dtype, p.m, p.n, p.k, p.ta, p.tb), ks).ok())
          return c;
      }
    }
  }
  return gemm::default_config(p, ks, threads > 0 ? threads : default_threads());
}

// Runs a checked call; config null = the selected default. Returns the status code.
int execute(const Call& x, const CpuGemmConfig* config, std::string* why) {
  if (int bad = check(x)) return bad;
  if (x.m == 0 || x.n == 0) return 0;
  gemm::Operands ops;
  const Problem p = to_problem(x, &ops);
  const gemm::KernelSet* ks = gemm::best_kernel_set(p.dtype);
  if (!ks) {
    if (why) *why = "no GEMM kernels for this dtype on this CPU";
    return -1;
  }
  const CpuGemmConfig c = config ? *config : select_config(p, *ks, 0);
  if (Status s = gemm::can_implement(c, p, *ks); !s.ok()) {
    if (why) *why = s.message();
    return -1;
  }
  // Packed panels persist per calling thread, so repeated calls do not reallocate.
  thread_local gemm::Workspace ws;
  if (Status s = gemm::run(p, ops, c, *ks, &ws); !s.ok()) {
    if (why) *why = s.message();
    return -1;
  }
  return 0;
}

}  // namespace

CpuGemmConfig gemm_config_for(bool bf16, PerfcalOrder order, PerfcalTranspose trans_a,
                              PerfcalTranspose trans_b, int64_t m, int64_t n, int64_t k,
                              int threads) {
  Call x{"gemm_config_for", bf16, order,   trans_a, trans_b, m,       n, k, 1.0f,
         nullptr,           1,    nullptr, 1,       0.0f,    nullptr, 1};
  gemm::Operands ops;
  const Problem p = to_problem(x, &ops);
  const gemm::KernelSet* ks = gemm::best_kernel_set(p.dtype);
  if (!ks) return CpuGemmConfig{};
  return select_config(p, *ks, threads);
}

int sgemm(const CpuGemmConfig& config, PerfcalOrder order, PerfcalTranspose trans_a,
          PerfcalTranspose trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc,
          std::string* why) {
  return execute({"perfcal::sgemm", false, order, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb,
                  beta, c, ldc},
                 &config, why);
}

int sbgemm(const CpuGemmConfig& config, PerfcalOrder order, PerfcalTranspose trans_a,
           PerfcalTranspose trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const uint16_t* a, int64_t lda, const uint16_t* b, int64_t ldb, float beta, float* c,
           int64_t ldc, std::string* why) {
  return execute({"perfcal::sbgemm", true, order, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb,
                  beta, c, ldc},
                 &config, why);
}

}  // namespace perfcal

extern "C" int perfcal_sgemm(PerfcalOrder order, PerfcalTranspose trans_a, PerfcalTranspose trans_b,
                             int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                             int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                             int64_t ldc) {
  return perfcal::execute({"perfcal_sgemm", false, order, trans_a, trans_b, m, n, k, alpha, a, lda,
                           b, ldb, beta, c, ldc},
                          nullptr, nullptr);
}

extern "C" int perfcal_sbgemm(PerfcalOrder order, PerfcalTranspose trans_a,
                              PerfcalTranspose trans_b, int64_t m, int64_t n, int64_t k,
                              float alpha, const uint16_t* a, int64_t lda, const uint16_t* b,
                              int64_t ldb, float beta, float* c, int64_t ldc) {
  return perfcal::execute({"perfcal_sbgemm", true, order, trans_a, trans_b, m, n, k, alpha, a, lda,
                           b, ldb, beta, c, ldc},
                          nullptr, nullptr);
}
