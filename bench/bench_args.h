// Command-line parsing for bench_all and bench_<family>, kept free of side effects (no
// discovery, no I/O) so it can be tested and fuzzed on its own.
#pragma once
#include <string>
#include <vector>

#include "harness.h"

namespace perfcal::bench {

struct BenchArgs {
  Options opts;
  std::string out, resume, filter;
  std::vector<std::string> devices;  // as given; checked against discovery by the caller
  std::vector<std::string> gb_args;  // --benchmark_* flags passed to Google Benchmark
  double time_limit = 0;             // seconds per benchmark call
  int noise_retries = 2;             // re-measure passes for results flagged noisy
  bool interleave = false;           // repetitions of all benchmarks in a random order
};

// Returns "" on success, else one error line. With --help, sets *help and returns the text.
// `cores` gives the default thread counts {1, cores}.
std::string parse_bench_args(int argc, const char* const* argv, const std::string& program, int cores,
                             BenchArgs* args, bool* help);

std::vector<std::string> split(const std::string& s, char sep);

}  // namespace perfcal::bench
