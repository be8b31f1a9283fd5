// Every GEMM variant in the registry (perfcal's and the baselines) against the float64
// reference: every transpose, every M, N, K from 1 to 2x the largest micro-tile dimension,
// blocks crossed with small and default configs, primes, padded leading dimensions,
// misaligned pointers, alpha/beta in {0, 1, -1.5}, beta = 0 with NaN in C, exact
// small-integer sums, threads. Plus the tester's own test: a variant that drops the last k
// term must be rejected by the same checker. Tolerances: gemm_testing.h.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "gemm/blis.h"
#include "gemm/gemm_testing.h"

namespace perfcal::gemm {
namespace {

using testing::Layout;
using testing::run_and_check;

const Trans kTrans[2] = {Trans::N, Trans::T};

std::vector<std::string> variant_names() {
  std::vector<std::string> v;
  for (const auto& x : Registry::instance().all()) v.push_back(x->name());
  return v;
}

std::string param_name(const ::testing::TestParamInfo<std::string>& i) {
  std::string s = i.param;
  std::replace(s.begin(), s.end(), '/', '_');
  return s;
}

class EveryVariant : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    v_ = Registry::instance().find(GetParam());
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
  // Largest micro-tile dimension any config of this variant can choose (64 for baselines,
  // whose tiles are unknown: enough to cross a typical AVX-512 register block twice).
  int64_t largest_tile() const {
    int64_t t = 32;
    for (const auto& ps : v_->search_space(problem(64, 64, 64)))
      if (ps.name == "mr" || ps.name == "nr")
        for (const auto& x : ps.values) t = std::max<int64_t>(t, x.get<int64_t>());
    return t;
  }
  void expect_ok(const Problem& p, const Json& config = Json::object(), Layout l = {},
                 uint64_t seed = 1) {
    const Json c = config.empty() ? v_->default_config(p) : config;
    auto r = run_and_check(*v_, p, c, l, seed);
    EXPECT_TRUE(r.ok) << r.detail;
  }
  const Variant* v_ = nullptr;
};

TEST_P(EveryVariant, EveryDimensionUpToTwiceTheLargestTile) {
  const int64_t top = 2 * largest_tile();
  for (Trans ta : kTrans)
    for (Trans tb : kTrans)
      for (int64_t d = 1; d <= top; ++d) {
        expect_ok(problem(d, 13, 17, ta, tb), {}, {}, d);
        expect_ok(problem(19, d, 11, ta, tb), {}, {}, d + 1000);
        expect_ok(problem(21, 15, d, ta, tb), {}, {}, d + 2000);
        if (HasFailure()) return;  // one clear failure, not thousands
      }
}

TEST_P(EveryVariant, AlphaBetaPaddedMisaligned) {
  for (float alpha : {0.0f, 1.0f, -1.5f})
    for (float beta : {0.0f, 1.0f, -1.5f})
      for (Trans ta : kTrans)
        for (Trans tb : kTrans) {
          Layout l;
          l.pad = 3;
          l.offset = 1;  // every operand starts one element past a 64-byte boundary
          expect_ok(problem(37, 29, 41, ta, tb, alpha, beta), {}, l);
        }
}

TEST_P(EveryVariant, BetaZeroOverwritesNaN) {
  Layout l;
  l.nan_c = true;
  for (Trans ta : kTrans)
    for (Trans tb : kTrans) {
      expect_ok(problem(45, 33, 70, ta, tb, 1.0f, 0.0f), {}, l);
      expect_ok(problem(45, 33, 70, ta, tb, 0.0f, 0.0f), {}, l);  // alpha = 0: zeros
      expect_ok(problem(45, 33, 0, ta, tb, 1.0f, 0.0f), {}, l);   // k = 0: zeros
    }
}

TEST_P(EveryVariant, EmptyAndDegenerate) {
  expect_ok(problem(0, 5, 7));
  expect_ok(problem(5, 0, 7));
  expect_ok(problem(5, 7, 0, Trans::N, Trans::N, 1.0f, -1.5f));  // k = 0: C = beta C
  expect_ok(problem(1, 1, 1));
  expect_ok(problem(1, 1, 1000));
}

TEST_P(EveryVariant, Primes) {
  const int64_t sizes[][3] = {{97, 89, 101}, {131, 7, 257}, {3, 211, 5}, {251, 2, 127}};
  for (auto& s : sizes)
    for (Trans ta : kTrans)
      for (Trans tb : kTrans)
        expect_ok(problem(s[0], s[1], s[2], ta, tb, -1.5f, 1.0f), {}, {.pad = 1});
}

TEST_P(EveryVariant, ExactSmallIntegers) {
  // |a|, |b| <= 2 and K = 300: every partial sum is an integer below 2^24, exact in fp32.
  Layout l;
  l.integers = true;
  for (Trans ta : kTrans)
    for (Trans tb : kTrans) {
      expect_ok(problem(65, 33, 300, ta, tb, 1.0f, 0.0f), {}, l);
      expect_ok(problem(70, 31, 300, ta, tb, -1.5f, 1.0f), {}, l);
    }
}

TEST_P(EveryVariant, PastTheDefaultCacheBlocks) {
  // Crosses the default kc and mc blocks (read from the variant's own default config), so
  // accumulation across k blocks and the ic loop's block edges run.
  Json d = v_->default_config(problem(2000, 64, 2000));
  const int64_t kc = d.value("kc", 256), mc = d.value("mc", 256);
  for (Trans ta : kTrans)
    for (Trans tb : kTrans)
      expect_ok(problem(mc + 37, 29, kc + 7, ta, tb, 1.0f, -1.5f), {}, {.pad = 2}, 7);
}

TEST_P(EveryVariant, Threads) {
  Json base = v_->default_config(problem(200, 150, 100));
  std::vector<Json> configs;
  if (base.contains("parallel_loop")) {
    for (const char* loop : {"ic", "jr", "jc", "ic_chunks"}) {
      Json c = base;
      c["threads"] = 2;
      c["parallel_loop"] = loop;
      configs.push_back(c);
    }
  } else {
    Json c = base;
    c["threads"] = 2;
    configs.push_back(c);
  }
  for (const Json& c : configs) {
    expect_ok(problem(200, 150, 100, Trans::N, Trans::N, 1.0f, 1.0f), c);
    expect_ok(problem(3, 500, 77, Trans::T, Trans::N), c);  // skinny m
    expect_ok(problem(300, 2, 64, Trans::N, Trans::T), c);  // skinny n
    expect_ok(problem(1, 1, 5), c);                         // fewer tiles than threads
  }
}

// Small blocks (mc = 2 MR, nc = 2 NR, small kc) for every compiled micro-kernel shape, so
// every block boundary and every edge-tile mask of every kernel runs, with 1 and 2 threads
// over each parallel loop, B panels packed up front, streamed (packed at first use) and read
// in place ("direct", B not transposed; a last panel narrower than NR on every shape), in
// every compute and broadcast form the space offers.
TEST_P(EveryVariant, EveryKernelShapeWithSmallBlocks) {
  Json base = v_->default_config(problem(64, 64, 64));
  if (!base.contains("mr")) GTEST_SKIP() << "no tunable blocking (baseline)";
  std::set<std::pair<int, int>> shapes;
  auto values = [&](const char* field, std::vector<std::string> fallback) {
    for (const auto& ps : v_->search_space(problem(64, 64, 64)))
      if (ps.name == field) {
        fallback.clear();
        for (const auto& c : ps.values) fallback.push_back(c.get<std::string>());
      }
    return fallback;
  };
  const std::vector<std::string> computes = values("compute", {"native"});
  const std::vector<std::string> broadcasts = values("broadcast", {base["broadcast"]});
  for (const auto& ps : v_->search_space(problem(64, 64, 64)))
    if (ps.name == "mr")
      for (const auto& mr : ps.values)
        for (const auto& ps2 : v_->search_space(problem(64, 64, 64)))
          if (ps2.name == "nr")
            for (const auto& nr : ps2.values) shapes.insert({mr.get<int>(), nr.get<int>()});
  int compiled = 0;
  std::set<std::pair<int, int>> direct_shapes;
  for (const std::string& compute : computes)
    for (const std::string& broadcast : broadcasts)
      for (auto [mr, nr] : shapes) {
        for (int threads : {1, 2})
          for (const char* loop : {"ic", "jr", "jc", "ic_chunks"})
            for (const char* stream : {"none", "b", "direct"}) {
              if (threads == 1 && std::string(loop) != "ic") continue;
              Json c = base;
              c["stream"] = stream;
              c["mr"] = mr;
              c["nr"] = nr;
              c["mc"] = 2 * mr;
              c["nc"] = 2 * nr;
              c["kc"] = 8;
              c["threads"] = threads;
              c["parallel_loop"] = loop;
              c["prefetch"] = 4;
              c["compute"] = compute;
              c["broadcast"] = broadcast;
              const bool direct = std::string(stream) == "direct";
              // NaN in every ld padding: direct kernels read B in place, and an odd bf16 k
              // block must not pull in the element after a column (pad = 1) as a pair's half.
              const Layout padded{.pad = 1, .offset = 1, .nan_outside = true};
              std::vector<std::pair<Problem, Layout>> problems = {
                  {problem(5 * mr + 3, 5 * nr + 1, 37, Trans::N, Trans::T, 1.0f, -1.5f), padded},
                  {problem(2 * mr - 1, 3 * nr - 1, 17, Trans::T, Trans::N), Layout{}}};
              // Direct, both ways B's role is read in place: B as is (not transposed; both
              // problems above that qualify do too), and a transposed A on C^T, with the tiles
              // stored transposed (A transposed, more rows than columns; and both
              // transposed); edge rows and columns everywhere.
              if (direct) {
                problems.push_back(
                    {problem(5 * mr + 3, 5 * nr + 1, 37, Trans::N, Trans::N, 1.0f, -1.5f), padded});
                problems.push_back(
                    {problem(4 * nr + 5, mr + 3, 29, Trans::T, Trans::N, 1.0f, 0.5f), padded});
                problems.push_back(
                    {problem(3 * nr + 2, 2 * mr - 1, 23, Trans::T, Trans::T, 1.0f, 0.5f), padded});
              }
              // A config can be valid on one problem and not another (direct needs B panels
              // private to a thread, and B not transposed or A transposed).
              bool ran = false;
              for (const auto& [p, layout] : problems) {
                if (!v_->can_implement(c, p).ok()) continue;  // e.g. shape not compiled
                ran = true;
                if (direct) direct_shapes.insert({mr, nr});
                expect_ok(p, c, layout);
              }
              compiled += ran;
            }
      }
  // Where the space offers direct, its kernels ran on every shape they exist in (all the
  // AVX-512 fp32 shapes but 16x28, whose 28 column pointers would not fit in registers).
  for (const auto& ps : v_->search_space(problem(64, 64, 64)))
    if (ps.name == "stream" &&
        std::find(ps.values.begin(), ps.values.end(), Json("direct")) != ps.values.end())
      EXPECT_GE(direct_shapes.size(), 6u);
  EXPECT_GT(compiled, 0);
}

INSTANTIATE_TEST_SUITE_P(Registry, EveryVariant, ::testing::ValuesIn(variant_names()), param_name);

TEST(GemmRegistry, HasEveryPerfcalVariantAndBaseline) {
  for (const char* name :
       {"gemm/cpu/avx512/f32", "gemm/cpu/avx512/bf16", "gemm/cpu/avx2/f32", "gemm/cpu/portable/f32",
        "gemm/cpu/openblas/f32", "gemm/cpu/onednn/f32", "gemm/cpu/onednn/bf16"})
    EXPECT_NE(Registry::instance().find(name), nullptr) << name;
  // The wrong variant below must never be in the library's registry.
  for (const auto& v : Registry::instance().all())
    EXPECT_EQ(v->name().find("wrong"), std::string::npos);
}

// ---- the tester's test ------------------------------------------------------------------

// Wraps a real variant but runs it with k - 1: the last k term of every dot product is lost.
// Test-only; never registered.
class DropsLastK : public Variant {
 public:
  explicit DropsLastK(const Variant* inner) : inner_(inner) {
    info_ = inner->info();
    info_.name = "gemm/test/wrong/drops_last_k";
  }
  const VariantInfo& info() const override { return info_; }
  Json default_config(const Problem& p) const override { return inner_->default_config(p); }
  Status can_implement(const Json& c, const Problem& p) const override {
    return inner_->can_implement(c, p);
  }
  Status make_plan(const Problem& p, const Json& c, std::unique_ptr<Plan>* out) const override {
    Problem q = p;
    q.k = std::max<int64_t>(0, p.k - 1);  // same strides: reads the first k-1 terms only
    return inner_->make_plan(q, c, out);
  }

 private:
  const Variant* inner_;
  VariantInfo info_;
};

TEST(GemmChecker, RejectsAVariantThatDropsTheLastK) {
  for (const char* name :
       {"gemm/cpu/avx512/f32", "gemm/cpu/avx512/bf16", "gemm/cpu/portable/f32"}) {
    const Variant* real = Registry::instance().find(name);
    ASSERT_NE(real, nullptr);
    if (!real->available().ok()) continue;
    DropsLastK wrong(real);
    for (int64_t k : {2, 17, 64, 300})
      for (Trans ta : kTrans)
        for (Trans tb : kTrans) {
          Problem p = Problem::dense(real->info().dtype, 33, 14, k, ta, tb);
          auto bad = run_and_check(wrong, p, wrong.default_config(p), {}, 5);
          EXPECT_FALSE(bad.ok) << name << " k=" << k << ": the checker accepted a wrong kernel";
          auto good = run_and_check(*real, p, real->default_config(p), {}, 5);
          EXPECT_TRUE(good.ok) << good.detail;
        }
  }
}

// ---- config validity ------------------------------------------------------------------------

// algo = "dot" (skinny problems as dot products, the large operand read in place): every
// row count 1..8 and every transpose it applies to, k across the kernel's 16-lane tail and
// its k chunks (1024 floats for 8 rows, 8192 for 1), alpha/beta, NaN in C under beta = 0,
// padded and misaligned operands, 1 and 2 threads.
void check_dot(const Variant* v) {
  auto check = [&](int64_t m, int64_t n, int64_t k, Trans ta, Trans tb, float alpha, float beta,
                   Layout l, int threads) {
    Problem p = Problem::dense(v->info().dtype, m, n, k, ta, tb);
    p.alpha = alpha;
    p.beta = beta;
    const Json c = {{"algo", "dot"}, {"threads", threads}};
    ASSERT_TRUE(v->can_implement(c, p).ok()) << m << "x" << n << "x" << k;
    auto r = run_and_check(*v, p, c, l, uint64_t(m * 131 + n * 7 + k));
    EXPECT_TRUE(r.ok) << m << "x" << n << "x" << k << " " << r.detail;
  };
  for (int threads : {1, 2})
    for (int64_t small = 1; small <= 8; ++small)
      for (int64_t k : {1, 15, 17, 600, 2100}) {
        for (Trans ta : kTrans) check(small, 53, k, ta, Trans::N, 1.0f, 0.0f, {}, threads);
        for (Trans tb : kTrans) check(45, small, k, Trans::T, tb, -1.5f, 1.0f, {}, threads);
        if (::testing::Test::HasFailure()) return;
      }
  Layout l;
  l.pad = 3;
  l.offset = 1;
  l.nan_c = true;
  check(7, 300, 9000, Trans::N, Trans::N, 1.0f, 0.0f, l, 2);  // 8192-float chunks, NaN in C
  check(300, 5, 777, Trans::T, Trans::T, -1.5f, 0.0f, l, 1);
  l.nan_c = false;
  check(8, 301, 1031, Trans::T, Trans::N, 0.5f, -1.5f, l, 2);
}

// fp32, and bf16 (the large operand widened as it is loaded, the small one into the
// workspace).
TEST(GemmDot, EverySkinnyShapeItAppliesTo) {
  for (const char* name : {"gemm/cpu/avx512/f32", "gemm/cpu/avx512/bf16"}) {
    SCOPED_TRACE(name);
    const Variant* v = Registry::instance().find(name);
    ASSERT_NE(v, nullptr);
    if (!v->available().ok()) continue;
    check_dot(v);
    if (HasFailure()) return;
  }
  const Variant* v = Registry::instance().find("gemm/cpu/avx512/f32");
  if (!v->available().ok()) GTEST_SKIP() << "needs AVX-512";
  // Where it does not apply, the reason names the condition.
  const Problem wide = Problem::dense(Dtype::f32, 9, 64, 64);
  EXPECT_NE(v->can_implement({{"algo", "dot"}}, wide).message().find("at most 8"),
            std::string::npos);
  const Problem bt = Problem::dense(Dtype::f32, 4, 64, 64, Trans::N, Trans::T);
  EXPECT_FALSE(v->can_implement({{"algo", "dot"}}, bt).ok());
  EXPECT_NE(v->can_implement({{"algo", "fast"}}, wide).message().find("algo"), std::string::npos);
  // The default picks it for skinny shapes, the BLIS loops otherwise.
  EXPECT_EQ(v->default_config(Problem::dense(Dtype::f32, 1, 4096, 4096))["algo"], "dot");
  EXPECT_EQ(v->default_config(Problem::dense(Dtype::f32, 16, 4096, 4096))["algo"], "blis");
  // From 5 rows up to 512, B read in place by the micro-kernels; beyond, packed.
  const Json d8 = v->default_config(Problem::dense(Dtype::f32, 8, 4096, 4096));
  EXPECT_EQ(d8["algo"], "blis");
  EXPECT_EQ(d8["stream"], "direct");
  EXPECT_EQ(d8["mr"], 16);
  EXPECT_EQ(v->default_config(Problem::dense(Dtype::f32, 512, 4096, 4096))["stream"], "direct");
  EXPECT_EQ(v->default_config(Problem::dense(Dtype::f32, 513, 4096, 4096))["stream"], "none");
  // 64-row tiles where broadcasts are instructions of their own, unless they add padding.
  const Json d64 = v->default_config(Problem::dense(Dtype::f32, 64, 4096, 4096));
  EXPECT_EQ(d64["mr"], d64["broadcast"] == "register" ? 64 : 32);
  EXPECT_EQ(v->default_config(Problem::dense(Dtype::f32, 96, 4096, 4096))["mr"], 32);
  // Nor for narrow B (8 columns would run 6 + 6).
  EXPECT_EQ(v->default_config(Problem::dense(Dtype::f32, 128, 8, 4096))["mr"], 32);
  EXPECT_NE(
      v->default_config(Problem::dense(Dtype::f32, 64, 4096, 4096, Trans::N, Trans::T))["stream"],
      "direct");
  // PyTorch's x W^T (row-major) arrives as A transposed with few columns: direct on C^T,
  // its rows (16 here) choosing the micro-kernel.
  const Json dt = v->default_config(Problem::dense(Dtype::f32, 4096, 16, 4096, Trans::T, Trans::N));
  EXPECT_EQ(dt["stream"], "direct");
  EXPECT_EQ(dt["mr"], 16);
  // bf16 decode shapes: dot products for a few rows, B pairs read in place beyond.
  const Variant* vb = Registry::instance().find("gemm/cpu/avx512/bf16");
  if (vb && vb->available().ok()) {
    EXPECT_EQ(vb->default_config(Problem::dense(Dtype::bf16, 1, 4096, 4096))["algo"], "dot");
    const Json b16 = vb->default_config(Problem::dense(Dtype::bf16, 16, 4096, 4096));
    EXPECT_EQ(b16["algo"], "blis");
    EXPECT_EQ(b16["stream"], "direct");
    EXPECT_EQ(b16["compute"], "native");
  }
}

TEST(GemmConfig, CanImplementNamesEachViolatedConstraint) {
  const Variant* v = Registry::instance().find("gemm/cpu/avx512/f32");
  const Variant* vb = Registry::instance().find("gemm/cpu/avx512/bf16");
  ASSERT_NE(v, nullptr);
  if (!v->available().ok() || !vb->available().ok()) GTEST_SKIP() << "needs AVX-512 BF16";
  Problem p = Problem::dense(Dtype::f32, 100, 100, 100);
  Problem pb = Problem::dense(Dtype::bf16, 100, 100, 100);
  Json d = v->default_config(p);
  EXPECT_TRUE(v->can_implement(d, p).ok());
  EXPECT_TRUE(v->can_implement(Json::object(), p).ok());  // all defaults
  auto reason = [&](const Variant* var, const Problem& pr, Json patch) {
    Json c = var->default_config(pr);
    c.update(patch);
    Status s = var->can_implement(c, pr);
    return s.ok() ? std::string("ok") : s.message();
  };
  EXPECT_NE(reason(v, p, {{"mr", 24}, {"nr", 12}}).find("micro-kernel"), std::string::npos);
  EXPECT_NE(reason(v, p, {{"mc", 100}}).find("mc must be"), std::string::npos);
  EXPECT_NE(reason(v, p, {{"nc", 100}}).find("nc must be"), std::string::npos);
  EXPECT_NE(reason(v, p, {{"kc", 0}}).find("kc"), std::string::npos);
  EXPECT_NE(reason(vb, pb, {{"kc", 255}, {"compute", "native"}}).find("even"), std::string::npos);
  EXPECT_TRUE(vb->can_implement({{"kc", 255}, {"compute", "widen"}}, pb).ok());
  EXPECT_NE(reason(vb, pb, {{"compute", "fast"}}).find("compute"), std::string::npos);
  EXPECT_NE(reason(v, p, {{"compute", "widen"}}).find("bf16"), std::string::npos);
  EXPECT_NE(reason(v, p, {{"threads", 0}}).find("threads"), std::string::npos);
  EXPECT_NE(reason(v, p, {{"parallel_loop", "kk"}}).find("parallel_loop"), std::string::npos);
  EXPECT_NE(reason(v, p, {{"prefetch", -1}}).find("prefetch"), std::string::npos);
  EXPECT_NE(reason(v, p, {{"stream", "c"}}).find("stream"), std::string::npos);
  EXPECT_NE(reason(v, p, {{"broadcast", "both"}}).find("broadcast"), std::string::npos);
  EXPECT_TRUE(v->can_implement({{"broadcast", "embedded"}}, p).ok());
  EXPECT_TRUE(v->can_implement({{"broadcast", "register"}, {"mr", 32}, {"nr", 12}}, p).ok());
  EXPECT_NE(reason(v, p, {{"broadcast", "register"}, {"mr", 16}, {"nr", 28}, {"stream", "none"}})
                .find("16-row"),
            std::string::npos);
  // The AVX2 kernels have no embedded broadcasts (AVX2 has none).
  const Variant* v2 = Registry::instance().find("gemm/cpu/avx2/f32");
  ASSERT_NE(v2, nullptr);
  EXPECT_NE(reason(v2, p, {{"broadcast", "embedded"}}).find("AVX-512"), std::string::npos);
  // A config saved before the field existed ran the embedded form.
  Json old = d;
  old.erase("broadcast");
  EXPECT_EQ(old.get<CpuGemmConfig>().broadcast, "embedded");
  EXPECT_NE(
      reason(v, p, {{"stream", "b"}, {"threads", 2}, {"parallel_loop", "ic"}}).find("private"),
      std::string::npos);
  EXPECT_TRUE(v->can_implement({{"stream", "b"}, {"threads", 2}, {"parallel_loop", "jc"}}, p).ok());
  EXPECT_TRUE(
      v->can_implement({{"stream", "b"}, {"threads", 2}, {"parallel_loop", "ic_chunks"}}, p).ok());
  EXPECT_TRUE(v->can_implement({{"stream", "b"}, {"threads", 1}, {"parallel_loop", "ic"}}, p).ok());
  // Direct B: not transposed only, private to a thread, shapes with few enough columns.
  EXPECT_TRUE(v->can_implement({{"stream", "direct"}, {"threads", 1}}, p).ok());
  EXPECT_NE(
      reason(v, p, {{"stream", "direct"}, {"threads", 2}, {"parallel_loop", "jr"}}).find("private"),
      std::string::npos);
  // B transposed: direct only with A transposed too (then on C^T).
  Problem pt = p;
  pt.tb = Trans::T;
  EXPECT_NE(reason(v, pt, {{"stream", "direct"}, {"threads", 1}}).find("transposed"),
            std::string::npos);
  pt.ta = Trans::T;
  EXPECT_TRUE(v->can_implement({{"stream", "direct"}, {"threads", 1}}, pt).ok());
  EXPECT_NE(
      reason(v, p, {{"stream", "direct"}, {"threads", 1}, {"mr", 16}, {"nr", 28}}).find("direct"),
      std::string::npos);
  // bf16 direct reads B's (k, k+1) pairs as they lie: vdpbf16ps, not widened.
  EXPECT_NE(reason(vb, pb, {{"stream", "direct"}, {"compute", "widen"}}).find("native"),
            std::string::npos);
  EXPECT_TRUE(vb->can_implement({{"stream", "direct"}, {"compute", "native"}}, pb).ok());
  // A partial config asking for widening on a shape whose default reads B in place gets a
  // packed default to fill the rest from (16 rows: direct by default on any bf16 core).
  EXPECT_TRUE(
      vb->can_implement({{"compute", "widen"}}, Problem::dense(Dtype::bf16, 16, 256, 256)).ok());
  EXPECT_FALSE(v->can_implement({{"bogus", 1}}, p).ok());
  EXPECT_FALSE(v->can_implement({{"mr", "32"}}, p).ok());  // wrong JSON type
  EXPECT_FALSE(v->can_implement(d, pb).ok());              // dtype mismatch
  Problem bad = p;
  bad.lda = 10;
  EXPECT_FALSE(v->can_implement(d, bad).ok());
  // JSON round trip of the plain struct.
  CpuGemmConfig c = d.get<CpuGemmConfig>();
  EXPECT_EQ(Json(c), d);
}

TEST(GemmConfig, DefaultsFollowTheCaches) {
  const KernelSet* ks = kernel_set(Isa::avx512, Dtype::f32);
  Problem p = Problem::dense(Dtype::f32, 4096, 4096, 4096);
  CpuGemmConfig c = default_config(p, *ks, 1);
  const auto& ci = cpu_info();
  // Wide B: the B micro-panel within half of L1 (A micro-panels stream past it from L2);
  // A block within L2.
  const int64_t l1 = int64_t(ci.cache_bytes(1, 32768));
  EXPECT_LE(int64_t{c.kc} * c.nr * 4, l1 / 2);
  EXPECT_GT(int64_t{c.kc} * (c.mr + c.nr) * 4, l1 * 3 / 4);
  EXPECT_LE(int64_t{c.mc} * c.kc * 4, int64_t(ci.cache_bytes(2, 262144)));
  // Narrow B: B micro-panel plus A micro-panel within L1.
  const CpuGemmConfig n = default_config(Problem::dense(Dtype::f32, 4096, 128, 4096), *ks, 1);
  EXPECT_LE(int64_t{n.kc} * (n.mr + n.nr) * 4, l1);
  EXPECT_TRUE(can_implement(c, p, *ks).ok() || !kernel_set_available(*ks).ok());
  // Tiny problems stay single-threaded: a fork costs more than it saves.
  EXPECT_EQ(default_config(Problem::dense(Dtype::f32, 8, 8, 8), *ks, 2).threads, 1);
}

// Threads split columns in chunks of at least 1024 (each packs all of A); with fewer
// columns per thread and A the larger operand, rows in chunks (each packs all of B).
TEST(GemmConfig, ThreadsSplitTheLargerOperand) {
  const KernelSet* ks = kernel_set(Isa::avx512, Dtype::f32);
  auto loop = [&](int64_t m, int64_t n, Trans ta, Trans tb) {
    return default_config(Problem::dense(Dtype::f32, m, n, 4096, ta, tb), *ks, 2).parallel_loop;
  };
  EXPECT_EQ(loop(4096, 4096, Trans::N, Trans::N), "jc");
  EXPECT_EQ(loop(512, 11008, Trans::N, Trans::T), "jc");
  EXPECT_EQ(loop(11008, 2048, Trans::T, Trans::N), "jc");
  EXPECT_EQ(loop(11008, 512, Trans::T, Trans::N), "ic_chunks");
  EXPECT_EQ(loop(4096, 512, Trans::N, Trans::T), "ic_chunks");
  EXPECT_EQ(loop(1024, 1024, Trans::N, Trans::N), "jc");
  // Direct B splits its loop problem: x W^T at 16 tokens runs on C^T, whose columns are the
  // 4096 output features.
  EXPECT_EQ(loop(4096, 16, Trans::T, Trans::N), "jc");
  EXPECT_NE(default_config(Problem::dense(Dtype::f32, 4096, 512, 4096), *ks, 1).parallel_loop,
            "ic_chunks");
}

// B that fits in L3 (fp32: all of it; bf16: half a core's share) is read in place at any
// row count, A then in L2-sized blocks of 2 KiB columns; B beyond it is packed.
TEST(GemmConfig, DirectBPastFiveHundredRowsOnlyFromL3) {
  const KernelSet* ks = kernel_set(Isa::avx512, Dtype::f32);
  const auto& ci = cpu_info();
  int64_t l3_share = 0, l3 = 0;
  for (const auto& cl : ci.caches)
    if (cl.level == 3) l3 = int64_t(cl.size_bytes), l3_share = l3 / std::max(1, cl.cores_sharing);
  if (l3_share < (int64_t{2} << 20)) GTEST_SKIP() << "needs an L3 share of 2 MiB";
  const CpuGemmConfig d = default_config(Problem::dense(Dtype::f32, 2048, 512, 512), *ks, 1);
  EXPECT_EQ(d.stream, "direct");
  EXPECT_LT(d.mc, 2048);
  EXPECT_LE(int64_t{d.mc} * d.kc * 4, int64_t(ci.cache_bytes(2, 262144)));
  EXPECT_EQ(d.prefetch, 0);
  // bf16 only with the 64 x 6 tiles of register-broadcast cores, not where it is widened.
  const KernelSet* kb = kernel_set(Isa::avx512, Dtype::bf16);
  const CpuGemmConfig b = default_config(Problem::dense(Dtype::bf16, 2048, 512, 512), *kb, 1);
  EXPECT_EQ(b.stream == "direct", b.broadcast == "register" && b.compute != "widen");
  if (b.stream == "direct") EXPECT_EQ(b.kc, 1024);
  // fp32 up to the whole L3, bf16 up to half the share (16 MiB of B either way here).
  EXPECT_EQ(default_config(Problem::dense(Dtype::f32, 2048, 2048, 2048), *ks, 1).stream == "direct",
            int64_t{16} << 20 <= l3);
  if ((int64_t{16} << 20) > l3_share / 2)
    EXPECT_NE(default_config(Problem::dense(Dtype::bf16, 2048, 4096, 2048), *kb, 1).stream,
              "direct");
  // Narrow B stays packed past 512 rows (its few panels are reused by too few tiles).
  EXPECT_NE(default_config(Problem::dense(Dtype::f32, 8192, 16, 8192), *ks, 1).stream, "direct");
  // 1 GiB of B is past any L3 share.
  EXPECT_EQ(default_config(Problem::dense(Dtype::f32, 2048, 16384, 16384), *ks, 1).stream, "none");
  // Up to 512 rows B from DRAM is read in place too: in L2-sized A blocks past 128 rows,
  // with a near prefetch (B is re-read from L3 after the first block); the far prefetch for
  // one block of few rows.
  const CpuGemmConfig r512 = default_config(Problem::dense(Dtype::f32, 512, 16384, 16384), *ks, 1);
  EXPECT_EQ(r512.stream, "direct");
  EXPECT_EQ(r512.prefetch, 16);
  EXPECT_LT(r512.mc, 512);
  const CpuGemmConfig r64 = default_config(Problem::dense(Dtype::f32, 64, 16384, 16384), *ks, 1);
  EXPECT_EQ(r64.prefetch, 128);
  EXPECT_EQ(r64.mc, 64);
}

// Block sizes that make the same blocks are one candidate (every mc >= m is one block of m
// rows, blocks may grow by 1/8): the tuner would otherwise measure copies as rivals.
TEST(GemmConfig, SearchSpaceHasOnePointPerDistinctBlocking) {
  const KernelSet* ks = kernel_set(Isa::portable, Dtype::f32);
  auto count = [&](int64_t m, int64_t n, int64_t k, const char* field) {
    for (const auto& ps : search_space(Problem::dense(Dtype::f32, m, n, k), *ks))
      if (ps.name == field) return ps.values.size();
    return std::size_t{0};
  };
  EXPECT_EQ(count(16, 4096, 4096, "mc"), 1u);
  EXPECT_EQ(count(4096, 4096, 4096, "mc"), 6u);
  EXPECT_EQ(count(4096, 16, 4096, "nc"), 1u);
  EXPECT_EQ(count(4096, 4096, 4096, "nc"), 4u);
  EXPECT_EQ(count(4096, 4096, 200, "kc"), 2u);  // 128 (two blocks of 100), 192 (one of 200)
}

// ---- run-time ISA choice ---------------------------------------------------------------------

class IsaOverride {
 public:
  explicit IsaOverride(const char* isa) { setenv("PERFCAL_ISA", isa, 1); }
  ~IsaOverride() { unsetenv("PERFCAL_ISA"); }
};

TEST(GemmIsa, FallsBackToAvx2AndPortable) {
  {
    IsaOverride o("avx2");
    if (isa_available(Isa::avx2)) {
      EXPECT_EQ(best_kernel_set(Dtype::f32)->isa, Isa::avx2);
      EXPECT_FALSE(Registry::instance().find("gemm/cpu/avx512/f32")->available().ok());
      // bf16 has no AVX2 kernels: the portable ones take over.
      EXPECT_EQ(best_kernel_set(Dtype::bf16)->isa, Isa::portable);
    }
  }
  {
    IsaOverride o("portable");
    EXPECT_EQ(best_kernel_set(Dtype::f32)->isa, Isa::portable);
    EXPECT_FALSE(Registry::instance().find("gemm/cpu/avx2/f32")->available().ok());
    EXPECT_TRUE(Registry::instance().find("gemm/cpu/portable/f32")->available().ok());
  }
}

}  // namespace
}  // namespace perfcal::gemm
