// ProfileReporter: a Google Benchmark reporter that turns the repetitions of each benchmark
// into one profile Measurement (median/min/max/cv, GFLOP/s, GB/s, % of the probe peak),
// prints a progress line, and rewrites the profile atomically after every benchmark so an
// interrupted run leaves a valid profile marked partial.
#pragma once
#include <benchmark/benchmark.h>

#include <string>

#include "harness.h"
#include "profile/profile.h"

namespace perfcal::bench {

class ProfileReporter : public benchmark::BenchmarkReporter {
 public:
  ProfileReporter(Session* session, profile::Profile* prof, std::string out_path, int total)
      : session_(session), prof_(prof), out_(std::move(out_path)), total_(total) {}

  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override;

  // Writes the profile; returns an error line or "".
  std::string flush();
  int done() const { return done_; }
  const std::string& write_error() const { return write_error_; }

  // Coefficient of variation above which a measurement is flagged noisy (issue 8).
  static constexpr double kNoisyCv = 0.05;

 private:
  void finish(const std::string& bench_name, const std::vector<const Run*>& reps);

  Session* session_;
  profile::Profile* prof_;
  std::string out_;
  int total_;
  int done_ = 0;
  std::string write_error_;
};

// Best probe figure for (device, dtype or kernel, threads): the ceiling for % of peak.
double peak_gflops(const profile::Profile& p, const std::string& device, const std::string& dtype,
                   int threads);

// Per-device summary table (peaks, best per family, % of peak, baseline ratios), as text,
// and the same facts as JSON for the profile's "summary".
std::string summary_text(const profile::Profile& p, profile::Json* summary_json);

}  // namespace perfcal::bench
