// The benchmark harness shared by every family: a Session registers Google Benchmark
// benchmarks at run time from the registry (CONVENTIONS 7) and keeps, per benchmark, the
// Record that becomes one `measurements` entry of the device profile.
//
// A family file (bench/gemm_bench.cpp, ...) exposes `void register_<family>(Session&)`.
// For each (variant, problem, threads) it calls Session::add with a Record and a body:
//
//   session.add(rec, [=](benchmark::State& st, Record& r) {
//     ... build inputs (seeded random), make the plan (Status -> r.fail(...)),
//     ... run once and verify against the float64 reference -> r.verified, r.max_rel_error
//     if (!r.verified) { r.outcome = "incorrect"; st.SkipWithError(...); return; }
//     for (auto _ : st) plan->run(ops);
//   });
//
// The benchmark name is `<variant>/<problem tags>/threads:<T>`, so --benchmark_filter
// selects by registry name. Time statistics, GFLOP/s and GB/s are derived by the reporter
// from the repetitions and `flops`/`bytes` per iteration; bodies never compute rates.
#pragma once
#include <benchmark/benchmark.h>

#include <functional>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "profile/profile.h"

namespace perfcal::bench {

using Json = nlohmann::json;

struct Options {
  bool quick = false;            // small problem sets (bench_all --quick: under 2 minutes)
  std::vector<int> threads;      // thread counts to measure; default {1, all cores}
  int repetitions = 5;           // Google Benchmark repetitions per benchmark
  double min_time = 0.1;         // seconds per repetition
  std::vector<std::string> devices;  // "cpu:0", "cuda:0"; empty = all found
  bool want_device(const std::string& d) const;
};

// Outcome vocabulary (CONVENTIONS 9): passed, incorrect, failed, unsupported,
// invalid_config, timeout, not_run.
struct Record {
  std::string name;              // registry name, e.g. gemm/cpu/avx512/f32
  std::string device = "cpu:0";
  std::string dtype = "f32";
  int threads = 1;
  Json problem = Json::object(); // named sizes, e.g. {"m":..,"n":..,"k":..}
  Json config = Json::object();  // the config actually run
  double flops = 0;              // per iteration (0: not a compute benchmark)
  double bytes = 0;              // per iteration (0: no bandwidth figure)
  bool manual_time = false;      // body calls SetIterationTime (GPU events)

  // Filled by the body.
  std::string outcome = "not_run";
  bool verified = false;
  std::optional<double> max_rel_error;
  std::string error;
  Json extra = Json::object();   // merged into the measurement (e.g. algbw_gbps, extra_bytes)
  bool begun = false;            // a repetition has run (the harness sets it)

  // Marks the record failed with `outcome` and skips the benchmark with a clear message.
  void fail(benchmark::State& st, const std::string& why_outcome, const std::string& message);
  void fail(benchmark::State& st, const Status& s);  // outcome from the status code
};

using Body = std::function<void(benchmark::State&, Record&)>;

class Session {
 public:
  explicit Session(Options opts) : opts_(std::move(opts)) {}
  const Options& options() const { return opts_; }

  // Registers one benchmark; returns it so a family may set Unit/Iterations.
  benchmark::internal::Benchmark* add(Record rec, Body body, const std::string& tags);

  // Record by Google Benchmark function name (what the reporter sees).
  Record* find(const std::string& bench_name);
  const std::vector<std::string>& names() const { return order_; }

 private:
  Options opts_;
  std::map<std::string, std::unique_ptr<Record>> records_;
  std::vector<std::string> order_;
};

// Problem tags in benchmark names: {"m":1,"n":2} -> "m:1/n:2" (insertion order).
std::string tags_of(const Json& problem);

// Relative error of `got` against the float64 reference, scaled per element by
// max(|ref|, floor) so near-zero outputs do not blow up the ratio. NaN/Inf in `got` with
// finite `ref` returns +inf (a kernel that produced them is incorrect).
double max_rel_error(const double* ref, const float* got, std::size_t n, double floor);

// Median/min/max/cv of per-repetition times (seconds per iteration): the one statistics
// routine behind every reported time (the reporter's measurements and the tuner's
// evaluations). cv is the sample standard deviation over the mean.
profile::TimeStats time_stats(std::vector<double> times);

// Seeded uniform [-1, 1) inputs (never zeros); record the seed in the problem.
void fill_uniform(float* x, std::size_t n, uint64_t seed);
void fill_uniform_bf16(uint16_t* x, std::size_t n, uint64_t seed);

// Benchmark families register themselves from their own file with one line:
//   static const perfcal::bench::FamilyRegistrar kFamily{"gemm", &register_gemm};
// bench_all runs every family; bench_<family> runs one.
using RegisterFn = void (*)(Session&);
struct Family {
  std::string name;
  RegisterFn fn;
};
std::vector<Family>& families();
struct FamilyRegistrar {
  FamilyRegistrar(std::string name, RegisterFn fn);
};

// The whole benchmark program (flags, discovery, registration, run, profile, summary);
// `only_family` empty runs every family. Returns the process exit code.
// The benchmark body running now (its name) and when it started, for the watchdog that
// turns a hang into a recorded timeout. Null between bodies.
struct Running {
  std::atomic<const std::string*> name{nullptr};
  std::atomic<int64_t> start_ns{0};
};
Running& running();

// True once SIGINT/SIGTERM arrived during bench_main: bodies stop, the profile is partial.
bool interrupted();

int bench_main(int argc, char** argv, const std::string& program, const std::string& only_family);

}  // namespace perfcal::bench
