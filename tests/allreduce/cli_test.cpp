// bench_allreduce's command line: bad input is one clear line and exit 2; a small threads run
// prints the nccl-tests columns, verifies (#wrong 0) and writes a valid profile whose
// all-reduce measurements carry bytes/count/ranks/op and algbw/busbw.
#include <gtest/gtest.h>

#include "profile/profile.h"
#include "test_util.h"

namespace {

using perfcal::test::bin;
using perfcal::test::run;

int lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

TEST(BenchAllreduceCli, BadInputIsOneLineAndExit2) {
  for (const char* args : {"--bogus", "-b 0", "-b 1M -e 8", "-f 1", "-f 0", "-e 1T", "-e 99999999G",
                           "-b 12Q", "--dtype f16", "--op prod", "--algo spiral", "-t 0", "-t 1000",
                           "--repetitions 0", "--iters -1", "--timeout 0", "--transport carrier"}) {
    const auto r = run(bin("bench_allreduce") + " " + args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.output;
    EXPECT_EQ(lines(r.output), 1) << args << "\n" << r.output;
    EXPECT_EQ(r.output.rfind("bench_allreduce: ", 0), 0u) << r.output;
  }
}

TEST(BenchAllreduceCli, ThreadsRunVerifiesAndWritesProfile) {
  const std::string out = perfcal::test::temp_path("ar.json");
  const auto r = run(bin("bench_allreduce") +
                     " -t 3 -b 8 -e 64K -f 64 --iters 3 --warmup 1 --repetitions 2 "
                     "--dtype all --out " +
                     out);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("busbw(GB/s)"), std::string::npos);
  EXPECT_NE(r.output.find("rabenseifner"), std::string::npos);
  std::string err;
  auto prof = perfcal::profile::load(out, &err);
  ASSERT_TRUE(prof) << err;
  EXPECT_FALSE(prof->partial);
  // 3 sizes x 3 dtypes x 4 algorithms
  EXPECT_EQ(prof->measurements.size(), 36u);
  for (const auto& m : prof->measurements) {
    EXPECT_EQ(m.name.rfind("allreduce/threads/", 0), 0u) << m.name;
    EXPECT_EQ(m.outcome, "passed") << m.name << m.error;
    EXPECT_TRUE(m.verified);
    EXPECT_EQ(m.problem["ranks"], 3);
    EXPECT_TRUE(m.problem.contains("bytes") && m.problem.contains("count") &&
                m.problem.contains("op"));
    EXPECT_GT(m.extra["algbw_gbps"].get<double>(), 0);
    EXPECT_DOUBLE_EQ(m.extra["busbw_gbps"].get<double>(),
                     m.extra["algbw_gbps"].get<double>() * 4.0 / 3.0);
    EXPECT_EQ(m.extra["transport"], "threads");
  }
  std::remove(out.c_str());
}

}  // namespace
