// GPU GEMM (gemm::gpu registry and <perfcal/cuda_gemm.h>) against the float64 reference.
// Labelled `gpu`; every test that needs a device GTEST_SKIPs without one, so this program
// passes on machines with the CUDA Toolkit and no GPU (CI, the development machines).
//
// Every variant, perfcal's and the cuBLAS/cuBLASLt baselines: awkward shapes (1, 17, 129,
// primes, every compiled tile config crossed by non-multiples in m, n and k), all four
// transposes, alpha/beta in {0, 1, -1.5}, padded leading dimensions and misaligned pointers
// (the guarded paths), NaN-poisoned C with beta = 0 (unwritten elements stay NaN), k = 0,
// exact small-integer sums, and the checker's own test (a variant dropping the last k term
// is rejected). The C API: argument errors without a device; row/column major, transposes
// and host-pointer rejection with one.
//
// Tolerance table (per element, err = |C - ref|, s = |alpha| sum_l |a_il b_lj| + |beta c_ij|,
// the reference is float64 on the exact stored inputs, bf16 inputs widened exactly):
//
//   variant                        | bound                     | why
//   -------------------------------+---------------------------+------------------------------
//   simt/f32, cublas/f32           | 4 (K + 2) eps_f32 s       | fp32 FMAs (gamma_K), +2 for
//                                  |                           | alpha/beta, x4 summation order
//   mma/bf16, cublas/bf16,         | 8 (K + 2) eps_f32 s       | bf16 products are exact in
//   cublaslt/bf16                  |                           | fp32; tensor-core fp32 adds
//                                  |                           | truncate (Fasi et al. 2021):
//                                  |                           | up to 1 ulp per add, not 1/2
//   cublas_tf32/f32                | (2^-9 + 4 (K + 2) eps) s  | inputs rounded to tf32 (10-bit
//                                  |                           | mantissa): each product off by
//                                  |                           | up to ~2^-10 relative
// exact (small-integer inputs): every variant must be bit-exact (integers <= 2 are exact in
// tf32/bf16 and every partial sum is an integer below 2^24).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "gemm/gemm_testing.h"
#include "perfcal/cuda_gemm.h"

#ifdef PERFCAL_HAVE_CUDA
#include "gemm/cuda/gemm_gpu.h"
#endif

namespace perfcal::gemm {
namespace {

#ifdef PERFCAL_HAVE_CUDA
constexpr bool kCudaBuilt = true;
#else
constexpr bool kCudaBuilt = false;
#endif

// ---- the C API, no device needed ------------------------------------------------------

TEST(CudaGemmApi, ArgumentErrorsAreReportedNotCrashedOn) {
  float dummy = 0;
  const float* a = &dummy;
  // Built without CUDA every call is unsupported; with CUDA, argument checks come first.
  const int want = kCudaBuilt ? PERFCAL_CUDA_INVALID_ARGUMENT : PERFCAL_CUDA_UNSUPPORTED;
  EXPECT_EQ(perfcal_cuda_sgemm(PerfcalOrder(7), PerfcalNoTrans, PerfcalNoTrans, 2, 2, 2, 1, a, 2,
                               a, 2, 0, &dummy, 2, nullptr),
            want);
  EXPECT_EQ(perfcal_cuda_sgemm(PerfcalColMajor, PerfcalTranspose(5), PerfcalNoTrans, 2, 2, 2, 1, a,
                               2, a, 2, 0, &dummy, 2, nullptr),
            want);
  EXPECT_EQ(perfcal_cuda_sgemm(PerfcalColMajor, PerfcalNoTrans, PerfcalNoTrans, -1, 2, 2, 1, a, 2,
                               a, 2, 0, &dummy, 2, nullptr),
            want);
  EXPECT_EQ(perfcal_cuda_sgemm(PerfcalColMajor, PerfcalNoTrans, PerfcalNoTrans, 4, 2, 2, 1, a, 3,
                               a, 2, 0, &dummy, 4, nullptr),
            want);  // lda < m
  EXPECT_EQ(perfcal_cuda_sgemm(PerfcalRowMajor, PerfcalNoTrans, PerfcalNoTrans, 4, 5, 2, 1, a, 2,
                               a, 5, 0, &dummy, 4, nullptr),
            want);  // row major: ldc < n
  EXPECT_EQ(perfcal_cuda_gemm_bf16(PerfcalColMajor, PerfcalNoTrans, PerfcalNoTrans, 2, 2, 2, 1,
                                   nullptr, 2, nullptr, 2, 0, &dummy, 2, nullptr),
            want);  // null A and B with a product to compute
  EXPECT_EQ(perfcal_cuda_sgemm(PerfcalColMajor, PerfcalNoTrans, PerfcalNoTrans, 2, 2, 2, 1, a, 2,
                               a, 2, 0, nullptr, 2, nullptr),
            want);  // null C
  EXPECT_STRNE(perfcal_cuda_last_error(), "");
}

#ifdef PERFCAL_HAVE_CUDA

namespace g = gpu;
using testing::Layout;
using testing::Operands3;

const Trans kTrans[2] = {Trans::N, Trans::T};

#define SKIP_WITHOUT_DEVICE()                                             \
  do {                                                                    \
    if (Status s_ = g::device_available(); !s_.ok()) GTEST_SKIP() << s_.message(); \
  } while (0)

// Bound coefficient c: bound = c * s (see the table in the file header).
double bound_coefficient(const std::string& name, int64_t k) {
  const double eps = testing::kEpsF32;
  if (name.find("tf32") != std::string::npos) return std::ldexp(1.0, -9) + 4.0 * double(k + 2) * eps;
  if (name.find("bf16") != std::string::npos) return 8.0 * double(k + 2) * eps;
  return 4.0 * double(k + 2) * eps;
}

// As testing::compare, with the variant's bound coefficient.
testing::Outcome compare(const Problem& p, const Operands3& o, double coef, bool exact) {
  testing::Outcome out;
  std::vector<double> ref(c_elements(p) + 1);
  reference(p, o.a(), o.b(), p.beta != 0.0f ? o.cin() : nullptr, ref.data());
  for (int64_t j = 0; j < p.n; ++j)
    for (int64_t i = 0; i < p.m; ++i) {
      double s = 0;
      for (int64_t l = 0; l < p.k; ++l) {
        const double av = p.ta == Trans::N ? load(p.dtype, o.a(), p.lda, i, l)
                                           : load(p.dtype, o.a(), p.lda, l, i);
        const double bv = p.tb == Trans::N ? load(p.dtype, o.b(), p.ldb, l, j)
                                           : load(p.dtype, o.b(), p.ldb, j, l);
        s += std::abs(av * bv);
      }
      const int64_t idx = i + j * p.ldc;
      const double cin = p.beta != 0.0f ? std::abs(double(o.cin()[idx])) : 0.0;
      const double bound =
          coef * (std::abs(double(p.alpha)) * s + std::abs(double(p.beta)) * cin) + 1e-30;
      const double got = o.c[o.off + idx];
      const double err =
          std::isfinite(got) ? std::abs(got - ref[idx]) : std::numeric_limits<double>::infinity();
      const double ratio =
          exact ? (err == 0 ? 0.0 : std::numeric_limits<double>::infinity()) : err / bound;
      out.worst_ratio = std::max(out.worst_ratio, ratio);
      if (!(ratio <= 1.0) && out.ok) {
        out.ok = false;
        out.detail = "C(" + std::to_string(i) + "," + std::to_string(j) + ") = " +
                     std::to_string(got) + ", reference " + std::to_string(ref[idx]) +
                     ", bound " + std::to_string(bound);
      }
    }
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

// Uploads seeded operands (whole storage, so padding and the offset travel too), runs the
// variant on the device, downloads C's whole storage and compares.
testing::Outcome run_gpu(const g::Variant& v, Problem p, const Json& config, const Layout& l,
                         uint64_t seed) {
  testing::Outcome out;
  auto failed = [&](const std::string& where, const Status& s) {
    out.ok = false;
    out.detail = v.name() + " " + testing::describe(p, config, l) + ": " + where + ": " + s.message();
    return out;
  };
  p = testing::with_layout(p, l);
  Operands3 o = testing::make_operands(p, l, seed);
  const bool bf16 = p.dtype == Dtype::bf16;
  const std::size_t esz = bf16 ? 2 : 4;
  const void* ha = bf16 ? static_cast<const void*>(o.a16.data()) : o.a32.data();
  const void* hb = bf16 ? static_cast<const void*>(o.b16.data()) : o.b32.data();
  const std::size_t na = (bf16 ? o.a16.size() : o.a32.size()) * esz;
  const std::size_t nb = (bf16 ? o.b16.size() : o.b32.size()) * esz;
  g::DeviceBuffer da, db, dc;
  Status s = da.allocate(na);
  if (s.ok()) s = db.allocate(nb);
  if (s.ok()) s = dc.allocate(o.c.size() * 4);
  if (s.ok()) s = da.upload(ha, na);
  if (s.ok()) s = db.upload(hb, nb);
  if (s.ok()) s = dc.upload(o.c.data(), o.c.size() * 4);
  if (!s.ok()) return failed("buffers", s);
  g::Operands ops;
  ops.a = static_cast<const char*>(da.get()) + o.off * esz;
  ops.b = static_cast<const char*>(db.get()) + o.off * esz;
  ops.c = static_cast<float*>(dc.get()) + o.off;
  std::unique_ptr<g::Variant::Plan> plan;
  s = v.make_plan(p, config, &plan);
  if (!s.ok()) return failed("make_plan", s);
  s = plan->run(ops);
  if (s.ok()) s = g::synchronize();
  if (!s.ok()) return failed("run", s);
  s = dc.download(o.c.data(), o.c.size() * 4);
  if (!s.ok()) return failed("download", s);
  out = compare(p, o, bound_coefficient(v.name(), p.k), l.integers);
  if (!out.ok) out.detail = v.name() + " " + testing::describe(p, config, l) + ": " + out.detail;
  return out;
}

std::vector<std::string> variant_names() {
  std::vector<std::string> v;
  for (const auto& x : g::Registry::instance().all()) v.push_back(x->name());
  return v;
}

std::string param_name(const ::testing::TestParamInfo<std::string>& i) {
  std::string s = i.param;
  std::replace(s.begin(), s.end(), '/', '_');
  return s;
}

class EveryGpuVariant : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    v_ = g::Registry::instance().find(GetParam());
    ASSERT_NE(v_, nullptr);
    if (Status s = v_->available(); !s.ok()) GTEST_SKIP() << s.message();
  }
  Problem problem(int64_t m, int64_t n, int64_t k, Trans ta = Trans::N, Trans tb = Trans::N,
                  float alpha = 1.0f, float beta = 0.0f) const {
    Problem p = Problem::dense(v_->info().dtype, m, n, k, ta, tb);
    p.alpha = alpha;
    p.beta = beta;
    return p;
  }
  void expect_ok(const Problem& p, Json config = Json(), Layout l = {}, uint64_t seed = 1) {
    if (config.is_null()) config = v_->default_config(p);
    if (p.beta == 0.0f && !l.integers) l.nan_c = true;  // poison: unwritten C stays NaN
    auto r = run_gpu(*v_, p, config, l, seed);
    EXPECT_TRUE(r.ok) << r.detail;
  }
  // Every config of the search space that can_implement accepts for `p` (the compiled
  // instances of perfcal's kernels); the empty config for the baselines.
  std::vector<Json> valid_configs(const Problem& p) const {
    std::vector<Json> out;
    const SearchSpace ss = v_->search_space(p);
    if (ss.empty()) return {v_->default_config(p)};
    std::vector<std::size_t> d(ss.size(), 0);
    uint64_t total = 1;
    for (const auto& f : ss) total *= f.values.size();
    for (uint64_t i = 0; i < total; ++i) {
      Json c = v_->default_config(p);
      for (std::size_t f = 0; f < ss.size(); ++f) c[ss[f].name] = ss[f].values[d[f]];
      if (v_->can_implement(c, p).ok()) out.push_back(c);
      for (std::size_t f = ss.size(); f-- > 0;) {
        if (++d[f] < ss[f].values.size()) break;
        d[f] = 0;
      }
    }
    return out;
  }
  const g::Variant* v_ = nullptr;
};

TEST_P(EveryGpuVariant, AwkwardShapesEveryTranspose) {
  const int64_t shapes[][3] = {{1, 1, 1},     {1, 17, 129},  {17, 1, 17},  {17, 17, 17},
                               {129, 129, 129}, {131, 67, 257}, {257, 131, 1}, {2, 300, 33},
                               {300, 2, 65},  {127, 255, 31}, {64, 128, 32}, {250, 250, 1000}};
  for (Trans ta : kTrans)
    for (Trans tb : kTrans)
      for (const auto& s : shapes) {
        expect_ok(problem(s[0], s[1], s[2], ta, tb), Json(), {}, uint64_t(s[0] * 7 + s[1] + s[2]));
        if (HasFailure()) return;  // one clear failure, not hundreds
      }
}

TEST_P(EveryGpuVariant, EveryCompiledConfigAcrossTileEdges) {
  int tried = 0;
  for (Trans ta : kTrans)
    for (Trans tb : kTrans) {
      const Problem probe = problem(257, 259, 131, ta, tb);
      for (const Json& c : valid_configs(probe)) {
        const int64_t bm = c.value("bm", 64), bn = c.value("bn", 64), bk = c.value("bk", 32);
        // Two full tiles plus a ragged one in every dimension, and an exact multiple.
        expect_ok(problem(2 * bm + 3, 2 * bn + 5, 3 * bk + 7, ta, tb), c);
        expect_ok(problem(2 * bm, bn, 2 * bk, ta, tb), c);
        expect_ok(problem(bm - 1, 2 * bn - 1, bk + 1, ta, tb), c);
        ++tried;
        if (HasFailure()) return;
      }
    }
  EXPECT_GT(tried, 0);
}

TEST_P(EveryGpuVariant, AlphaBetaPaddedMisaligned) {
  for (float alpha : {0.0f, 1.0f, -1.5f})
    for (float beta : {0.0f, 1.0f, -1.5f})
      for (Trans ta : kTrans)
        for (Trans tb : kTrans) {
          const Problem p = problem(70, 45, 37, ta, tb, alpha, beta);
          expect_ok(p);                                       // aligned fast paths
          expect_ok(p, Json(), {.pad = 1, .offset = 1});      // odd ld, misaligned pointers
          expect_ok(p, Json(), {.pad = 8, .offset = 0});      // padded, aligned
          if (HasFailure()) return;
        }
}

TEST_P(EveryGpuVariant, KZeroLeavesBetaC) {
  for (float beta : {0.0f, 1.0f, -1.5f}) expect_ok(problem(33, 17, 0, Trans::N, Trans::N, 1.0f, beta));
}

TEST_P(EveryGpuVariant, ExactSmallIntegerSums) {
  for (Trans ta : kTrans)
    for (Trans tb : kTrans)
      for (int64_t k : {1, 16, 100, 1000})
        expect_ok(problem(131, 77, k, ta, tb), Json(), {.integers = true}, uint64_t(k));
}

TEST_P(EveryGpuVariant, MidSizeSquare) {
  expect_ok(problem(512, 512, 512), Json(), {}, 42);
  expect_ok(problem(513, 511, 509, Trans::T, Trans::T), Json(), {}, 43);
}

INSTANTIATE_TEST_SUITE_P(Registry, EveryGpuVariant, ::testing::ValuesIn(variant_names()),
                         param_name);

TEST(GpuGemmRegistry, HasEveryVariantAndBaseline) {
  for (const char* name : {"gemm/cuda/simt/f32", "gemm/cuda/mma/bf16", "gemm/cuda/cublas/f32",
                           "gemm/cuda/cublas_tf32/f32", "gemm/cuda/cublas/bf16",
                           "gemm/cuda/cublaslt/bf16"})
    EXPECT_NE(g::Registry::instance().find(name), nullptr) << name;
  for (const auto& v : g::Registry::instance().all()) {
    EXPECT_EQ(v->info().backend, "cuda");
    // The CPU registry never holds a GPU variant (its users pass host pointers).
    EXPECT_EQ(Registry::instance().find(v->name()), nullptr) << v->name();
  }
}

TEST(GpuGemmConfig, InvalidConfigsAreRefusedWithAReason) {
  const g::Variant* simt = g::Registry::instance().find("gemm/cuda/simt/f32");
  const g::Variant* mma = g::Registry::instance().find("gemm/cuda/mma/bf16");
  ASSERT_NE(simt, nullptr);
  ASSERT_NE(mma, nullptr);
  const Problem pf = Problem::dense(Dtype::f32, 100, 100, 100);
  const Problem pb = Problem::dense(Dtype::bf16, 100, 100, 100);
  EXPECT_TRUE(simt->can_implement(simt->default_config(pf), pf).ok());
  EXPECT_TRUE(mma->can_implement(mma->default_config(pb), pb).ok());
  Json c = simt->default_config(pf);
  c["threads"] = 99;
  EXPECT_EQ(simt->can_implement(c, pf).code(), StatusCode::kInvalidArgument);
  c = {{"bm", 96}, {"bn", 96}, {"bk", 8}, {"tm", 8}, {"tn", 8}, {"threads", 144}};
  EXPECT_EQ(simt->can_implement(c, pf).code(), StatusCode::kInvalidArgument);  // not compiled
  EXPECT_EQ(simt->can_implement(simt->default_config(pf), pb).code(),
            StatusCode::kInvalidArgument);  // wrong dtype
  Json m = mma->default_config(pb);
  m["stages"] = 1;
  EXPECT_EQ(mma->can_implement(m, pb).code(), StatusCode::kInvalidArgument);
  m = mma->default_config(pb);
  m["wm"] = 24;
  EXPECT_EQ(mma->can_implement(m, pb).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(mma->can_implement(Json::array(), pb).code(), StatusCode::kInvalidArgument);
}

// ---- the tester's test --------------------------------------------------------------------

// Runs the wrapped variant with k - 1 (same strides): the last k term of every dot product
// is lost. Test-only; never registered.
class DropsLastK : public g::Variant {
 public:
  explicit DropsLastK(const g::Variant* inner) : inner_(inner) {
    info_ = inner->info();
    info_.name = inner->name();  // same tolerance row as the real variant
  }
  const VariantInfo& info() const override { return info_; }
  Json default_config(const Problem& p) const override { return inner_->default_config(p); }
  Status can_implement(const Json& c, const Problem& p) const override {
    return inner_->can_implement(c, p);
  }
  Status make_plan(const Problem& p, const Json& c, std::unique_ptr<Plan>* out) const override {
    Problem q = p;
    q.k = std::max<int64_t>(0, p.k - 1);
    return inner_->make_plan(q, c, out);
  }

 private:
  const g::Variant* inner_;
  VariantInfo info_;
};

TEST(GpuGemmChecker, RejectsAVariantThatDropsTheLastK) {
  SKIP_WITHOUT_DEVICE();
  for (const auto& real : g::Registry::instance().all()) {
    DropsLastK wrong(real.get());
    for (int64_t k : {2, 17, 64})
      for (Trans ta : kTrans)
        for (Trans tb : kTrans) {
          const Problem p = Problem::dense(real->info().dtype, 33, 14, k, ta, tb);
          auto bad = run_gpu(wrong, p, wrong.default_config(p), {}, 5);
          EXPECT_FALSE(bad.ok) << real->name() << " k=" << k << ": the checker accepted a wrong kernel";
          auto good = run_gpu(*real, p, real->default_config(p), {}, 5);
          EXPECT_TRUE(good.ok) << good.detail;
        }
  }
}

// ---- the C API on a device ----------------------------------------------------------------

TEST(CudaGemmApi, RowAndColumnMajorEveryTransposeMatchReference) {
  SKIP_WITHOUT_DEVICE();
  for (bool bf16 : {false, true})
    for (PerfcalOrder order : {PerfcalColMajor, PerfcalRowMajor})
      for (PerfcalTranspose ta : {PerfcalNoTrans, PerfcalTrans})
        for (PerfcalTranspose tb : {PerfcalNoTrans, PerfcalConjTrans}) {
          const int64_t m = 67, n = 45, k = 131;
          // The equivalent column-major problem (C^T = B^T A^T for row major) for checking.
          const bool col = order == PerfcalColMajor;
          const Trans cta = ta == PerfcalNoTrans ? Trans::N : Trans::T;
          const Trans ctb = tb == PerfcalNoTrans ? Trans::N : Trans::T;
          Problem p = col ? Problem::dense(bf16 ? Dtype::bf16 : Dtype::f32, m, n, k, cta, ctb)
                          : Problem::dense(bf16 ? Dtype::bf16 : Dtype::f32, n, m, k, ctb, cta);
          p.alpha = -1.5f;
          p.beta = 0.5f;
          Operands3 o = testing::make_operands(p, {}, 11);
          const std::size_t esz = bf16 ? 2 : 4;
          const std::size_t na = (bf16 ? o.a16.size() : o.a32.size()) * esz;
          const std::size_t nb = (bf16 ? o.b16.size() : o.b32.size()) * esz;
          g::DeviceBuffer da, db, dc;
          ASSERT_TRUE(da.allocate(na).ok() && db.allocate(nb).ok() && dc.allocate(o.c.size() * 4).ok());
          // Column major: A is p's A. Row major: the caller's A is p's B and vice versa.
          const void* ha = bf16 ? static_cast<const void*>(o.a16.data()) : o.a32.data();
          const void* hb = bf16 ? static_cast<const void*>(o.b16.data()) : o.b32.data();
          ASSERT_TRUE(da.upload(ha, na).ok() && db.upload(hb, nb).ok() &&
                      dc.upload(o.c.data(), o.c.size() * 4).ok());
          const void* user_a = col ? da.get() : db.get();
          const void* user_b = col ? db.get() : da.get();
          const int64_t lda = col ? p.lda : p.ldb, ldb = col ? p.ldb : p.lda;
          int rc;
          if (bf16)
            rc = perfcal_cuda_gemm_bf16(order, ta, tb, m, n, k, p.alpha,
                                        static_cast<const uint16_t*>(user_a), lda,
                                        static_cast<const uint16_t*>(user_b), ldb, p.beta,
                                        static_cast<float*>(dc.get()), p.ldc, nullptr);
          else
            rc = perfcal_cuda_sgemm(order, ta, tb, m, n, k, p.alpha,
                                    static_cast<const float*>(user_a), lda,
                                    static_cast<const float*>(user_b), ldb, p.beta,
                                    static_cast<float*>(dc.get()), p.ldc, nullptr);
          ASSERT_EQ(rc, PERFCAL_CUDA_OK) << perfcal_cuda_last_error();
          ASSERT_TRUE(g::synchronize().ok());
          ASSERT_TRUE(dc.download(o.c.data(), o.c.size() * 4).ok());
          auto r = compare(p, o, bound_coefficient(bf16 ? "bf16" : "f32", k), false);
          EXPECT_TRUE(r.ok) << (bf16 ? "bf16 " : "f32 ") << (col ? "col " : "row ") << r.detail;
        }
}

TEST(CudaGemmApi, HostPointersAreAnArgumentError) {
  SKIP_WITHOUT_DEVICE();
  std::vector<float> a(16, 1.0f), c(16, 0.0f);
  EXPECT_EQ(perfcal_cuda_sgemm(PerfcalColMajor, PerfcalNoTrans, PerfcalNoTrans, 4, 4, 4, 1.0f,
                               a.data(), 4, a.data(), 4, 0.0f, c.data(), 4, nullptr),
            PERFCAL_CUDA_INVALID_ARGUMENT);
  EXPECT_NE(std::string(perfcal_cuda_last_error()).find("device"), std::string::npos);
}

TEST(CudaGemmApi, EmptyProblemsAndAlphaZero) {
  SKIP_WITHOUT_DEVICE();
  // m == 0: nothing touched, null pointers fine.
  EXPECT_EQ(perfcal_cuda_sgemm(PerfcalColMajor, PerfcalNoTrans, PerfcalNoTrans, 0, 4, 4, 1.0f,
                               nullptr, 1, nullptr, 4, 0.0f, nullptr, 1, nullptr),
            PERFCAL_CUDA_OK);
  // alpha == 0: A and B may be null; C = beta C.
  g::DeviceBuffer dc;
  std::vector<float> c(12, 2.0f);
  ASSERT_TRUE(dc.allocate(c.size() * 4).ok() && dc.upload(c.data(), c.size() * 4).ok());
  EXPECT_EQ(perfcal_cuda_sgemm(PerfcalColMajor, PerfcalNoTrans, PerfcalNoTrans, 3, 4, 5, 0.0f,
                               nullptr, 3, nullptr, 5, -0.5f, static_cast<float*>(dc.get()), 3,
                               nullptr),
            PERFCAL_CUDA_OK)
      << perfcal_cuda_last_error();
  ASSERT_TRUE(g::synchronize().ok());
  ASSERT_TRUE(dc.download(c.data(), c.size() * 4).ok());
  for (float x : c) EXPECT_EQ(x, -1.0f);
}

#endif  // PERFCAL_HAVE_CUDA

}  // namespace
}  // namespace perfcal::gemm
