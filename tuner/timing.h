// Times a prepared run with the benchmarks' own machinery: one Google Benchmark registered
// through bench::Session (real time, repetitions, min time per repetition; the first
// repetition's iteration search is the warm-up), per-repetition seconds taken exactly as the
// profile reporter takes them, statistics from bench::time_stats.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"

namespace perfcal::tuner {

struct TimingOptions {
  int repetitions = 9;     // >= 9 for the significance test (CONVENTIONS 12)
  double min_time = 0.02;  // seconds per repetition
};

// Runs `run_once` under Google Benchmark; returns seconds per run for each repetition, or
// an error (the first failing run's status) in *error with an empty vector.
std::vector<double> time_repetitions(const std::string& name, const std::function<Status()>& run_once,
                                      const TimingOptions& opts, std::string* error);

}  // namespace perfcal::tuner
