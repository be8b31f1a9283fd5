// Family "selftest": benchmarks with known, controllable durations, registered only when
// PERFCAL_SELFTEST=1. The reliability tests use them to interrupt, kill and time out a run
// at a known point; they measure nothing about the machine.
//   selftest/cpu/sleep/none   sleeps `ms` per iteration (PERFCAL_SELFTEST_SLEEP_MS, default 50);
//                             appends its index to PERFCAL_SELFTEST_LOG, if set, once per call
//   selftest/cpu/hang/none    one call sleeps 30 s: must end as a recorded timeout
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "harness.h"

namespace perfcal::bench {
namespace {

void register_selftest(Session& s) {
  const char* on = std::getenv("PERFCAL_SELFTEST");
  if (!on || std::string(on) != "1") return;
  const char* ms_env = std::getenv("PERFCAL_SELFTEST_SLEEP_MS");
  const int ms = ms_env ? std::atoi(ms_env) : 50;
  for (int i = 0; i < 6; ++i) {
    Record rec;
    rec.name = "selftest/cpu/sleep/none";
    rec.dtype = "none";
    rec.problem = {{"index", i}, {"ms", ms}};
    std::string tags = tags_of(rec.problem);
    s.add(std::move(rec), [ms, i](benchmark::State& st, Record& r) {
      r.verified = true;
      r.outcome = "passed";
      // One line per call (one repetition): the order the tests check --interleave by.
      if (const char* log = std::getenv("PERFCAL_SELFTEST_LOG"))
        if (FILE* f = std::fopen(log, "a")) {
          std::fprintf(f, "%d\n", i);
          std::fclose(f);
        }
      for (auto _ : st) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }, tags);
  }
  Record hang;
  hang.name = "selftest/cpu/hang/none";
  hang.dtype = "none";
  hang.problem = {{"seconds", 30}};
  s.add(std::move(hang), [](benchmark::State& st, Record& r) {
    std::this_thread::sleep_for(std::chrono::seconds(30));
    r.verified = true;
    r.outcome = "passed";
    for (auto _ : st) {
    }
  }, "seconds:30");
}

const FamilyRegistrar kFamily{"selftest", &register_selftest};

}  // namespace
}  // namespace perfcal::bench
