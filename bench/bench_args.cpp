#include "bench_args.h"

#include <CLI/CLI.hpp>

#include <regex>
#include <sstream>

namespace perfcal::bench {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string parse_bench_args(int argc, const char* const* argv, const std::string& program, int cores,
                             BenchArgs* a, bool* help) {
  std::string& out = a->out;
  std::string& resume = a->resume;
  std::string& filter = a->filter;
  std::string devices_s, threads_s;
  Options& opts = a->opts;
  double& time_limit = a->time_limit;
  std::vector<std::string>& gb_args = a->gb_args;
  CLI::App app{program + ": measure every registered variant and write a device profile"};
  app.add_option("--out", out, "profile to write (default results/profiles/<host>-<date>.json)");
  app.add_flag("--quick", opts.quick, "small problem sets (under 2 minutes on 2 cores)");
  app.add_option("--devices", devices_s, "comma list of devices to measure (cpu:0,cuda:0)");
  app.add_option("--filter", filter, "regex on benchmark names (Google Benchmark filter)");
  app.add_option("--threads", threads_s, "comma list of thread counts (default 1 and all cores)");
  app.add_option("--resume", resume, "profile of an interrupted run: skip what it already measured");
  app.add_option("--time-limit", time_limit,
                 "seconds one benchmark call may take before it is recorded as a timeout and the "
                 "run restarts after it (default 600, --quick 120)")
      ->check(CLI::Range(1.0, 86400.0));
  app.add_option("--noise-retries", a->noise_retries,
                 "times a result whose coefficient of variation exceeds 5% is measured again")
      ->check(CLI::Range(0, 10));
  app.add_option("--repetitions", opts.repetitions, "repetitions per benchmark")->check(CLI::Range(1, 1000));
  app.add_flag("--interleave", a->interleave,
               "run the repetitions of all selected benchmarks in a random order, so that load "
               "drifting during the run hits perfcal and its baselines alike (not under MPI)");
  app.add_option("--min-time", opts.min_time, "seconds per repetition")->check(CLI::Range(0.0, 60.0));
  app.allow_extras();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    *help = true;
    return app.help();
  } catch (const CLI::ParseError& e) {
    return e.what();
  }
  // Only Google Benchmark's own flags may pass through; anything else is a typo.
  for (const auto& x : app.remaining()) {
    if (x.rfind("--benchmark_", 0) != 0) return std::string("unknown argument: " + x);
    gb_args.push_back(x);
  }
  // Google Benchmark's random interleaving; bench_main refuses it under MPI.
  if (a->interleave) gb_args.push_back("--benchmark_enable_random_interleaving=true");
  if (opts.quick) {
    if (app.count("--repetitions") == 0) opts.repetitions = 3;
    if (app.count("--min-time") == 0) opts.min_time = 0.02;
  }
  if (time_limit == 0) time_limit = opts.quick ? 120 : 600;

    if (threads_s.empty()) {
    opts.threads = {1};
    if (cores > 1) opts.threads.push_back(cores);
  } else {
    for (const auto& t : split(threads_s, ',')) {
      int v = 0;
      try {
        std::size_t pos = 0;
        v = std::stoi(t, &pos);
        if (pos != t.size()) v = 0;
      } catch (...) {
        v = 0;
      }
      if (v < 1 || v > 4096) return std::string("--threads: \"" + t + "\" is not a thread count in 1..4096");
      opts.threads.push_back(v);
    }
    if (opts.threads.empty()) return std::string("--threads: empty list");
  }

  if (!filter.empty()) {
    try {
      std::regex re(filter[0] == '-' ? filter.substr(1) : filter);
    } catch (const std::regex_error&) {
      return std::string("--filter: invalid regular expression \"" + filter + "\"");
    }
  }
  a->devices = split(devices_s, ',');
  return "";
}

}  // namespace perfcal::bench
