// Shared checker for the GEMM tests: builds seeded operands for a Problem (with optional
// leading-dimension padding and a misaligned start), runs a variant, and compares every
// element of C with the float64 reference of kernels/gemm/reference.cpp.
//
// Tolerance table (per element, err = |C - ref|):
//
//   dtype | bound                                                  | why
//   ------+--------------------------------------------------------+---------------------------
//   f32   | 4 (K + 2) eps_f32 (|alpha| sum_l |a_il b_lj| + |beta c_ij|) | K fp32 multiply-adds each
//         |                                                        | round once (gamma_K); +2
//         |                                                        | for the alpha and beta
//         |                                                        | updates; x4 for blocked
//         |                                                        | (k-split) summation order
//   bf16  | same, against the float64 reference on the bf16 inputs | inputs are bf16 already,
//         |                                                        | so the exact-input product
//         |                                                        | is computable; accumulation
//         |                                                        | is fp32 like f32
//
// A deliberately wrong kernel (dropping one k term) misses by |a_ik b_kj|, orders of
// magnitude above the bound for random inputs, so the same checker rejects it.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "gemm/gemm.h"

namespace perfcal::gemm::testing {

inline constexpr double kEpsF32 = 1.0 / (1 << 23);

struct Layout {
  int64_t pad = 0;        // added to every leading dimension
  int64_t offset = 0;     // elements the first element is shifted by (1 = misaligned)
  bool nan_c = false;     // fill C with NaN (only meaningful with beta == 0)
  bool integers = false;  // small integers in [-2, 2]: exact sums
  // NaN in A's and B's storage outside the matrices (ld padding, before the offset, past
  // the end): a kernel that reads any of it, even to multiply by a zero pad, returns NaN.
  bool nan_outside = false;
};

struct Outcome {
  bool ok = true;
  double worst_ratio = 0;  // max err / bound over C
  std::string detail;      // first failure
};

// Storage for one problem's operands as `dtype` elements, padded and offset per Layout.
struct Operands3 {
  std::vector<uint16_t> a16, b16;
  std::vector<float> a32, b32, c, c_in;
  int64_t off = 0;
  const void* a() const {
    return a16.empty() ? static_cast<const void*>(a32.data() + off) : a16.data() + off;
  }
  const void* b() const {
    return b16.empty() ? static_cast<const void*>(b32.data() + off) : b16.data() + off;
  }
  float* cp() { return c.data() + off; }
  const float* cin() const { return c_in.data() + off; }
};

inline Problem with_layout(Problem p, const Layout& l) {
  p.lda = std::max<int64_t>(1, p.a_rows()) + l.pad;
  p.ldb = std::max<int64_t>(1, p.b_rows()) + l.pad;
  p.ldc = std::max<int64_t>(1, p.m) + l.pad;
  return p;
}

inline Operands3 make_operands(const Problem& p, const Layout& l, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::uniform_int_distribution<int> small(-2, 2);
  auto value = [&] { return l.integers ? float(small(rng)) : u(rng); };
  Operands3 o;
  o.off = l.offset;
  const std::size_t na = a_elements(p) + l.offset + 1, nb = b_elements(p) + l.offset + 1;
  const std::size_t nc = c_elements(p) + l.offset + 1;
  if (p.dtype == Dtype::bf16) {
    o.a16.resize(na);
    o.b16.resize(nb);
    for (auto& x : o.a16) x = float_to_bf16(value());
    for (auto& x : o.b16) x = float_to_bf16(value());
  } else {
    o.a32.resize(na);
    o.b32.resize(nb);
    for (auto& x : o.a32) x = value();
    for (auto& x : o.b32) x = value();
  }
  if (l.nan_outside) {
    auto poison = [&](auto& v, int64_t elements, int64_t ld, int64_t rows, auto nan) {
      for (std::size_t e = 0; e < v.size(); ++e) {
        const int64_t rel = int64_t(e) - l.offset;
        if (!(rel >= 0 && rel < elements && rel % ld < rows)) v[e] = nan;
      }
    };
    const float qnan = std::numeric_limits<float>::quiet_NaN();
    const uint16_t bnan = 0x7fc0;
    if (p.dtype == Dtype::bf16) {
      poison(o.a16, a_elements(p), p.lda, p.a_rows(), bnan);
      poison(o.b16, b_elements(p), p.ldb, p.b_rows(), bnan);
    } else {
      poison(o.a32, a_elements(p), p.lda, p.a_rows(), qnan);
      poison(o.b32, b_elements(p), p.ldb, p.b_rows(), qnan);
    }
  }
  o.c.resize(nc);
  for (auto& x : o.c) x = l.nan_c ? std::numeric_limits<float>::quiet_NaN() : value();
  o.c_in = o.c;
  return o;
}

// Compares o.c (after the run) with the float64 reference; also checks that elements of
// C's storage outside the m x n matrix (ld padding, before the offset) were not written.
// exact: small-integer inputs, where every partial sum is exact in fp32, so any difference
// at all is a bug.
inline Outcome compare(const Problem& p, const Operands3& o, bool exact = false) {
  Outcome out;
  std::vector<double> ref(c_elements(p) + 1);
  reference(p, o.a(), o.b(), p.beta != 0.0f ? o.cin() : nullptr, ref.data());
  for (int64_t j = 0; j < p.n; ++j)
    for (int64_t i = 0; i < p.m; ++i) {
      double s = 0;
      for (int64_t l = 0; l < p.k; ++l) {
        double av = p.ta == Trans::N ? load(p.dtype, o.a(), p.lda, i, l)
                                     : load(p.dtype, o.a(), p.lda, l, i);
        double bv = p.tb == Trans::N ? load(p.dtype, o.b(), p.ldb, l, j)
                                     : load(p.dtype, o.b(), p.ldb, j, l);
        s += std::abs(av * bv);
      }
      const int64_t idx = i + j * p.ldc;
      const double cin = p.beta != 0.0f ? std::abs(double(o.cin()[idx])) : 0.0;
      const double bound = 4.0 * double(p.k + 2) * kEpsF32 *
                               (std::abs(double(p.alpha)) * s + std::abs(double(p.beta)) * cin) +
                           1e-30;
      const double got = o.c[o.off + idx];
      const double err =
          std::isfinite(got) ? std::abs(got - ref[idx]) : std::numeric_limits<double>::infinity();
      const double ratio =
          exact ? (err == 0 ? 0.0 : std::numeric_limits<double>::infinity()) : err / bound;
      out.worst_ratio = std::max(out.worst_ratio, ratio);
      if (!(ratio <= 1.0) && out.ok) {
        out.ok = false;
        out.detail = "C(" + std::to_string(i) + "," + std::to_string(j) +
                     ") = " + std::to_string(got) + ", reference " + std::to_string(ref[idx]) +
                     ", bound " + std::to_string(bound);
      }
    }
  // Untouched storage: every element that is not part of the m x n matrix.
  for (std::size_t e = 0; e < o.c.size(); ++e) {
    const int64_t rel = int64_t(e) - o.off;
    const bool inside = rel >= 0 && rel < c_elements(p) && (rel % p.ldc) < p.m;
    if (inside) continue;
    const float now = o.c[e], was = o.c_in[e];
    if (!(now == was || (std::isnan(now) && std::isnan(was))) && out.ok) {
      out.ok = false;
      out.detail = "wrote outside C at storage index " + std::to_string(e);
    }
  }
  return out;
}

inline std::string describe(const Problem& p, const Json& config, const Layout& l) {
  return "m=" + std::to_string(p.m) + " n=" + std::to_string(p.n) + " k=" + std::to_string(p.k) +
         " ta=" + (p.ta == Trans::N ? "N" : "T") + " tb=" + (p.tb == Trans::N ? "N" : "T") +
         " lda=" + std::to_string(p.lda) + " ldb=" + std::to_string(p.ldb) +
         " ldc=" + std::to_string(p.ldc) + " alpha=" + std::to_string(p.alpha) +
         " beta=" + std::to_string(p.beta) + " offset=" + std::to_string(l.offset) +
         " config=" + config.dump();
}

// Runs `v` on `p` (dims/transposes/alpha/beta from p; lds from the layout) and checks it.
inline Outcome run_and_check(const Variant& v, Problem p, const Json& config, const Layout& l,
                             uint64_t seed) {
  p = with_layout(p, l);
  Operands3 o = make_operands(p, l, seed);
  std::unique_ptr<Variant::Plan> plan;
  Status s = v.make_plan(p, config, &plan);
  Outcome out;
  if (!s.ok()) {
    out.ok = false;
    out.detail = "make_plan: " + s.message();
    return out;
  }
  s = plan->run(Operands{o.a(), o.b(), o.cp()});
  if (!s.ok()) {
    out.ok = false;
    out.detail = "run: " + s.message();
    return out;
  }
  out = compare(p, o, l.integers);
  if (!out.ok) out.detail = v.name() + " " + describe(p, config, l) + ": " + out.detail;
  return out;
}

}  // namespace perfcal::gemm::testing
