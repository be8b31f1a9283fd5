#include "tuner/timing.h"

#include <benchmark/benchmark.h>

#include "harness.h"

namespace perfcal::tuner {
namespace {

// Keeps each repetition's time per iteration (as ProfileReporter::finish does) and prints
// nothing: the tuner has its own progress line.
class Collector : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.run_type == Run::RT_Aggregate) continue;
      if (r.error_occurred) {
        if (error.empty()) error = r.error_message;
        continue;
      }
      if (r.iterations > 0) times.push_back(r.real_accumulated_time / double(r.iterations));
    }
  }
  std::vector<double> times;
  std::string error;
};

}  // namespace

std::vector<double> time_repetitions(const std::string& name, const std::function<Status()>& run_once,
                                     const TimingOptions& opts, std::string* error) {
  bench::Options bo;
  bo.repetitions = opts.repetitions;
  bo.min_time = opts.min_time;
  bench::Session session(bo);
  bench::Record rec;
  rec.name = name;
  session.add(
      rec,
      [&run_once](benchmark::State& st, bench::Record& r) {
        for (auto _ : st) {
          Status s = run_once();
          if (!s.ok()) {
            r.fail(st, s);
            break;
          }
        }
      },
      "tune");
  Collector c;
  benchmark::RunSpecifiedBenchmarks(&c);
  benchmark::ClearRegisteredBenchmarks();
  if (!c.error.empty()) {
    if (error) *error = c.error;
    return {};
  }
  return c.times;
}

}  // namespace perfcal::tuner
