// The public API <perfcal/perfcal.h>: perfcal_sgemm / perfcal_sbgemm with full BLAS
// semantics in both orders, cblas-style argument errors, the C++ explicit-config entries,
// and the PERFCAL_ISA fallbacks through the API. The reference here is written in the
// caller's own (row- or column-major) indexing, independent of the API's mapping.
#include <gtest/gtest.h>
#include <perfcal/perfcal.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "gemm/blis.h"

namespace {

constexpr double kEps = 1.0 / (1 << 23);

struct Case {
  PerfcalOrder order;
  PerfcalTranspose ta, tb;
  int64_t m, n, k;
  float alpha, beta;
  int64_t pad;
};

// Element (r, c) of a stored matrix in the caller's order.
inline int64_t at(PerfcalOrder o, int64_t r, int64_t c, int64_t ld) {
  return o == PerfcalColMajor ? r + c * ld : r * ld + c;
}

// Runs one case through perfcal_sgemm (bf16 = false) or perfcal_sbgemm and checks every
// element against a float64 reference (bound as in gemm_testing.h), plus untouched padding.
void check_case(const Case& x, bool bf16, uint64_t seed) {
  const bool col = x.order == PerfcalColMajor;
  const int64_t ar = x.ta == PerfcalNoTrans ? x.m : x.k, ac = x.ta == PerfcalNoTrans ? x.k : x.m;
  const int64_t br = x.tb == PerfcalNoTrans ? x.k : x.n, bc = x.tb == PerfcalNoTrans ? x.n : x.k;
  const int64_t lda = (col ? ar : ac) + x.pad, ldb = (col ? br : bc) + x.pad;
  const int64_t ldc = (col ? x.m : x.n) + x.pad;
  const int64_t outer_a = col ? ac : ar, outer_b = col ? bc : br, outer_c = col ? x.n : x.m;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> a(lda * outer_a + 1), b(ldb * outer_b + 1), c(ldc * outer_c + 1);
  std::vector<uint16_t> a16(a.size()), b16(b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    a16[i] = perfcal::float_to_bf16(u(rng));
    a[i] = bf16 ? perfcal::bf16_to_float(a16[i]) : u(rng);
  }
  for (std::size_t i = 0; i < b.size(); ++i) {
    b16[i] = perfcal::float_to_bf16(u(rng));
    b[i] = bf16 ? perfcal::bf16_to_float(b16[i]) : u(rng);
  }
  for (auto& v : c) v = u(rng);
  const std::vector<float> c0 = c;
  auto opa = [&](int64_t i, int64_t l) {
    return double(x.ta == PerfcalNoTrans ? a[at(x.order, i, l, lda)] : a[at(x.order, l, i, lda)]);
  };
  auto opb = [&](int64_t l, int64_t j) {
    return double(x.tb == PerfcalNoTrans ? b[at(x.order, l, j, ldb)] : b[at(x.order, j, l, ldb)]);
  };
  const int rc = bf16 ? perfcal_sbgemm(x.order, x.ta, x.tb, x.m, x.n, x.k, x.alpha, a16.data(), lda,
                                       b16.data(), ldb, x.beta, c.data(), ldc)
                      : perfcal_sgemm(x.order, x.ta, x.tb, x.m, x.n, x.k, x.alpha, a.data(), lda,
                                      b.data(), ldb, x.beta, c.data(), ldc);
  ASSERT_EQ(rc, 0);
  std::vector<bool> inside(c.size(), false);
  for (int64_t i = 0; i < x.m; ++i)
    for (int64_t j = 0; j < x.n; ++j) {
      double s = 0, sabs = 0;
      for (int64_t l = 0; l < x.k; ++l) {
        s += opa(i, l) * opb(l, j);
        sabs += std::abs(opa(i, l) * opb(l, j));
      }
      const int64_t idx = at(x.order, i, j, ldc);
      inside[idx] = true;
      const double ref = x.alpha * s + (x.beta != 0 ? x.beta * double(c0[idx]) : 0.0);
      const double bound =
          4.0 * (x.k + 2) * kEps * (std::abs(x.alpha) * sabs + std::abs(x.beta * c0[idx])) + 1e-30;
      ASSERT_LE(std::abs(c[idx] - ref), bound)
          << "C(" << i << "," << j << ") order=" << x.order << " ta=" << x.ta << " tb=" << x.tb
          << " m=" << x.m << " n=" << x.n << " k=" << x.k << " bf16=" << bf16;
    }
  for (std::size_t e = 0; e < c.size(); ++e)
    if (!inside[e]) ASSERT_EQ(c[e], c0[e]) << "padding of C written at " << e;
}

TEST(GemmCApi, BothOrdersEveryTransposeAlphaBeta) {
  for (PerfcalOrder o : {PerfcalRowMajor, PerfcalColMajor})
    for (PerfcalTranspose ta : {PerfcalNoTrans, PerfcalTrans, PerfcalConjTrans})
      for (PerfcalTranspose tb : {PerfcalNoTrans, PerfcalTrans})
        for (float alpha : {1.0f, -1.5f})
          for (float beta : {0.0f, 1.0f, -1.5f})
            for (bool bf16 : {false, true}) {
              check_case({o, ta, tb, 37, 53, 29, alpha, beta, 0}, bf16, 1);
              check_case({o, ta, tb, 70, 9, 300, alpha, beta, 5}, bf16, 2);  // padded ld
            }
}

TEST(GemmCApi, KnownRowMajorAnswer) {
  const float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8};
  float c[4] = {0, 0, 0, 0};
  ASSERT_EQ(perfcal_sgemm(PerfcalRowMajor, PerfcalNoTrans, PerfcalNoTrans, 2, 2, 2, 1.0f, a, 2, b,
                          2, 0.0f, c, 2),
            0);
  EXPECT_EQ(c[0], 19);
  EXPECT_EQ(c[1], 22);
  EXPECT_EQ(c[2], 43);
  EXPECT_EQ(c[3], 50);
}

TEST(GemmCApi, BlasEdgeSemantics) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> a(6, 1.0f), b(6, 1.0f), c(4, nan);
  // beta = 0 overwrites NaN in C.
  ASSERT_EQ(perfcal_sgemm(PerfcalColMajor, PerfcalNoTrans, PerfcalNoTrans, 2, 2, 3, 1.0f, a.data(),
                          2, b.data(), 3, 0.0f, c.data(), 2),
            0);
  for (float v : c) EXPECT_EQ(v, 3.0f);
  // K = 0: C = beta * C, A and B never read (null is fine).
  ASSERT_EQ(perfcal_sgemm(PerfcalColMajor, PerfcalNoTrans, PerfcalNoTrans, 2, 2, 0, 1.0f, nullptr,
                          2, nullptr, 1, -1.5f, c.data(), 2),
            0);
  for (float v : c) EXPECT_EQ(v, -4.5f);
  // alpha = 0 and beta = 0: zeros, even over NaN.
  std::fill(c.begin(), c.end(), nan);
  ASSERT_EQ(perfcal_sgemm(PerfcalRowMajor, PerfcalTrans, PerfcalNoTrans, 2, 2, 3, 0.0f, a.data(), 2,
                          b.data(), 2, 0.0f, c.data(), 2),
            0);
  for (float v : c) EXPECT_EQ(v, 0.0f);
  // M = 0 or N = 0: returns at once, C untouched (even a null C).
  EXPECT_EQ(perfcal_sgemm(PerfcalColMajor, PerfcalNoTrans, PerfcalNoTrans, 0, 2, 3, 1.0f, a.data(),
                          1, b.data(), 3, 0.0f, nullptr, 1),
            0);
  EXPECT_EQ(perfcal_sgemm(PerfcalColMajor, PerfcalNoTrans, PerfcalNoTrans, 2, 0, 3, 1.0f, a.data(),
                          2, b.data(), 3, 0.0f, nullptr, 2),
            0);
}

TEST(GemmCApi, InvalidArgumentsAreReportedLikeCblas) {
  std::vector<float> a(100, 1.0f), b(100, 1.0f), c(100, 7.0f);
  struct Bad {
    int want;
    PerfcalOrder o;
    PerfcalTranspose ta, tb;
    int64_t m, n, k, lda, ldb, ldc;
  };
  const PerfcalOrder R = PerfcalRowMajor, C = PerfcalColMajor;
  const PerfcalTranspose N = PerfcalNoTrans, T = PerfcalTrans;
  const Bad cases[] = {
      {1, static_cast<PerfcalOrder>(7), N, N, 2, 2, 2, 2, 2, 2},
      {2, C, static_cast<PerfcalTranspose>(0), N, 2, 2, 2, 2, 2, 2},
      {3, C, N, static_cast<PerfcalTranspose>(114), 2, 2, 2, 2, 2, 2},
      {4, C, N, N, -1, 2, 2, 2, 2, 2},
      {5, C, N, N, 2, -3, 2, 2, 2, 2},
      {6, C, N, N, 2, 2, -1, 2, 2, 2},
      {9, C, N, N, 5, 2, 2, 4, 2, 5},   // col major, A not transposed: lda >= M
      {9, C, T, N, 2, 2, 5, 4, 5, 2},   // col major, A transposed: lda >= K
      {9, R, N, N, 2, 2, 5, 4, 2, 2},   // row major, A not transposed: lda >= K
      {11, C, N, N, 2, 2, 5, 2, 4, 2},  // ldb >= K
      {11, R, N, N, 2, 6, 2, 2, 5, 6},  // row major: ldb >= N
      {14, C, N, N, 5, 2, 2, 5, 2, 4},  // ldc >= M
      {14, R, N, N, 2, 5, 2, 2, 5, 4},  // row major: ldc >= N
      {9, C, N, N, 0, 2, 2, 0, 2, 1},   // lda >= max(1, M) even when M = 0
  };
  for (const Bad& x : cases) {
    ::testing::internal::CaptureStderr();
    const int rc = perfcal_sgemm(x.o, x.ta, x.tb, x.m, x.n, x.k, 1.0f, a.data(), x.lda, b.data(),
                                 x.ldb, 0.0f, c.data(), x.ldc);
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(rc, x.want);
    EXPECT_NE(err.find("parameter number " + std::to_string(x.want)), std::string::npos) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << "one line per bad call: " << err;
    for (float v : c) ASSERT_EQ(v, 7.0f) << "C touched on an invalid call";
  }
  // Null operands where they would be read.
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(perfcal_sgemm(C, N, N, 2, 2, 2, 1.0f, nullptr, 2, b.data(), 2, 0.0f, c.data(), 2), 8);
  EXPECT_EQ(perfcal_sbgemm(C, N, N, 2, 2, 2, 1.0f, nullptr, 2, nullptr, 2, 0.0f, c.data(), 2), 8);
  ::testing::internal::GetCapturedStderr();
}

TEST(GemmCApi, ExplicitConfig) {
  const int64_t m = 70, n = 50, k = 90;
  std::vector<float> a(m * k, 0.5f), b(k * n, 2.0f), c(m * n, 0.0f);
  perfcal::CpuGemmConfig cfg =
      perfcal::gemm_config_for(false, PerfcalColMajor, PerfcalNoTrans, PerfcalNoTrans, m, n, k, 2);
  EXPECT_GT(cfg.mr, 0);
  cfg.threads = 2;
  cfg.parallel_loop = "jr";
  cfg.stream = "none";  // "jr" shares B panels between the threads: packed up front
  std::string why;
  ASSERT_EQ(perfcal::sgemm(cfg, PerfcalColMajor, PerfcalNoTrans, PerfcalNoTrans, m, n, k, 1.0f,
                           a.data(), m, b.data(), k, 0.0f, c.data(), m, &why),
            0)
      << why;
  for (float v : c) ASSERT_EQ(v, 90.0f);
  cfg.mc = cfg.mr + 1;  // not a multiple of mr: refused, C untouched
  std::fill(c.begin(), c.end(), 3.0f);
  EXPECT_EQ(perfcal::sgemm(cfg, PerfcalColMajor, PerfcalNoTrans, PerfcalNoTrans, m, n, k, 1.0f,
                           a.data(), m, b.data(), k, 0.0f, c.data(), m, &why),
            -1);
  EXPECT_NE(why.find("mc"), std::string::npos) << why;
  for (float v : c) ASSERT_EQ(v, 3.0f);
}

TEST(GemmCApi, IsaFallbacksGiveTheSameAnswers) {
  for (const char* isa : {"avx2", "portable"}) {
    setenv("PERFCAL_ISA", isa, 1);
    for (PerfcalOrder o : {PerfcalRowMajor, PerfcalColMajor})
      for (bool bf16 : {false, true}) {
        check_case({o, PerfcalTrans, PerfcalNoTrans, 45, 23, 70, -1.5f, 1.0f, 1}, bf16, 3);
        check_case({o, PerfcalNoTrans, PerfcalTrans, 17, 41, 9, 1.0f, 0.0f, 0}, bf16, 4);
      }
    unsetenv("PERFCAL_ISA");
  }
}

}  // namespace
