// `perfcal tune` rejects bad input with one clear line and exit 2; a tiny real run and a
// replay of a recorded cache work end to end.
#include "tuner/cli.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "profile/profile.h"
#include "test_util.h"

namespace perfcal::tuner {
namespace {

using test::bin;
using test::run;

// `perfcal tune` errors are a single line.
void expect_one_line_error(const test::RunResult& r, const std::string& needle) {
  test::expect_clear_error(r, needle, 1);
}

TEST(TuneCli, RejectsBadInput) {
  const std::string tune = bin("perfcal") + " tune ";
  expect_one_line_error(run(tune + "--kernel conv --shapes 8x8x8 --budget 1e"),
                        "unknown or untunable kernel \"conv\"");
  expect_one_line_error(run(tune + "--dtype f7 --shapes 8x8x8 --budget 1e"),
                        "unsupported dtype \"f7\"");
  expect_one_line_error(run(tune + "--strategy magic --shapes 8x8x8 --budget 1e"),
                        "unknown strategy \"magic\"");
  expect_one_line_error(run(tune + "--device cuda:3 --shapes 8x8x8 --budget 1e"),
                        "unsupported device");
  expect_one_line_error(run(tune + "--shapes 8x8 --budget 1e"), "bad shape \"8x8\"");
  expect_one_line_error(run(tune + "--shapes 8x0x8 --budget 1e"), "bad shape");
  expect_one_line_error(run(tune + "--shapes 8x8x8/NX --budget 1e"), "bad transposes");
  expect_one_line_error(run(tune + "--budget 1e"), "no shapes given");
  expect_one_line_error(run(tune + "--shapes 8x8x8 --budget 0s"), "budget must be positive");
  expect_one_line_error(run(tune + "--shapes 8x8x8 --budget soon"), "bad budget");
  expect_one_line_error(run(tune + "--shapes-from /nonexistent/shapes.txt --budget 1e"),
                        "cannot read shapes file");
  expect_one_line_error(run(tune + "--shapes 8x8x8 --budget 1e --fix nosuch=1"),
                        "no tunable field \"nosuch\"");
  expect_one_line_error(run(tune + "--shapes 8x8x8 --budget 1e --fix mr=5"), "search space");
  const std::string corrupt = test::temp_path("corrupt_cache.jsonl");
  test::write_file(corrupt, "not json\n");
  expect_one_line_error(run(tune + "--shapes 8x8x8 --budget 1e --cache " + corrupt),
                        "corrupt tuning cache");
  EXPECT_FALSE(std::filesystem::exists(corrupt)) << "moved aside, not overwritten";
}

TEST(TuneCli, ParsersAcceptTheDocumentedForms) {
  std::vector<Shape> s;
  EXPECT_EQ(parse_shapes("4096x4096x4096,512x4096x11008", &s), "");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].k, 11008);
  EXPECT_EQ(s[1].str(), "512x4096x11008");
  // Transposes after the dimensions; NN is the default and is not written back.
  s.clear();
  EXPECT_EQ(parse_shapes("512x11008x4096/NT,8x8x8/NN,4096x16x4096/TN", &s), "");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].ta, 'N');
  EXPECT_EQ(s[0].tb, 'T');
  EXPECT_EQ(s[0].str(), "512x11008x4096/NT");
  EXPECT_EQ(s[0].problem(),
            (Json{{"m", 512}, {"n", 11008}, {"k", 4096}, {"ta", "N"}, {"tb", "T"}}));
  EXPECT_EQ(s[1].str(), "8x8x8");
  EXPECT_EQ(s[1].problem(), (Json{{"m", 8}, {"n", 8}, {"k", 8}}));
  EXPECT_EQ(s[2].ta, 'T');
  for (const char* bad : {"8x8x8/", "8x8x8/N", "8x8x8/NTN", "8x8x8/nt", "8x8/NT"})
    EXPECT_NE(parse_shapes(bad, &s), "") << bad;
  Budget b;
  EXPECT_EQ(parse_budget("120s", &b), "");
  EXPECT_EQ(b.max_seconds, 120);
  b = {};
  EXPECT_EQ(parse_budget("2m", &b), "");
  EXPECT_EQ(b.max_seconds, 120);
  b = {};
  EXPECT_EQ(parse_budget("40e", &b), "");
  EXPECT_EQ(b.max_evaluations, 40);
  EXPECT_NE(parse_budget("1.5e", &b), "");
  std::string f;
  std::vector<Json> v;
  EXPECT_EQ(parse_fix("parallel_loop=ic|jr", &f, &v), "");
  EXPECT_EQ(f, "parallel_loop");
  EXPECT_EQ(v, (std::vector<Json>{"ic", "jr"}));
}

TEST(TuneCli, TinyRealRunWritesAValidProfileAndResumes) {
  const std::string prof = test::temp_path("tune_profile.json"),
                    cache = test::temp_path("tune_cache.jsonl");
  const std::string shapes = test::temp_path("shapes.txt");
  std::remove(prof.c_str());
  std::remove(cache.c_str());
  // The second shape transposes A (the layout of PyTorch's row-major x W^T).
  test::write_file(shapes, "# two tiny shapes\n24x40x56\n24x40x56/TN\n");
  const std::string cmd =
      bin("perfcal") + " tune --shapes-from " + shapes +
      " --strategy model --budget 4e --min-time 0.0005 --fix threads=1 --profile " + prof +
      " --cache " + cache;
  auto r = run(cmd);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("24x40x56"), std::string::npos) << r.output;
  std::string err;
  auto doc = profile::read_json_file(prof, &err);
  ASSERT_TRUE(doc) << err;
  EXPECT_TRUE(profile::validate(*doc).empty()) << profile::validate(*doc).front();
  ASSERT_EQ((*doc)["tuned"].size(), 2u);
  EXPECT_EQ((*doc)["tuned"][0]["problem"]["m"], 24);
  EXPECT_FALSE((*doc)["tuned"][0]["problem"].contains("ta"));
  EXPECT_EQ((*doc)["tuned"][1]["problem"]["ta"], "T");
  EXPECT_EQ((*doc)["tuned"][1]["problem"]["tb"], "N");
  EXPECT_NE(r.output.find("24x40x56/TN"), std::string::npos) << r.output;
  // The rerun measures nothing new: every evaluation comes from the cache.
  auto again = run(cmd);
  ASSERT_EQ(again.code, 0) << again.output;
  std::remove(prof.c_str());
  std::remove(cache.c_str());
}

// The cache and the profile may name folders that do not exist yet: they are created
// before the tuning starts, as bench_all does for --out.
TEST(TuneCli, CreatesTheFoldersOfItsCacheAndProfile) {
  const std::string dir = test::temp_path("tune_new_dirs");
  std::filesystem::remove_all(dir);
  const std::string prof = dir + "/a/profile.json", cache = dir + "/b/c/cache.jsonl";
  auto r = run(bin("perfcal") + " tune --shapes 24x40x56 --strategy model --budget 2e --min-time 0.0005" +
               " --fix threads=1 --profile " + prof + " --cache " + cache);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(std::filesystem::exists(prof));
  EXPECT_TRUE(std::filesystem::exists(cache));
  std::filesystem::remove_all(dir);
}

// A profile that cannot be written fails at once with one line, not after the whole
// tuning has run (the budget here would take a minute).
TEST(TuneCli, UnwritableProfileFailsBeforeTuning) {
  auto r = run(bin("perfcal") + " tune --shapes 512x512x512 --strategy model --budget 60s" +
               " --profile /proc/perfcal-no-such-dir/profile.json");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("cannot create the folder of profile"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("GF/s"), std::string::npos) << "it tuned first: " << r.output;
  r = run(bin("perfcal") + " tune --shapes 512x512x512 --strategy model --budget 60s" +
          " --cache /proc/perfcal-cache.jsonl");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("cannot write tuning cache"), std::string::npos) << r.output;
}

TEST(TuneCli, ReplaysARecordedCacheWithoutHardware) {
  const std::string data =
      std::string(PERFCAL_SOURCE_DIR) + "/tests/tuner/data/gemm_avx512_f32_32x1024x1024.jsonl";
  auto r = run(bin("perfcal") + " tune --replay --variant gemm/cpu/avx512/f32 --cache " + data +
               " --shapes 32x1024x1024 --strategy model --budget 9e");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("32x1024x1024"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace perfcal::tuner
