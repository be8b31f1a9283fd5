// GEMM family contract. Every GEMM variant, perfcal's own or a baseline, implements exactly
// this operation (column-major, BLAS semantics):
//
//   C[m x n] = alpha * op(A)[m x k] * op(B)[k x n] + beta * C
//
//   op(X) = X or X^T (Trans::N / Trans::T); element (i, j) of a column-major matrix with
//   leading dimension ld lives at X[i + j * ld].
//   A is m x k (ta = N, lda >= m) or k x m (ta = T, lda >= k); B likewise with k x n.
//   A and B hold `dtype` elements (f32, or bf16 as uint16 bit patterns); C is always f32
//   and accumulation is always f32 or wider.
//   beta == 0 overwrites C without reading it (NaN already in C does not survive);
//   k == 0 leaves beta * C; m == 0 or n == 0 returns at once.
//
// Row-major callers are mapped onto this contract by the C API (C^T = B^T A^T), so variants
// see one layout only. Edge tiles (m, n, k not multiples of a tile) are the variant's job.
//
// Packed layout used by the BLIS-style variants (kernels/gemm/blis_*.{h,cpp}):
//
//    A panel (MR x KC), k-major:        B panel (KC x NR), k-major:
//    a[0,0] a[1,0] .. a[MR-1,0]         b[0,0] b[0,1] .. b[0,NR-1]
//    a[0,1] a[1,1] .. a[MR-1,1]         b[1,0] b[1,1] .. b[1,NR-1]
//    ...                                ...
//  Rows past m / columns past n are zero-filled, so the micro-kernel always computes a full
//  MR x NR tile and only its store is masked.
#pragma once
#include <cstdint>

#include "core/registry.h"

namespace perfcal::gemm {

enum class Trans : uint8_t { N, T };

struct Problem {
  Dtype dtype = Dtype::f32;  // element type of A and B; C is f32
  Trans ta = Trans::N, tb = Trans::N;
  int64_t m = 0, n = 0, k = 0;
  int64_t lda = 1, ldb = 1, ldc = 1;
  float alpha = 1.0f, beta = 0.0f;

  // Tightly packed column-major problem (ld = rows of the stored matrix).
  static Problem dense(Dtype dtype, int64_t m, int64_t n, int64_t k, Trans ta = Trans::N,
                       Trans tb = Trans::N);
  // Rows x cols of A and B as stored.
  int64_t a_rows() const { return ta == Trans::N ? m : k; }
  int64_t a_cols() const { return ta == Trans::N ? k : m; }
  int64_t b_rows() const { return tb == Trans::N ? k : n; }
  int64_t b_cols() const { return tb == Trans::N ? n : k; }
};

struct Operands {
  const void* a = nullptr;  // dtype elements
  const void* b = nullptr;  // dtype elements
  float* c = nullptr;
};

using Variant = perfcal::Variant<Problem, Operands>;
using Registry = perfcal::Registry<Variant>;
using Registrar = perfcal::Registrar<Variant>;

// Sizes non-negative, leading dimensions large enough, element counts that fit in memory
// arithmetic; the message names the offending argument.
Status validate(const Problem& p);

// Roofline inputs: 2mnk FLOPs; bytes = read A and B once, read (beta != 0) and write C once.
double flops(const Problem& p);
double min_bytes(const Problem& p);

// Element counts of the stored matrices (ld * cols), 0 when the matrix is empty.
int64_t a_elements(const Problem& p);
int64_t b_elements(const Problem& p);
int64_t c_elements(const Problem& p);

// Reads element (r, c) of stored matrix X of `dtype` as double.
double load(Dtype dtype, const void* x, int64_t ld, int64_t r, int64_t c);

// The float64 reference: the most obvious code in the folder. c_in may be null when
// beta == 0. Writes every element of c_out (column-major, ld = p.ldc).
void reference(const Problem& p, const void* a, const void* b, const float* c_in,
               double* c_out);
// One element of the reference, for sampled verification of problems too big to check in
// full.
double reference_entry(const Problem& p, const void* a, const void* b, const float* c_in,
                       int64_t i, int64_t j);

}  // namespace perfcal::gemm

template <>
perfcal::gemm::Registry& perfcal::gemm::Registry::instance();
