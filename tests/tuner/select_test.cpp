// The winner is declared only beyond the noise (CONVENTIONS 12), and an incorrect
// candidate never wins however fast it was.
#include "tuner/select.h"

#include <gtest/gtest.h>

#include <random>

#include "tuner/strategy.h"
#include "tuner/tune.h"
#include "tuner_testing.h"

namespace perfcal::tuner {
namespace {

Evaluation sample(double center, double spread, uint64_t seed, int n = 9) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> d(center, spread);
  Evaluation e;
  e.outcome = "passed";
  for (int i = 0; i < n; ++i) e.times_s.push_back(d(rng));
  summarize(&e);
  return e;
}

TEST(MannWhitney, PValues) {
  // Identical samples: no evidence at all.
  std::vector<double> a = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_NEAR(mann_whitney_p(a, a), 1.0, 1e-9);
  // Completely separated samples of 9: p ~ 4e-4.
  std::vector<double> b = {11, 12, 13, 14, 15, 16, 17, 18, 19};
  EXPECT_LT(mann_whitney_p(a, b), 1e-3);
  EXPECT_NEAR(mann_whitney_p(a, b), mann_whitney_p(b, a), 1e-12);
}

TEST(Decide, KeepsTheDefaultOnIndistinguishableSamples) {
  // Same distribution, many seeds: the default must stay (nearly) always; a false change
  // at alpha = 0.01 with a 1% gain floor should be rare.
  int changed = 0;
  for (uint64_t s = 0; s < 200; ++s) {
    Evaluation def = sample(1e-3, 3e-5, 2 * s), other = sample(1e-3, 3e-5, 2 * s + 1);
    def.config = {{"x", 0}};
    other.config = {{"x", 1}};
    const Decision d = decide(&def, {&def, &other});
    changed += d.changed;
    EXPECT_EQ(d.winner, d.changed ? &other : &def);
  }
  EXPECT_LE(changed, 4);
}

TEST(Decide, PicksAClearlyFasterCandidate) {
  Evaluation def = sample(1e-3, 2e-5, 1), fast = sample(0.9e-3, 2e-5, 2);
  def.config = {{"x", 0}};
  fast.config = {{"x", 1}};
  const Decision d = decide(&def, {&def, &fast});
  EXPECT_TRUE(d.changed);
  EXPECT_EQ(d.winner, &fast);
  EXPECT_LT(d.p_value, 0.01);
}

TEST(Decide, NoisyBimodalCandidateDoesNotWin) {
  // What a loaded machine produces: a candidate whose median is lower but whose repetitions
  // straddle the default's.
  Evaluation def, cand;
  def.outcome = cand.outcome = "passed";
  def.times_s = {8e-3, 8e-3, 8e-3, 8e-3, 8e-3, 8e-3, 8e-3, 8e-3, 8e-3};
  cand.times_s = {7e-4, 1.4e-2, 6e-4, 1.4e-2, 1.3e-2, 6e-4, 8e-3, 7e-4, 4e-4};
  summarize(&def);
  summarize(&cand);
  def.config = {{"x", 0}};
  cand.config = {{"x", 1}};
  EXPECT_LT(cand.median_s, def.median_s);
  EXPECT_FALSE(decide(&def, {&cand}).changed);
}

TEST(Decide, IncorrectCandidateNeverWins) {
  Target t = testing::bowl_target();
  // The fastest point of the bowl, (5, 2, b), computes wrong results.
  testing::FakeMeasurer m(testing::bowl_time);
  m.incorrect = [](const Json& c) { return c["x"] == 5 && c["y"] == 1 + 1 && c["z"] == "b"; };
  auto s = make_exhaustive();
  const ShapeResult r = tune_target(t, m, nullptr, *s, Budget{1000, 0}, 1);
  ASSERT_TRUE(r.changed);
  EXPECT_FALSE(r.tuned_config == (Json{{"x", 5}, {"y", 2}, {"z", "b"}}));
  EXPECT_GT(r.tuned_s, testing::bowl_time(Json{{"x", 5}, {"y", 2}, {"z", "b"}}) * 1.01);
}

TEST(Decide, NothingPassedMeansNoWinner) {
  Evaluation bad;
  bad.outcome = "incorrect";
  const Decision d = decide(&bad, {&bad});
  EXPECT_EQ(d.winner, nullptr);
}

}  // namespace
}  // namespace perfcal::tuner
