#include "harness.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "core/dtype.h"

namespace perfcal::bench {

bool Options::want_device(const std::string& d) const {
  if (devices.empty()) return true;
  for (const auto& x : devices)
    if (x == d) return true;
  return false;
}

void Record::fail(benchmark::State& st, const std::string& why_outcome, const std::string& message) {
  outcome = why_outcome;
  verified = false;
  error = message;
  st.SkipWithError((why_outcome + ": " + message).c_str());
}

void Record::fail(benchmark::State& st, const Status& s) {
  const char* o = "failed";
  if (s.code() == StatusCode::kUnsupported) o = "unsupported";
  if (s.code() == StatusCode::kInvalidArgument) o = "invalid_config";
  fail(st, o, s.message());
}

benchmark::internal::Benchmark* Session::add(Record rec, Body body, const std::string& tags) {
  std::string name = rec.name + "/" + (tags.empty() ? "" : tags + "/") +
                     "threads:" + std::to_string(rec.threads);
  auto owned = std::make_unique<Record>(std::move(rec));
  Record* r = owned.get();
  records_[name] = std::move(owned);
  order_.push_back(name);
  const std::string* key = &records_.find(name)->first;  // map keys never move
  auto* b = benchmark::RegisterBenchmark(name.c_str(), [r, body, key](benchmark::State& st) {
    // Already measured by a resumed run, or a signal asked us to stop: return at once; the
    // reporter drops "interrupted" records. A signal stops a benchmark only before its first
    // repetition: once that ran, the rest run too ("finish the current measurement"), since
    // Google Benchmark 1.7 aborts (statistics.cc CHECK) when one benchmark's repetitions end
    // with different iteration counts, as a skipped repetition does. With --interleave the
    // repetitions of begun benchmarks are spread over the run, and they all finish.
    if (r->outcome == "interrupted" || (interrupted() && !r->begun)) {
      r->outcome = "interrupted";
      st.SkipWithError("interrupted");
      return;
    }
    running().start_ns.store(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count());
    running().name.store(key);
    r->begun = true;
    body(st, *r);
    running().name.store(nullptr);
  });
  b->Repetitions(opts_.repetitions)->MinTime(opts_.min_time)->Unit(benchmark::kMicrosecond);
  if (r->manual_time) b->UseManualTime();
  else b->UseRealTime();
  return b;
}

Record* Session::find(const std::string& bench_name) {
  auto it = records_.find(bench_name);
  return it == records_.end() ? nullptr : it->second.get();
}

std::string tags_of(const Json& problem) {
  std::string s;
  for (auto it = problem.begin(); it != problem.end(); ++it) {
    if (it.key() == "seed") continue;  // not a size: keep names stable across seeds
    std::string v = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
    s += (s.empty() ? "" : "/") + it.key() + ":" + v;
  }
  return s;
}

double max_rel_error(const double* ref, const float* got, std::size_t n, double floor) {
  double worst = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(got[i]) && std::isfinite(ref[i])) return INFINITY;
    double e = std::fabs(double(got[i]) - ref[i]) / std::max(std::fabs(ref[i]), floor);
    if (!(e <= worst)) worst = e;  // also catches NaN
  }
  return worst;
}

profile::TimeStats time_stats(std::vector<double> t) {
  profile::TimeStats s;
  if (t.empty()) return s;
  std::sort(t.begin(), t.end());
  s.repetitions = static_cast<int>(t.size());
  s.min = t.front();
  s.max = t.back();
  s.median = t.size() % 2 ? t[t.size() / 2] : 0.5 * (t[t.size() / 2 - 1] + t[t.size() / 2]);
  double mean = 0;
  for (double x : t) mean += x;
  mean /= double(t.size());
  double var = 0;
  for (double x : t) var += (x - mean) * (x - mean);
  s.cv = t.size() > 1 && mean > 0 ? std::sqrt(var / double(t.size() - 1)) / mean : 0.0;
  return s;
}

void fill_uniform(float* x, std::size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (std::size_t i = 0; i < n; ++i) x[i] = dist(rng);
}

void fill_uniform_bf16(uint16_t* x, std::size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (std::size_t i = 0; i < n; ++i) x[i] = float_to_bf16(dist(rng));
}

Running& running() {
  static Running r;
  return r;
}

std::vector<Family>& families() {
  static std::vector<Family> f;
  return f;
}

FamilyRegistrar::FamilyRegistrar(std::string name, RegisterFn fn) {
  families().push_back({std::move(name), fn});
}

}  // namespace perfcal::bench
