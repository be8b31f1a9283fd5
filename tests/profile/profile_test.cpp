// Profile types: round trip, schema acceptance, and one rejection per kind of bad file,
// each with the specific message a user would need.
#include "profile/profile.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "test_util.h"

namespace perfcal::profile {
namespace {

Profile good_profile() {
  Profile p;
  p.partial = false;
  p.created = "2026-11-28T15:00:00Z";
  p.finished = "2026-11-28T15:01:00Z";
  p.host = {{"hostname", "h"},
            {"cpu", {{"model", "X"}, {"cores", 2}, {"hw_threads", 2},
                     {"caches", Json::array({{{"level", 1}, {"size_bytes", 49152}}})},
                     {"features", {{"avx2", true}}}}}};
  p.devices = Json::array({{{"id", "cpu:0"}, {"kind", "cpu"}, {"name", "X"}}});
  p.software = {{"openblas", {{"core", "Haswell"}}}};
  p.command = {"bench_all", "--quick"};
  p.environment = {{"variables", Json::object()}};
  Measurement m;
  m.name = "gemm/cpu/avx512/f32";
  m.device = "cpu:0";
  m.dtype = "f32";
  m.problem = {{"m", 64}, {"n", 64}, {"k", 64}};
  m.config = {{"mr", 32}};
  m.outcome = "passed";
  m.verified = true;
  m.max_rel_error = 1e-7;
  m.time_s = TimeStats{1e-5, 0.9e-5, 1.2e-5, 0.02, 5};
  m.gflops = 52.4;
  m.extra = {{"percent_of_peak", 30.0}};
  p.measurements.push_back(m);
  return p;
}

std::string first_problem(const Json& j) {
  auto v = validate(j);
  return v.empty() ? "" : v.front();
}

TEST(Profile, RoundTripKeepsEveryField) {
  Profile p = good_profile();
  Json j = p;
  Profile q = j.get<Profile>();
  EXPECT_EQ(Json(q), j);
  ASSERT_EQ(q.measurements.size(), 1u);
  EXPECT_EQ(q.measurements[0].extra["percent_of_peak"], 30.0);
  EXPECT_DOUBLE_EQ(q.measurements[0].time_s->median, 1e-5);
}

TEST(Profile, GoodProfileValidates) { EXPECT_EQ(first_problem(good_profile()), ""); }

TEST(Profile, CommittedSchemaIsCompiledIn) {
  auto text = test::read_file(std::string(PERFCAL_SOURCE_DIR) + "/results/schema/profile.schema.json");
  EXPECT_EQ(Json::parse(text), schema());
}

struct BadCase {
  const char* what;
  std::function<void(Json&)> mutate;
  const char* expect;  // substring of the first problem
};

TEST(Profile, RejectsEachKindOfBadFile) {
  const BadCase cases[] = {
      {"other schema", [](Json& j) { j["schema"] = "perfcal.profile/2"; }, "unsupported schema version"},
      {"missing field", [](Json& j) { j.erase("measurements"); }, "missing required field \"measurements\""},
      {"wrong type", [](Json& j) { j["partial"] = "yes"; }, "$.partial: expected boolean"},
      {"negative time", [](Json& j) { j["measurements"][0]["time_s"]["min"] = -1.0; }, "time_s.min: must be > 0"},
      {"min > median", [](Json& j) { j["measurements"][0]["time_s"]["min"] = 1.0; }, "min <= median <= max"},
      {"bad outcome", [](Json& j) { j["measurements"][0]["outcome"] = "great"; }, "must be one of"},
      {"verified but incorrect", [](Json& j) { j["measurements"][0]["outcome"] = "incorrect"; }, "verified but outcome is incorrect"},
      {"rate on failure", [](Json& j) { j["measurements"][0]["verified"] = false; j["measurements"][0]["outcome"] = "failed"; }, "did not pass"},
      {"unknown device", [](Json& j) { j["measurements"][0]["device"] = "cuda:3"; }, "not in $.devices"},
      {"bad name", [](Json& j) { j["measurements"][0]["name"] = "GEMM avx"; }, "does not match"},
      {"zero threads", [](Json& j) { j["measurements"][0]["threads"] = 0; }, "threads: must be >= 1"},
      {"null rate", [](Json& j) { j["measurements"][0]["gflops"] = nullptr; }, "gflops: expected number"},
      {"complete without finished", [](Json& j) { j.erase("finished"); }, "needs \"finished\""},
      {"no devices", [](Json& j) { j["devices"] = Json::array(); }, "at least 1"},
  };
  for (const auto& c : cases) {
    Json j = good_profile();
    c.mutate(j);
    std::string got = first_problem(j);
    EXPECT_NE(got.find(c.expect), std::string::npos) << c.what << ": got \"" << got << "\"";
  }
}

TEST(Profile, ParserRejectsHostileText) {
  std::string err;
  EXPECT_FALSE(parse_json("{\"a\": 1, \"a\": 2}", &err));
  EXPECT_NE(err.find("duplicate key \"a\""), std::string::npos) << err;
  EXPECT_FALSE(parse_json(std::string(100, '[') + std::string(100, ']'), &err));
  EXPECT_NE(err.find("nesting deeper"), std::string::npos) << err;
  std::string text = Json(good_profile()).dump();
  EXPECT_FALSE(parse_json(text.substr(0, text.size() / 2), &err));
  EXPECT_NE(err.find("malformed JSON"), std::string::npos) << err;
  EXPECT_FALSE(parse_json("", &err));
  EXPECT_TRUE(parse_json(text, &err));
}

TEST(Profile, AtomicWriteReplacesWholeFileAndLeavesNoTemp) {
  std::string dir = test::temp_path("atomic");
  std::filesystem::create_directories(dir);
  std::string path = dir + "/p.json";
  test::write_file(path, "old");
  ASSERT_EQ(save(path, good_profile()), "");
  std::string err;
  auto back = load(path, &err);
  ASSERT_TRUE(back) << err;
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);
  EXPECT_NE(write_atomic("/nonexistent-dir/x.json", "{}"), "");
  std::filesystem::remove_all(dir);
}

TEST(Profile, LoadReportsFileAndProblem) {
  std::string path = test::temp_path("bad.json");
  Json j = good_profile();
  j["schema"] = "other/1";
  test::write_file(path, j.dump());
  std::string err;
  EXPECT_FALSE(load(path, &err));
  EXPECT_NE(err.find(path), std::string::npos);
  EXPECT_NE(err.find("unsupported schema version"), std::string::npos);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace perfcal::profile
