// The tuning cache: a rerun skips what is recorded (an interrupted tuning resumes), every
// evaluation survives a round trip, and a corrupt file is moved aside, never overwritten.
#include "tuner/cache.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tuner/strategy.h"
#include "tuner/tune.h"
#include "tuner_testing.h"

namespace perfcal::tuner {
namespace {

namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("perfcal_tuner_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}

TEST(Cache, RerunSkipsCachedEvaluationsAndResumes) {
  const std::string path = temp_path("resume.jsonl");
  fs::remove(path);
  Target t = testing::bowl_target();
  auto s = make_exhaustive();
  {
    // "Interrupted" after 10 measurements: 6 evaluations of the search (recorded) and the
    // confirmation's 4 (the default and the fastest twice more each; not recorded).
    Cache c;
    ASSERT_TRUE(c.open(path).ok());
    testing::FakeMeasurer m(testing::bowl_time);
    tune_target(t, m, &c, *s, Budget{10, 0}, 1);
    EXPECT_EQ(m.calls, 10);
  }
  {
    Cache c;
    ASSERT_TRUE(c.open(path).ok());
    EXPECT_EQ(c.size(), 6u);
    testing::FakeMeasurer m(testing::bowl_time);
    const ShapeResult r = tune_target(t, m, &c, *s, Budget{1000, 0}, 1);
    EXPECT_EQ(m.calls, 116 - 6 + 4) << "only the evaluations not yet recorded are measured";
    EXPECT_EQ(r.evaluations, 116);
    EXPECT_EQ(r.tuned_config, (Json{{"x", 5}, {"y", 2}, {"z", "b"}}));
  }
  {
    Cache c;
    ASSERT_TRUE(c.open(path).ok());
    testing::FakeMeasurer m(testing::bowl_time);
    tune_target(t, m, &c, *s, Budget{1000, 0}, 1);
    EXPECT_EQ(m.calls, 0) << "a complete cache needs no hardware";
  }
}

TEST(Cache, KeyedByDeviceVersionsAndProblem) {
  const std::string path = temp_path("keys.jsonl");
  fs::remove(path);
  Cache c;
  ASSERT_TRUE(c.open(path).ok());
  Evaluation e;
  e.outcome = "passed";
  e.times_s = {1e-3, 1.1e-3, 0.9e-3};
  summarize(&e);
  CacheKey k{"cpu A", library_versions(), "gemm/cpu/avx512/f32", "f32", {{"m", 1}}, {{"mr", 32}}};
  ASSERT_TRUE(c.append(k, e).ok());
  Cache d;
  ASSERT_TRUE(d.open(path).ok());
  ASSERT_NE(d.find(k), nullptr);
  EXPECT_DOUBLE_EQ(d.find(k)->median_s, 1e-3);
  CacheKey other = k;
  other.fingerprint = "cpu B";
  EXPECT_EQ(d.find(other), nullptr);
  other = k;
  other.versions["perfcal"] = "9.9.9";
  EXPECT_EQ(d.find(other), nullptr);
  other = k;
  other.problem = {{"m", 2}};
  EXPECT_EQ(d.find(other), nullptr);
}

TEST(Cache, CorruptFileIsMovedAsideNotOverwritten) {
  const std::string path = temp_path("corrupt.jsonl");
  {
    std::ofstream out(path);
    out << "{\"key\": {\"fingerprint\": \"x\"}\n";  // truncated, not JSON
  }
  Cache c;
  const Status s = c.open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("corrupt tuning cache"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("moved to"), std::string::npos) << s.message();
  EXPECT_FALSE(fs::exists(path));
  bool found = false;
  for (const auto& f : fs::directory_iterator(fs::path(path).parent_path()))
    found |= f.path().filename().string().rfind("corrupt.jsonl.corrupt-", 0) == 0;
  EXPECT_TRUE(found);
}

TEST(Cache, ReplayServesRecordedOutcomesAndFailsTheRest) {
  Cache c;
  ASSERT_TRUE(c.open("").ok());
  Evaluation e;
  e.outcome = "incorrect";
  CacheKey k{"cpu", library_versions(), "v", "f32", {{"m", 1}}, {{"x", 1}}};
  ASSERT_TRUE(c.append(k, e).ok());
  ReplayMeasurer r(c, "v", "f32", {{"m", 1}});
  EXPECT_EQ(r.measure({{"x", 1}}).outcome, "incorrect");
  EXPECT_EQ(r.measure({{"x", 2}}).outcome, "failed");
}

}  // namespace
}  // namespace perfcal::tuner
