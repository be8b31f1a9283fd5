// Every command-line program rejects bad input with one clear line and a non-zero exit,
// and bench_all --quick writes a profile that validates (end to end).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "profile/profile.h"
#include "test_util.h"

namespace perfcal {
namespace {

using test::bin;
using test::expect_clear_error;
using test::run;

TEST(Cli, BenchAllRejectsBadFlags) {
  expect_clear_error(run(bin("bench_all") + " --no-such-flag"), "--no-such-flag");
  expect_clear_error(run(bin("bench_all") + " --threads 0"), "--threads");
  expect_clear_error(run(bin("bench_all") + " --threads 1,x"), "not a thread count");
  expect_clear_error(run(bin("bench_all") + " --devices cuda:7"), "unknown device \"cuda:7\"");
  expect_clear_error(run(bin("bench_all") + " --filter '(['"), "invalid regular expression");
  expect_clear_error(run(bin("bench_all") + " --resume /nonexistent.json"), "cannot open");
}

TEST(Cli, PerfcalRejectsBadInput) {
  expect_clear_error(run(bin("perfcal") + " frobnicate"), "frobnicate");
  expect_clear_error(run(bin("perfcal") + " validate-profile /nonexistent.json"), "cannot open");
  std::string trunc = test::temp_path("trunc.json");
  test::write_file(trunc, "{\"schema\": \"perfcal.profile/1\", \"measurements\": [");
  expect_clear_error(run(bin("perfcal") + " validate-profile " + trunc), "malformed JSON");
  std::remove(trunc.c_str());
}

TEST(Cli, DevicesAlwaysListsTheCpu) {
  auto r = run(bin("perfcal") + " devices");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("cpu:0"), std::string::npos);
  EXPECT_NE(r.output.find("L1"), std::string::npos);
}

TEST(Cli, ProbesProduceFinitePositiveFigures) {
  std::string out = test::temp_path("probe.json");
  auto r = run(bin("bench_probe") + " --threads 1 --repetitions 2 --min-time 0.01 --filter 'fma|cache' --out " + out);
  ASSERT_EQ(r.code, 0) << r.output;
  std::string err;
  auto p = profile::load(out, &err);
  ASSERT_TRUE(p) << err;
  int rates = 0;
  for (const auto& m : p->measurements) {
    if (m.outcome == "unsupported") continue;
    EXPECT_EQ(m.outcome, "passed") << m.name << " " << m.error;
    double v = m.gflops ? *m.gflops : m.gbps.value_or(0);
    EXPECT_TRUE(std::isfinite(v) && v > 0) << m.name;
    ++rates;
  }
  EXPECT_GE(rates, 2);
  std::remove(out.c_str());
}

TEST(Cli, BenchAllQuickWritesAValidProfile) {
  std::string out = test::temp_path("quick.json");
  // One thread count keeps the test short; the full default (1 and all cores) is what
  // scripts/bench_all.sh runs.
  auto r = run(bin("bench_all") + " --quick --threads 1 --out " + out);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("== cpu:0"), std::string::npos) << "summary table missing";
  auto v = run(bin("perfcal") + " validate-profile " + out);
  EXPECT_EQ(v.code, 0) << v.output;
  std::string err;
  auto p = profile::load(out, &err);
  ASSERT_TRUE(p) << err;
  EXPECT_FALSE(p->partial);
  bool has_probe = false;
  for (const auto& m : p->measurements) has_probe |= m.name == "probe/cpu/fma/f32";
  EXPECT_TRUE(has_probe);
  // No result may be both failed and carry a rate (the schema's semantic rule, re-checked).
  for (const auto& m : p->measurements)
    if (m.outcome != "passed") EXPECT_FALSE(m.gflops || m.gbps) << m.name;
  std::remove(out.c_str());
}

}  // namespace
}  // namespace perfcal
