// GEMM benchmarks: every available gemm/* registry variant (perfcal's gemm/cpu/{avx512,avx2,
// portable}/..., baselines gemm/cpu/openblas/f32, gemm/cpu/onednn/{f32,bf16}) x problem set x
// session thread counts, on the same seeded inputs, problem by problem (all variants of one
// problem and thread count run one after the other).
//
// Problems (column-major, BLAS semantics, alpha = 1, beta = 0):
//   square   M = N = K in {128, 256, 512, 1024, 2048, 4096}
//   llm      tokens T in {512, 2048, 8192}, hidden H = 4096, F in {4096, 11008, 14336}:
//            fwd   Y = X W^T      m=T n=F k=H  ta=N tb=T
//            bwd_d dX = dY W      m=T n=H k=F  ta=N tb=N
//            bwd_w dW = dY^T X    m=F n=H k=T  ta=T tb=N
//            fwd_t Y = X W^T as PyTorch calls a row-major BLAS (X tokens x H, W F x H, both
//                  row-major), which a column-major one sees as Y^T = W X^T:
//                                 m=F n=T k=H  ta=T tb=N
//   skinny   M in {1, 2, 4, 8, 16, 32, 64}, N = K = 4096 (decode-time GEMM)
//   skinny_t the same M tokens through a linear layer as PyTorch calls a row-major BLAS,
//            y = x W^T, which reaches a column-major one as m = 4096, n = M, k = 4096,
//            ta = T (W's rows contiguous in k), tb = N
//   --quick: square 256 and 512 only (well under a minute in all).
// Fallback variants (portable, and AVX2 where AVX-512 exists) run only up to 512^3: they
// exist for other machines, and timing them at 4096^3 would take minutes to say nothing
// about this one.
//
// Verification before timing, on the exact problem: the full float64 reference when
// m*n*k <= 2^27, else 256 seeded random entries plus the corners via reference_entry.
// Per element |C - ref| <= 4 (K + 2) eps_f32 sum_l |a_il b_lj| (the tests' tolerance table,
// tests/gemm/gemm_testing.h); max_rel_error reports max |C - ref| / sum_l |a_il b_lj|.
// GPU variants: bench/gemm_cuda_bench.cpp (registered first; CPU ones only when cpu:0 is
// among --devices).
// Run: build/bin/bench_gemm --benchmark_filter='gemm/cpu/avx512/f32/k:1024/m:1024/n:1024/'
// (problem tags come in key order: k, m, n, ta, tb)
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/aligned_buffer.h"
#include "core/cpu_info.h"
#include "gemm/baselines/openblas.h"
#include "gemm/gemm.h"
#include "harness.h"

namespace perfcal::bench {
namespace {

using gemm::Problem;
using gemm::Trans;

struct Shape {
  int64_t m, n, k;
  Trans ta, tb;
  const char* set;  // "square", "llm_fwd", "llm_bwd_d", "llm_bwd_w", "llm_fwd_t", "skinny",
                    // "skinny_t"
};

std::vector<Shape> problem_set(bool quick) {
  if (quick)
    return {{256, 256, 256, Trans::N, Trans::N, "square"},
            {512, 512, 512, Trans::N, Trans::N, "square"}};
  std::vector<Shape> v;
  for (int64_t s : {128, 256, 512, 1024, 2048, 4096})
    v.push_back({s, s, s, Trans::N, Trans::N, "square"});
  const int64_t h = 4096;
  for (int64_t t : {512, 2048, 8192})
    for (int64_t f : {4096, 11008, 14336}) {
      v.push_back({t, f, h, Trans::N, Trans::T, "llm_fwd"});
      v.push_back({t, h, f, Trans::N, Trans::N, "llm_bwd_d"});
      v.push_back({f, h, t, Trans::T, Trans::N, "llm_bwd_w"});
      v.push_back({f, t, h, Trans::T, Trans::N, "llm_fwd_t"});
    }
  for (int64_t m : {1, 2, 4, 8, 16, 32, 64})
    v.push_back({m, 4096, 4096, Trans::N, Trans::N, "skinny"});
  for (int64_t m : {1, 2, 4, 8, 16, 32, 64})
    v.push_back({4096, m, 4096, Trans::T, Trans::N, "skinny_t"});
  return v;
}

bool is_fallback(const std::string& name) {
  if (name.find("/portable/") != std::string::npos) return true;
  return name.find("/avx2/") != std::string::npos && isa_available(Isa::avx512);
}

struct Inputs {
  AlignedBuffer<float> a32, b32, c;
  AlignedBuffer<uint16_t> a16, b16;
  gemm::Operands ops;
};

bool make_inputs(const Problem& p, uint64_t seed, Inputs* in) {
  const int64_t na = gemm::a_elements(p), nb = gemm::b_elements(p), nc = gemm::c_elements(p);
  if (p.dtype == Dtype::bf16) {
    if (!in->a16.reset(na) || !in->b16.reset(nb)) return false;
    fill_uniform_bf16(in->a16.data(), na, seed);
    fill_uniform_bf16(in->b16.data(), nb, seed + 1);
    in->ops.a = in->a16.data(), in->ops.b = in->b16.data();
  } else {
    if (!in->a32.reset(na) || !in->b32.reset(nb)) return false;
    fill_uniform(in->a32.data(), na, seed);
    fill_uniform(in->b32.data(), nb, seed + 1);
    in->ops.a = in->a32.data(), in->ops.b = in->b32.data();
  }
  if (!in->c.reset(nc)) return false;
  fill_uniform(in->c.data(), nc, seed + 2);  // beta = 0: must be overwritten, never read
  in->ops.c = in->c.data();
  return true;
}

struct Check {
  bool ok = true;
  double max_rel = 0;  // max |C - ref| / sum |a b|
};

// sum_l |op(A)(i,l) op(B)(l,j)|: the scale of the rounding error of any summation order.
double abs_dot(const Problem& p, const void* a, const void* b, int64_t i, int64_t j) {
  double s = 0;
  for (int64_t l = 0; l < p.k; ++l) {
    const double av = p.ta == Trans::N ? gemm::load(p.dtype, a, p.lda, i, l)
                                       : gemm::load(p.dtype, a, p.lda, l, i);
    const double bv = p.tb == Trans::N ? gemm::load(p.dtype, b, p.ldb, l, j)
                                       : gemm::load(p.dtype, b, p.ldb, j, l);
    s += std::abs(av * bv);
  }
  return s;
}

Check verify(const Problem& p, const gemm::Operands& ops, uint64_t seed) {
  Check c;
  const double tol = 4.0 * double(p.k + 2) / double(1 << 23);
  auto add = [&](int64_t i, int64_t j, double ref) {
    const double got = ops.c[i + j * p.ldc];
    const double scale = std::max(abs_dot(p, ops.a, ops.b, i, j), 1e-30);
    const double rel = std::isfinite(got) ? std::abs(got - ref) / scale : INFINITY;
    c.max_rel = std::max(c.max_rel, rel);
    if (!(rel <= tol)) c.ok = false;
  };
  if (double(p.m) * double(p.n) * double(p.k) <= double(int64_t{1} << 27)) {
    std::vector<double> ref(gemm::c_elements(p));
    gemm::reference(p, ops.a, ops.b, nullptr, ref.data());
    for (int64_t j = 0; j < p.n; ++j)
      for (int64_t i = 0; i < p.m; ++i) add(i, j, ref[i + j * p.ldc]);
    return c;
  }
  std::mt19937_64 rng(seed);
  std::vector<std::pair<int64_t, int64_t>> at = {
      {0, 0}, {p.m - 1, p.n - 1}, {p.m - 1, 0}, {0, p.n - 1}};
  for (int t = 0; t < 256; ++t) at.push_back({int64_t(rng() % p.m), int64_t(rng() % p.n)});
  for (auto [i, j] : at) add(i, j, gemm::reference_entry(p, ops.a, ops.b, nullptr, i, j));
  return c;
}

}  // namespace

void register_gemm_cuda(Session& session);  // gemm_cuda_bench.cpp: the GPU variants

void register_gemm(Session& session) {
  const Options& opt = session.options();
  register_gemm_cuda(session);
  if (!opt.want_device("cpu:0")) return;
  // Problem-major order: every variant of one problem and thread count runs right after the
  // others, on the same seeded inputs, so the ratios between them see the same machine (on
  // a shared host, minutes between perfcal and its baselines moved ratios by 20-40%).
  uint64_t seed = 20240301;
  for (const Shape& s : problem_set(opt.quick))
    for (int threads : opt.threads) {
      const uint64_t sd = seed++;
      for (const auto& vptr : gemm::Registry::instance().all()) {
        const gemm::Variant* v = vptr.get();
        Problem p = Problem::dense(v->info().dtype, s.m, s.n, s.k, s.ta, s.tb);
        if (is_fallback(v->name()) && gemm::flops(p) > 2.0 * 512 * 512 * 512) continue;
        Record rec;
        rec.name = v->name();
        rec.device = "cpu:0";
        rec.dtype = to_string(p.dtype);
        rec.threads = threads;
        rec.problem = {{"m", p.m},
                       {"n", p.n},
                       {"k", p.k},
                       {"ta", p.ta == Trans::N ? "N" : "T"},
                       {"tb", p.tb == Trans::N ? "N" : "T"},
                       {"seed", sd}};
        Json cfg = v->default_config(p);
        cfg["threads"] = threads;
        rec.config = cfg;
        rec.flops = gemm::flops(p);
        rec.bytes = gemm::min_bytes(p);
        rec.extra["set"] = s.set;
        if (v->name() == "gemm/cpu/openblas/f32")
          rec.extra["openblas_core"] = gemm::openblas_corename();
        session
            .add(
                rec,
                [v, p, cfg, sd](benchmark::State& st, Record& r) {
                  Status s = v->available();
                  if (s.ok()) s = v->can_implement(cfg, p);
                  if (!s.ok()) return r.fail(st, s);
                  Inputs in;
                  if (!make_inputs(p, sd, &in)) return r.fail(st, Status::OutOfMemory("inputs"));
                  std::unique_ptr<gemm::Variant::Plan> plan;
                  s = v->make_plan(p, cfg, &plan);
                  if (!s.ok()) return r.fail(st, s);
                  if (plan->workspace_bytes() > 0) r.extra["extra_bytes"] = plan->workspace_bytes();
                  s = plan->run(in.ops);
                  if (!s.ok()) return r.fail(st, s);
                  const Check c = verify(p, in.ops, sd);
                  r.max_rel_error = c.max_rel;
                  r.verified = c.ok;
                  if (!c.ok)
                    return r.fail(st, "incorrect",
                                  "max |C - ref| / sum|ab| = " + std::to_string(c.max_rel) +
                                      " above 4 (K + 2) eps_f32");
                  r.outcome = "passed";
                  for (auto _ : st) {
                    Status rs = plan->run(in.ops);
                    benchmark::DoNotOptimize(in.ops.c);
                    if (!rs.ok()) return r.fail(st, rs);
                  }
                },
                tags_of(rec.problem))
            ->Unit(benchmark::kMillisecond);
      }
    }
}

static const FamilyRegistrar kFamily{"gemm", &register_gemm};

}  // namespace perfcal::bench
