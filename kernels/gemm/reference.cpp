// Float64 reference for the GEMM contract in gemm.h, plus the contract's helpers
// (validation, cost). Deliberately the obvious triple loop.
#include <cmath>
#include <limits>
#include <string>

#include "gemm/gemm.h"

// The family's one registry instance. Specialized in perfcal, the template's namespace, as
// the standard requires (GCC also accepts it inside the family's namespace; clang does not).
namespace perfcal {
template <>
gemm::Registry& gemm::Registry::instance() {
  static gemm::Registry r;
  return r;
}
}  // namespace perfcal

namespace perfcal::gemm {

Problem Problem::dense(Dtype dtype, int64_t m, int64_t n, int64_t k, Trans ta, Trans tb) {
  Problem p;
  p.dtype = dtype;
  p.ta = ta;
  p.tb = tb;
  p.m = m;
  p.n = n;
  p.k = k;
  p.lda = std::max<int64_t>(1, p.a_rows());
  p.ldb = std::max<int64_t>(1, p.b_rows());
  p.ldc = std::max<int64_t>(1, m);
  return p;
}

namespace {
int64_t stored(int64_t ld, int64_t rows, int64_t cols) {
  return (rows == 0 || cols == 0) ? 0 : ld * (cols - 1) + rows;
}
}  // namespace

int64_t a_elements(const Problem& p) { return stored(p.lda, p.a_rows(), p.a_cols()); }
int64_t b_elements(const Problem& p) { return stored(p.ldb, p.b_rows(), p.b_cols()); }
int64_t c_elements(const Problem& p) { return stored(p.ldc, p.m, p.n); }

Status validate(const Problem& p) {
  if (p.dtype != Dtype::f32 && p.dtype != Dtype::bf16)
    return Status::Unsupported(std::string("gemm dtype ") + to_string(p.dtype));
  if (p.m < 0) return Status::Invalid("m must be >= 0");
  if (p.n < 0) return Status::Invalid("n must be >= 0");
  if (p.k < 0) return Status::Invalid("k must be >= 0");
  if (p.lda < std::max<int64_t>(1, p.a_rows())) return Status::Invalid("lda too small");
  if (p.ldb < std::max<int64_t>(1, p.b_rows())) return Status::Invalid("ldb too small");
  if (p.ldc < std::max<int64_t>(1, p.m)) return Status::Invalid("ldc too small");
  // Keep every element index and byte count inside int64 (2^62 leaves room for * 4 bytes).
  const int64_t limit = int64_t{1} << 60;
  auto fits = [&](int64_t ld, int64_t cols) { return cols == 0 || ld <= limit / cols; };
  if (!fits(p.lda, p.a_cols()) || !fits(p.ldb, p.b_cols()) || !fits(p.ldc, p.n))
    return Status::Invalid("matrix sizes overflow 64-bit element counts");
  return Status::Ok();
}

double flops(const Problem& p) { return 2.0 * double(p.m) * double(p.n) * double(p.k); }

double min_bytes(const Problem& p) {
  double es = double(size_of(p.dtype));
  double c_passes = p.beta != 0.0f ? 2.0 : 1.0;
  return es * (double(p.m) * p.k + double(p.k) * p.n) + 4.0 * c_passes * double(p.m) * p.n;
}

double load(Dtype dtype, const void* x, int64_t ld, int64_t r, int64_t c) {
  int64_t idx = r + c * ld;
  if (dtype == Dtype::bf16) return bf16_to_float(static_cast<const uint16_t*>(x)[idx]);
  return static_cast<const float*>(x)[idx];
}

double reference_entry(const Problem& p, const void* a, const void* b, const float* c_in, int64_t i,
                       int64_t j) {
  double acc = 0.0;
  for (int64_t l = 0; l < p.k; ++l) {
    double av = p.ta == Trans::N ? load(p.dtype, a, p.lda, i, l) : load(p.dtype, a, p.lda, l, i);
    double bv = p.tb == Trans::N ? load(p.dtype, b, p.ldb, l, j) : load(p.dtype, b, p.ldb, j, l);
    acc += av * bv;
  }
  double out = double(p.alpha) * acc;
  if (p.beta != 0.0f) out += double(p.beta) * double(c_in[i + j * p.ldc]);
  return out;
}

void reference(const Problem& p, const void* a, const void* b, const float* c_in, double* c_out) {
  for (int64_t j = 0; j < p.n; ++j)
    for (int64_t i = 0; i < p.m; ++i) c_out[i + j * p.ldc] = reference_entry(p, a, b, c_in, i, j);
}

}  // namespace perfcal::gemm
