// The search space is the variant's search_space() product filtered by its can_implement,
// nothing else: its size must equal a brute-force count.
#include "tuner/space.h"

#include <gtest/gtest.h>

#include "gemm/gemm.h"
#include "tuner/gemm_target.h"
#include "tuner_testing.h"

namespace perfcal::tuner {
namespace {

TEST(Space, SizeEqualsBruteForceCountOfCanImplement) {
  int checked = 0;
  for (const auto& v : gemm::Registry::instance().all()) {
    if (v->info().baseline || !v->available().ok()) continue;
    for (auto [m, n, k] : {std::tuple{37, 53, 71}}) {
      const gemm::Problem p = gemm::Problem::dense(v->info().dtype, m, n, k);
      const SearchSpace ss = v->search_space(p);
      if (ss.empty()) continue;
      Target t = gemm_target(*v, Shape{m, n, k}, nullptr);
      // Brute force: walk the product with an odometer, ask can_implement directly.
      uint64_t total = 1, valid = 0;
      for (const auto& f : ss) total *= f.values.size();
      std::vector<std::size_t> d(ss.size(), 0);
      for (uint64_t i = 0; i < total; ++i) {
        Json c = v->default_config(p);
        for (std::size_t f = 0; f < ss.size(); ++f) c[ss[f].name] = ss[f].values[d[f]];
        valid += v->can_implement(c, p).ok();
        for (std::size_t f = ss.size(); f-- > 0;) {
          if (++d[f] < ss[f].values.size()) break;
          d[f] = 0;
        }
      }
      EXPECT_EQ(t.space.total(), total) << v->name();
      EXPECT_EQ(t.space.count_valid(), valid) << v->name();
      EXPECT_GT(valid, 0u) << v->name();
      ++checked;
    }
  }
  EXPECT_GT(checked, 0) << "no tunable GEMM variant available (the portable one always is)";
}

TEST(Space, IndexRoundTripsAndNeighborsAreOneStepAndValid) {
  const Target t = testing::bowl_target();
  EXPECT_EQ(t.space.total(), 128u);
  EXPECT_EQ(t.space.count_valid(), 116u);
  for (uint64_t i : t.space.valid_indices()) {
    const Json c = t.space.config_at(i);
    ASSERT_EQ(t.space.index_of(c), i);
    for (uint64_t n : t.space.neighbors(i)) {
      EXPECT_TRUE(t.space.valid(n));
      const auto a = t.space.digits(i), b = t.space.digits(n);
      int moved = 0;
      for (std::size_t f = 0; f < a.size(); ++f) moved += std::abs(a[f] - b[f]);
      EXPECT_EQ(moved, 1);
    }
  }
  EXPECT_FALSE(t.space.index_of(Json{{"x", 9}, {"y", 0}, {"z", "a"}}).has_value());
}

TEST(Space, RestrictFieldPinsValuesAndRejectsUnknownFields) {
  SearchSpace s = {{"threads", {1, 2}}, {"kc", {128, 256}}};
  EXPECT_TRUE(restrict_field(&s, "threads", {Json(1)}).ok());
  EXPECT_EQ(s[0].values.size(), 1u);
  const Status bad = restrict_field(&s, "nope", {Json(1)});
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("threads, kc"), std::string::npos) << bad.message();
}

}  // namespace
}  // namespace perfcal::tuner

namespace perfcal::tuner {
namespace {

// A skinny GEMM's default runs the dot-product path, which uses none of the searched
// fields: the candidates must still be BLIS configs (else every candidate is the default
// again), and the default must not be taken for the BLIS point with the same blocking.
TEST(Space, SkinnyGemmCandidatesAreBlisConfigs) {
  const gemm::Variant* v = gemm::Registry::instance().find("gemm/cpu/avx512/f32");
  ASSERT_NE(v, nullptr);
  if (!v->available().ok()) GTEST_SKIP() << "needs AVX-512";
  const Target t = gemm_target(*v, Shape{4, 1024, 1024}, nullptr);
  EXPECT_EQ(t.default_config["algo"], "dot");
  ASSERT_GT(t.space.count_valid(), 0u);
  t.space.for_each_valid([&](uint64_t, const Json& c) {
    EXPECT_EQ(c["algo"], "blis") << c;
    return true;
  });
  EXPECT_FALSE(t.space.index_of(t.default_config).has_value());
  Json blis = t.default_config;
  blis["algo"] = "blis";
  blis["mc"] = 192;  // onto the grid
  blis["kc"] = 256;
  blis["nc"] = 1344;
  EXPECT_TRUE(t.space.index_of(blis).has_value());
}

}  // namespace
}  // namespace perfcal::tuner
