// Probes: registered benchmarks like every kernel (family "probe").
//   probe/cpu/fma/{f32,f64,bf16}   peak FLOP/s per dtype and ISA (independent FMA chains;
//                                  bf16 via vdpbf16ps), 1 thread and all cores
//   probe/cpu/mem/{copy,triad}     DRAM bandwidth over arrays >= 4x the last-level cache
//   probe/cpu/cache/read           bandwidth of each cache level (working set per level)
// A probe is a ceiling: it must read at least as high as the fastest real kernel.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/aligned_buffer.h"
#include "core/cpu_info.h"
#include "core/gpu_info.h"
#include "core/gpu_probes.h"
#include "harness.h"
#include "probes.h"

namespace perfcal::bench {
namespace {

// Rounds per call: ~16M FMAs per thread, a few ms, long enough to hide the parallel-region
// start-up and short enough for Google Benchmark to pick an iteration count.
constexpr int64_t kFmaRounds = 1 << 20;

struct FmaProbe {
  const char* dtype;
  Isa isa;
  bool needs_bf16;
  double (*run)(int64_t);
};

double run_f32_512(int64_t n) { float s = 0; double f = probe::fma_f32_avx512(n, &s); return std::isfinite(s) ? f : -1; }
double run_f64_512(int64_t n) { double s = 0; double f = probe::fma_f64_avx512(n, &s); return std::isfinite(s) ? f : -1; }
double run_bf16_512(int64_t n) { float s = 0; double f = probe::dpbf16_avx512(n, &s); return std::isfinite(s) ? f : -1; }
double run_f32_256(int64_t n) { float s = 0; double f = probe::fma_f32_avx2(n, &s); return std::isfinite(s) ? f : -1; }
double run_f64_256(int64_t n) { double s = 0; double f = probe::fma_f64_avx2(n, &s); return std::isfinite(s) ? f : -1; }

const FmaProbe kFmaProbes[] = {
    {"f32", Isa::avx512, false, run_f32_512}, {"f64", Isa::avx512, false, run_f64_512},
    {"bf16", Isa::avx512, true, run_bf16_512}, {"f32", Isa::avx2, false, run_f32_256},
    {"f64", Isa::avx2, false, run_f64_256},
};

// Runs fn on `threads` threads; returns the total work, or -1 if any thread saw a
// non-finite result (the probe's only possible wrong answer).
template <class Fn>
double on_threads(int threads, Fn fn) {
  double total = 0;
  bool bad = false;
#pragma omp parallel num_threads(threads) reduction(+ : total) reduction(|| : bad)
  {
    double w = fn(omp_get_thread_num());
    if (w < 0) bad = true;
    else total += w;
  }
  return bad ? -1 : total;
}

bool probe_available(const FmaProbe& p) {
  return isa_available(p.isa) && (!p.needs_bf16 || cpu_info().features.avx512_bf16);
}

void register_fma(Session& s, int threads) {
  for (const FmaProbe& p : kFmaProbes) {
    Record rec;
    rec.name = std::string("probe/cpu/fma/") + p.dtype;
    rec.dtype = p.dtype;
    rec.threads = threads;
    std::string isa = p.isa == Isa::avx512 ? (p.needs_bf16 ? "avx512_bf16" : "avx512") : "avx2";
    rec.problem = {{"isa", isa}, {"rounds", kFmaRounds}};
    std::string tags = tags_of(rec.problem);
    s.add(std::move(rec), [p, isa](benchmark::State& st, Record& r) {
      if (!probe_available(p)) return r.fail(st, "unsupported", "CPU lacks " + isa);
      r.flops = on_threads(r.threads, [&](int) { return p.run(kFmaRounds); });
      if (r.flops <= 0) return r.fail(st, "incorrect", "non-finite accumulator");
      r.verified = true;
      r.outcome = "passed";
      for (auto _ : st)
        benchmark::DoNotOptimize(on_threads(r.threads, [&](int) { return p.run(kFmaRounds); }));
    }, tags);
  }
}

// DRAM arrays are shared by every memory probe and allocated once: at 4x a 260 MiB L3
// they are ~1 GiB each, and first-touch initialisation costs a second.
struct StreamArrays {
  AlignedBuffer<double> a, b, c;
  std::size_t n = 0;
};

StreamArrays* stream_arrays() {
  static std::unique_ptr<StreamArrays> arrays;
  if (!arrays) {
    auto s = std::make_unique<StreamArrays>();
    std::size_t llc = 0;
    for (const auto& c : cpu_info().caches) llc = std::max(llc, c.size_bytes * c.instances);
    // At least 4x the last-level cache (issue 2) and never below 64 MiB.
    std::size_t bytes = std::max<std::size_t>(4 * llc, std::size_t{64} << 20);
    s->n = bytes / sizeof(double);
    if (!s->a.reset(s->n) || !s->b.reset(s->n) || !s->c.reset(s->n)) return nullptr;
    double* a = s->a.data(); double* b = s->b.data(); double* c = s->c.data();
    const long long n = static_cast<long long>(s->n);
#pragma omp parallel for schedule(static)
    for (long long i = 0; i < n; ++i) { a[i] = 1.0; b[i] = 2.0 + (i & 7); c[i] = 0.5 * (i & 3); }
    arrays = std::move(s);
  }
  return arrays.get();
}

enum class StreamKind { copy, triad };

// One pass of the kernel over all three arrays, static schedule so each thread touches the
// pages it first-touched.
void stream_pass(StreamArrays* s, StreamKind kind, int threads) {
  double* a = s->a.data(); const double* b = s->b.data(); const double* c = s->c.data();
  const long long n = static_cast<long long>(s->n);
  const double q = 3.0;
  if (kind == StreamKind::copy) {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (long long i = 0; i < n; ++i) a[i] = b[i];
  } else {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (long long i = 0; i < n; ++i) a[i] = b[i] + q * c[i];
  }
}

bool stream_check(const StreamArrays* s, StreamKind kind) {
  for (std::size_t i = 0; i < s->n; i += 4099) {
    double want = kind == StreamKind::copy ? s->b[i] : s->b[i] + 3.0 * s->c[i];
    if (s->a[i] != want) return false;
  }
  return true;
}

void register_stream(Session& s, int threads) {
  for (StreamKind kind : {StreamKind::copy, StreamKind::triad}) {
    Record rec;
    const char* kname = kind == StreamKind::copy ? "copy" : "triad";
    rec.name = std::string("probe/cpu/mem/") + kname;
    rec.dtype = "f64";
    rec.threads = threads;
    rec.problem = {{"kernel", kname}};
    std::string tags = tags_of(rec.problem);
    s.add(std::move(rec), [kind](benchmark::State& st, Record& r) {
      StreamArrays* a = stream_arrays();
      if (!a) return r.fail(st, "failed", "cannot allocate the stream arrays");
      r.problem["array_bytes"] = a->n * sizeof(double);
      // Bytes the kernel must move: copy reads b and writes a; triad reads b, c, writes a.
      // Write-allocate traffic is not counted (STREAM's convention).
      r.bytes = double(a->n) * sizeof(double) * (kind == StreamKind::copy ? 2 : 3);
      stream_pass(a, kind, r.threads);
      if (!stream_check(a, kind)) return r.fail(st, "incorrect", "stream result mismatch");
      r.verified = true;
      r.outcome = "passed";
      for (auto _ : st) stream_pass(a, kind, r.threads);
    }, tags);
  }
}

// Working set per cache level: half of one instance (leaves room for the code, stack and
// the other level's lines); the L3 instance is split between the threads sharing it.
void register_cache(Session& s, int threads) {
  for (const auto& c : cpu_info().caches) {
    std::size_t per_thread = c.size_bytes / 2;
    if (c.cores_sharing > 1) per_thread = c.size_bytes / 2 / std::max(1, std::min(threads, c.cores_sharing));
    per_thread = std::min<std::size_t>(per_thread, std::size_t{64} << 20) / 512 * 512;
    if (per_thread == 0) continue;
    Record rec;
    rec.name = "probe/cpu/cache/read";
    rec.dtype = "f32";
    rec.threads = threads;
    rec.problem = {{"level", "L" + std::to_string(c.level)}, {"working_set_bytes", per_thread}};
    std::string tags = tags_of(rec.problem);
    s.add(std::move(rec), [per_thread](benchmark::State& st, Record& r) {
      if (!isa_available(Isa::avx512)) return r.fail(st, "unsupported", "cache sweep needs AVX-512");
      const std::size_t floats = per_thread / sizeof(float);
      std::vector<AlignedBuffer<float>> bufs(static_cast<std::size_t>(r.threads));
      // Passes so one iteration reads ~64 MiB per thread: long enough to time, short
      // enough to repeat.
      const int passes = static_cast<int>(std::max<std::size_t>(1, (std::size_t{64} << 20) / per_thread));
      double total = on_threads(r.threads, [&](int t) {
        auto& b = bufs[static_cast<std::size_t>(t)];
        if (!b.reset(floats)) return -1.0;
        for (std::size_t i = 0; i < floats; ++i) b[i] = 1.0f;
        float sink = 0;
        probe::read_sweep_avx512(b.data(), floats, 1, &sink);
        // Every element is 1.0: the sum must equal the element count (exact below 2^24
        // per lane accumulator).
        return sink == float(floats / 128 * 128) ? 1.0 : -1.0;
      });
      if (total < 0) return r.fail(st, "incorrect", "read sweep sum mismatch");
      r.bytes = double(floats / 128 * 128) * 4.0 * passes * r.threads;
      r.verified = true;
      r.outcome = "passed";
      for (auto _ : st)
        benchmark::DoNotOptimize(on_threads(r.threads, [&](int t) {
          float sink = 0;
          return probe::read_sweep_avx512(bufs[static_cast<std::size_t>(t)].data(), floats, passes, &sink);
        }));
    }, tags);
  }
}

// GPU probes, one set per CUDA device found (none registered where there is no GPU).
// Timed on the device with CUDA events (manual time).
void register_gpu(Session& s) {
  struct Spec { GpuProbe probe; const char* name; const char* dtype; bool flops, bytes; };
  const Spec specs[] = {{GpuProbe::fma_f32, "probe/cuda/fma/f32", "f32", true, false},
                        {GpuProbe::mma_bf16, "probe/cuda/mma/bf16", "bf16", true, false},
                        {GpuProbe::copy, "probe/cuda/mem/copy", "none", false, true},
                        {GpuProbe::launch, "probe/cuda/launch/none", "none", false, false}};
  std::string why;
  for (const auto& g : gpu_devices(&why)) {
    const std::string dev = "cuda:" + std::to_string(g.index);
    if (!s.options().want_device(dev)) continue;
    for (const Spec& sp : specs) {
      Record rec;
      rec.name = sp.name;
      rec.device = dev;
      rec.dtype = sp.dtype;
      rec.manual_time = true;
      rec.problem = {{"sm_count", g.sm_count}};
      const std::string tags = tags_of(rec.problem);
      s.add(std::move(rec), [sp, g](benchmark::State& st, Record& r) {
        double secs = 0, work = 0;
        Status status = run_gpu_probe(sp.probe, g.index, &secs, &work);  // warm-up + check
        if (!status.ok()) return r.fail(st, status);
        r.flops = sp.flops ? work : 0;
        r.bytes = sp.bytes ? work : 0;
        if (sp.probe == GpuProbe::launch) r.extra["launches_per_iteration"] = work;
        r.verified = true;  // a probe has no reference: "verified" means it ran cleanly
        r.outcome = "passed";
        for (auto _ : st) {
          status = run_gpu_probe(sp.probe, g.index, &secs, &work);
          if (!status.ok()) return r.fail(st, status);
          st.SetIterationTime(secs);
        }
      }, tags);
    }
  }
}

void register_probes(Session& s) {
  register_gpu(s);
  if (!s.options().want_device("cpu:0")) return;
  for (int t : s.options().threads) {
    register_fma(s, t);
    register_cache(s, t);
    register_stream(s, t);
  }
}

const FamilyRegistrar kFamily{"probe", &register_probes};

}  // namespace
}  // namespace perfcal::bench
