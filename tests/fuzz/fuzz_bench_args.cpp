// Fuzzes bench_all's command line: the input is split on NUL bytes into argv. The parser
// must return a result or one error line for anything, never crash or throw.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "bench_args.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::vector<std::string> words = {"bench_all"};
  std::string cur;
  for (std::size_t i = 0; i < size && words.size() < 64; ++i) {
    if (data[i] == 0) {
      words.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(static_cast<char>(data[i]));
    }
  }
  if (!cur.empty()) words.push_back(cur);
  std::vector<const char*> argv;
  for (const auto& w : words) argv.push_back(w.c_str());
  perfcal::bench::BenchArgs args;
  bool help = false;
  std::string err = perfcal::bench::parse_bench_args(static_cast<int>(argv.size()), argv.data(),
                                                     "bench_all", 2, &args, &help);
  if (err.empty() && !help) {
    // Accepted input must be sane.
    if (args.opts.threads.empty() || args.opts.repetitions < 1 || args.time_limit <= 0)
      __builtin_trap();
    for (int t : args.opts.threads)
      if (t < 1 || t > 4096) __builtin_trap();
  }
  return 0;
}
