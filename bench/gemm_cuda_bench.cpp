// GPU GEMM benchmarks: every gemm::gpu registry variant (perfcal's gemm/cuda/simt/f32,
// gemm/cuda/mma/bf16; baselines gemm/cuda/cublas/f32, gemm/cuda/cublas_tf32/f32,
// gemm/cuda/cublas/bf16, gemm/cuda/cublaslt/bf16) x square M = N = K in {1024, 2048, 4096,
// 8192} (column-major, ta = tb = N, alpha = 1, beta = 0) on every CUDA device selected by
// --devices (none registered where there is no GPU). Called from register_gemm, so
// bench_gemm and bench_all both run it; `bench_all --devices cuda:0` runs only GPU work of
// this family.
//
// Inputs: seeded uniform [-1, 1) from a counter-based generator (OpenMP-parallel on the host,
// the same values for every variant of a dtype), uploaded once per (device, dtype, size) and
// shared by perfcal's kernels and the baselines: same buffers, same process.
// Verification before timing, on the exact problem: C poisoned with NaN (0xFF bytes), one
// run, C downloaded, 256 seeded entries plus the four corners against the float64
// reference_entry, per element |C - ref| <= coef * sum_l |a_il b_lj| with coef from the
// tolerance table in tests/gemm_cuda/gemm_cuda_test.cpp (4 (K+2) eps_f32 for fp32,
// 8 (K+2) eps_f32 for bf16 tensor cores, 2^-9 + 4 (K+2) eps_f32 for TF32).
// Timing: CUDA events around each run on the default stream (Google Benchmark manual
// time). Working sets (12 MiB at 1024 up to 768 MiB at 8192) are not flushed from L2:
// GEMM at these sizes is compute-bound, and every variant sees the same warm state.
// Run: build/bin/bench_gemm --devices cuda:0 --filter 'gemm/cuda/mma/bf16/k:4096/'
#include "harness.h"

#ifdef PERFCAL_HAVE_CUDA
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "core/gpu_info.h"
#include "gemm/cuda/gemm_gpu.h"
#endif

namespace perfcal::bench {

#ifdef PERFCAL_HAVE_CUDA
namespace {

using gemm::Problem;
using gemm::Trans;
namespace g = gemm::gpu;

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
// Uniform [-1, 1) with 24 random bits: exact in fp32, never all zeros.
float counter_uniform(uint64_t seed, uint64_t i) {
  const uint64_t h = splitmix64(seed * 0x2545F4914F6CDD1Dull + i);
  return float(double(h >> 40) * (1.0 / double(1 << 23)) - 1.0);
}

// One dtype's A, B (host copy for the reference, device copy for the kernels) and C, for
// one device and one square size. Kept until the next size of that dtype on that device.
struct Inputs {
  int64_t size = 0;
  uint64_t seed = 0;
  std::vector<float> a32, b32;
  std::vector<uint16_t> a16, b16;
  g::DeviceBuffer a, b, c;
  const void* ha() const { return a16.empty() ? static_cast<const void*>(a32.data()) : a16.data(); }
  const void* hb() const { return b16.empty() ? static_cast<const void*>(b32.data()) : b16.data(); }
};

Status make_inputs(Dtype dt, int64_t s, uint64_t seed, Inputs* in) {
  const std::size_t n = std::size_t(s) * std::size_t(s);
  in->size = 0;
  in->a32.clear(), in->b32.clear(), in->a16.clear(), in->b16.clear();
  in->a32.shrink_to_fit(), in->b32.shrink_to_fit(), in->a16.shrink_to_fit(), in->b16.shrink_to_fit();
  const std::size_t esz = dt == Dtype::bf16 ? 2 : 4;
  if (dt == Dtype::bf16) {
    in->a16.resize(n), in->b16.resize(n);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < int64_t(n); ++i) {
      in->a16[i] = float_to_bf16(counter_uniform(seed, uint64_t(i)));
      in->b16[i] = float_to_bf16(counter_uniform(seed + 1, uint64_t(i)));
    }
  } else {
    in->a32.resize(n), in->b32.resize(n);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < int64_t(n); ++i) {
      in->a32[i] = counter_uniform(seed, uint64_t(i));
      in->b32[i] = counter_uniform(seed + 1, uint64_t(i));
    }
  }
  PERFCAL_RETURN_IF_ERROR(in->a.allocate(n * esz));
  PERFCAL_RETURN_IF_ERROR(in->b.allocate(n * esz));
  PERFCAL_RETURN_IF_ERROR(in->c.allocate(n * 4));
  PERFCAL_RETURN_IF_ERROR(in->a.upload(in->ha(), n * esz));
  PERFCAL_RETURN_IF_ERROR(in->b.upload(in->hb(), n * esz));
  in->size = s;
  in->seed = seed;
  return Status::Ok();
}

// Shared inputs per (device, dtype); benchmarks of one size run back to back.
Inputs& inputs_for(int dev, Dtype dt) {
  static std::map<std::pair<int, int>, Inputs> cache;
  return cache[{dev, int(dt)}];
}

double bound_coefficient(const std::string& name, int64_t k) {
  const double eps = 1.0 / double(1 << 23);
  if (name.find("tf32") != std::string::npos) return std::ldexp(1.0, -9) + 4.0 * double(k + 2) * eps;
  if (name.find("bf16") != std::string::npos) return 8.0 * double(k + 2) * eps;
  return 4.0 * double(k + 2) * eps;
}

struct Check {
  bool ok = true;
  double max_rel = 0;  // max |C - ref| / sum |a b|
  double coef = 0;
};

Check verify(const std::string& name, const Problem& p, const Inputs& in, const float* c,
             uint64_t seed) {
  Check ck;
  ck.coef = bound_coefficient(name, p.k);
  std::mt19937_64 rng(seed);
  std::vector<std::pair<int64_t, int64_t>> at = {
      {0, 0}, {p.m - 1, p.n - 1}, {p.m - 1, 0}, {0, p.n - 1}};
  for (int t = 0; t < 256; ++t) at.push_back({int64_t(rng() % p.m), int64_t(rng() % p.n)});
  for (auto [i, j] : at) {
    const double ref = gemm::reference_entry(p, in.ha(), in.hb(), nullptr, i, j);
    double s = 0;
    for (int64_t l = 0; l < p.k; ++l)
      s += std::abs(gemm::load(p.dtype, in.ha(), p.lda, i, l) * gemm::load(p.dtype, in.hb(), p.ldb, l, j));
    const double got = c[i + j * p.ldc];
    const double rel = std::isfinite(got) ? std::abs(got - ref) / std::max(s, 1e-30) : INFINITY;
    ck.max_rel = std::max(ck.max_rel, rel);
    if (!(rel <= ck.coef)) ck.ok = false;
  }
  return ck;
}

}  // namespace

void register_gemm_cuda(Session& session) {
  std::string why;
  uint64_t seed = 20250601;
  for (const auto& gpu : gpu_devices(&why)) {
    const std::string dev = "cuda:" + std::to_string(gpu.index);
    if (!session.options().want_device(dev)) continue;
    for (int64_t s : {1024, 2048, 4096, 8192}) {
      const uint64_t sd = seed++;  // one seed per size: every variant sees the same inputs
      for (const auto& vptr : g::Registry::instance().all()) {
        const g::Variant* v = vptr.get();
        const Problem p = Problem::dense(v->info().dtype, s, s, s);
        Record rec;
        rec.name = v->name();
        rec.device = dev;
        rec.dtype = to_string(p.dtype);
        rec.threads = 1;
        rec.manual_time = true;
        rec.problem = {{"m", p.m}, {"n", p.n}, {"k", p.k}, {"ta", "N"}, {"tb", "N"}, {"seed", sd}};
        const Json cfg = v->default_config(p);
        rec.config = cfg;
        rec.flops = gemm::flops(p);
        rec.bytes = gemm::min_bytes(p);
        rec.extra["set"] = "square";
        rec.extra["gpu"] = gpu.name;
        const int devi = gpu.index;
        session
            .add(
                rec,
                [v, p, cfg, sd, devi](benchmark::State& st, Record& r) {
                  Status s = g::set_device(devi);
                  if (s.ok()) s = v->available();
                  if (s.ok()) s = v->can_implement(cfg, p);
                  if (!s.ok()) return r.fail(st, s);
                  Inputs& in = inputs_for(devi, p.dtype);
                  if (in.size != p.m || in.seed != sd) {
                    s = make_inputs(p.dtype, p.m, sd, &in);
                    if (!s.ok()) {
                      in.size = 0;
                      return r.fail(st, s);
                    }
                  }
                  std::unique_ptr<g::Variant::Plan> plan;
                  s = v->make_plan(p, cfg, &plan);
                  if (!s.ok()) return r.fail(st, s);
                  if (plan->workspace_bytes() > 0) r.extra["extra_bytes"] = plan->workspace_bytes();
                  g::Operands ops;
                  ops.a = in.a.get(), ops.b = in.b.get(), ops.c = static_cast<float*>(in.c.get());
                  s = in.c.fill(0xFF);  // NaN poison: an unwritten element fails the check
                  if (s.ok()) s = plan->run(ops);
                  if (s.ok()) s = g::synchronize();
                  if (!s.ok()) return r.fail(st, s);
                  std::vector<float> c(std::size_t(p.m) * std::size_t(p.n));
                  s = in.c.download(c.data(), c.size() * 4);
                  if (!s.ok()) return r.fail(st, s);
                  const Check ck = verify(v->name(), p, in, c.data(), sd);
                  r.max_rel_error = ck.max_rel;
                  r.verified = ck.ok;
                  if (!ck.ok)
                    return r.fail(st, "incorrect",
                                  "max |C - ref| / sum|ab| = " + std::to_string(ck.max_rel) +
                                      " above " + std::to_string(ck.coef));
                  r.outcome = "passed";
                  g::EventTimer timer;
                  for (auto _ : st) {
                    double secs = 0;
                    Status rs = timer.start(nullptr);
                    if (rs.ok()) rs = plan->run(ops);
                    if (rs.ok()) rs = timer.stop(&secs);
                    if (!rs.ok()) return r.fail(st, rs);
                    st.SetIterationTime(secs);
                  }
                },
                tags_of(rec.problem))
            ->Unit(benchmark::kMillisecond);
      }
    }
  }
}

#else

void register_gemm_cuda(Session&) {}  // built without CUDA: no GPU GEMM benchmarks

#endif  // PERFCAL_HAVE_CUDA

}  // namespace perfcal::bench
