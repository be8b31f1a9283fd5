// Attention benchmarks: every registered attention variant (attention/cpu/flash/*, the
// composed OpenBLAS baseline attention/cpu/composed/*) x problem set x thread count.
//
// Problems (batch 1, heads 8): seq in {512, 1024, 2048, 4096, 8192} x head_dim {64, 128}
// non-causal multi-head; head_dim 128 causal multi-head and causal GQA 8:1 (kv_heads 1).
// --quick: seq 512 only, head_dim 64 non-causal and 128 causal GQA.
// FLOPs per iteration: forward 4 b h sq skv d (halved when causal), backward 2.5x forward.
// problem.extra_bytes is the plan's workspace (memory beyond inputs and outputs).
//
// Verification before timing, on the exact problem: sampled rows (first, last, middle and a
// few seeded random rows of the first and last head) against the float64 reference. For
// backward the forward's O and LSE (from the fused forward of the same dtype) are the
// inputs, and the reference takes them as given, as the backward contract does.
// Run: build/bin/bench_attention --benchmark_filter=attention/cpu/flash/fwd/f32
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "attention/attention.h"
#include "core/aligned_buffer.h"
#include "harness.h"

namespace perfcal::bench {
namespace {

using attention::Pass;
using attention::Problem;

struct Shape {
  int64_t batch, heads, kv_heads, seq, head_dim;
  bool causal;
};

std::vector<Shape> problem_set(bool quick) {
  if (quick) return {{1, 8, 8, 512, 64, false}, {1, 8, 1, 512, 128, true}};
  std::vector<Shape> v;
  for (int64_t s : {512, 1024, 2048, 4096, 8192}) {
    v.push_back({1, 8, 8, s, 64, false});
    v.push_back({1, 8, 8, s, 128, false});
    v.push_back({1, 8, 8, s, 128, true});
    v.push_back({1, 8, 1, s, 128, true});
  }
  return v;
}

// Normwise tolerance of sampled outputs against float64. fp32: sums of seq terms, error
// ~ sqrt(seq) eps, x64 margin for exp2 and the online rescaling. bf16 (float64 reference on
// the same bf16 values): the fused kernel rounds P (and dS in backward) to bf16, 2^-9
// relative each, accumulated over tiles; 2e-2 leaves 5x room and still rejects a dropped
// key or a missing rescale (errors ~ 1e-1).
double tolerance(const Problem& p) {
  if (p.dtype == Dtype::bf16) return 2e-2;
  return 64 * 1.19e-7 * std::sqrt(double(std::max(p.seq_kv, p.head_dim)));
}

struct Inputs {
  AlignedBuffer<float> q32, k32, v32, do32;
  AlignedBuffer<uint16_t> q16, k16, v16, do16;
  AlignedBuffer<float> o, lse, dq, dk, dv;
  attention::Operands ops;
};

bool make_inputs(const Problem& p, uint64_t seed, Inputs* in) {
  const int64_t nq = attention::q_elements(p), nk = attention::kv_elements(p, p.k),
                nv = attention::kv_elements(p, p.v), no = attention::o_elements(p);
  const bool b16 = p.dtype == Dtype::bf16;
  bool ok = true;
  if (b16) {
    ok &= in->q16.reset(nq) && in->k16.reset(nk) && in->v16.reset(nv) && in->do16.reset(no);
    if (!ok) return false;
    fill_uniform_bf16(in->q16.data(), nq, seed);
    fill_uniform_bf16(in->k16.data(), nk, seed + 1);
    fill_uniform_bf16(in->v16.data(), nv, seed + 2);
    fill_uniform_bf16(in->do16.data(), no, seed + 3);
    in->ops.q = in->q16.data(), in->ops.k = in->k16.data(), in->ops.v = in->v16.data();
    in->ops.d_o = in->do16.data();
  } else {
    ok &= in->q32.reset(nq) && in->k32.reset(nk) && in->v32.reset(nv) && in->do32.reset(no);
    if (!ok) return false;
    fill_uniform(in->q32.data(), nq, seed);
    fill_uniform(in->k32.data(), nk, seed + 1);
    fill_uniform(in->v32.data(), nv, seed + 2);
    fill_uniform(in->do32.data(), no, seed + 3);
    in->ops.q = in->q32.data(), in->ops.k = in->k32.data(), in->ops.v = in->v32.data();
    in->ops.d_o = in->do32.data();
  }
  ok &= in->o.reset(no) && in->lse.reset(attention::lse_elements(p));
  if (p.pass == Pass::bwd) ok &= in->dq.reset(nq) && in->dk.reset(nk) && in->dv.reset(nv);
  in->ops.o = in->o.data(), in->ops.lse = in->lse.data();
  in->ops.dq = in->dq.data(), in->ops.dk = in->dk.data(), in->ops.dv = in->dv.data();
  return ok;
}

// Rows to check: first, last, middle and four seeded random rows.
std::vector<int64_t> sample_rows(int64_t n, uint64_t seed) {
  std::vector<int64_t> r;
  if (n == 0) return r;
  r = {0, n - 1, n / 2};
  std::mt19937_64 rng(seed);
  for (int t = 0; t < 4; ++t) r.push_back(int64_t(rng() % uint64_t(n)));
  std::sort(r.begin(), r.end());
  r.erase(std::unique(r.begin(), r.end()), r.end());
  return r;
}

// Accumulates max |got - ref| and max |ref| over sampled rows.
struct Err {
  double err = 0, ref = 0;
  bool finite = true;
  void add(const double* ref_row, const float* got, int64_t stride, int64_t n) {
    for (int64_t d = 0; d < n; ++d) {
      const double g = got[d * stride];
      if (!std::isfinite(g)) finite = false;
      err = std::max(err, std::abs(g - ref_row[d]));
      ref = std::max(ref, std::abs(ref_row[d]));
    }
  }
  double rel() const { return finite ? err / std::max(ref, 1e-30) : INFINITY; }
};

double verify(const Problem& p, const attention::Operands& ops, uint64_t seed) {
  const int64_t D = p.head_dim;
  std::vector<double> a(D), b(D);
  Err e;
  double lse_err = 0;
  for (int64_t bb : {int64_t{0}, p.batch - 1})
    for (int64_t h : {int64_t{0}, p.heads - 1}) {
      for (int64_t i : sample_rows(p.seq_q, seed + h)) {
        if (p.pass == Pass::fwd) {
          double lse;
          attention::reference_forward_row(p, ops.q, ops.k, ops.v, bb, h, i, a.data(), &lse);
          e.add(a.data(), ops.o + bb * p.o.b + h * p.o.h + i * p.o.s, p.o.d, D);
          const float got = ops.lse[(bb * p.heads + h) * p.seq_q + i];
          if (std::isfinite(lse))
            lse_err = std::max(lse_err, std::abs(got - lse) / std::max(1.0, std::abs(lse)));
        } else {
          attention::reference_backward_dq_row(p, ops, bb, h, i, a.data());
          e.add(a.data(), ops.dq + bb * p.q.b + h * p.q.h + i * p.q.s, p.q.d, D);
        }
      }
      if (p.pass == Pass::bwd) {
        const int64_t kvh = h / p.group();
        for (int64_t j : sample_rows(p.seq_kv, seed + 100 + h)) {
          attention::reference_backward_dkv_row(p, ops, bb, kvh, j, a.data(), b.data());
          e.add(a.data(), ops.dk + bb * p.k.b + kvh * p.k.h + j * p.k.s, p.k.d, D);
          e.add(b.data(), ops.dv + bb * p.v.b + kvh * p.v.h + j * p.v.s, p.v.d, D);
        }
      }
    }
  return std::max(e.rel(), lse_err);
}

}  // namespace

void register_attention(Session& session) {
  const Options& opt = session.options();
  const auto& reg = attention::Registry::instance();
  uint64_t seed = 20240501;
  for (const auto& vptr : reg.all()) {
    const attention::Variant* v = vptr.get();
    const Pass pass = v->name().find("/bwd/") != std::string::npos ? Pass::bwd : Pass::fwd;
    for (const Shape& s : problem_set(opt.quick)) {
      const Problem p = Problem::dense(pass, v->info().dtype, s.batch, s.heads, s.kv_heads, s.seq,
                                       s.seq, s.head_dim, s.causal);
      for (int threads : opt.threads) {
        Record rec;
        rec.name = v->name();
        rec.device = "cpu:0";
        rec.dtype = to_string(p.dtype);
        rec.threads = threads;
        rec.problem = {{"batch", p.batch},   {"heads", p.heads},   {"kv_heads", p.kv_heads},
                       {"seq_q", p.seq_q},   {"seq_kv", p.seq_kv}, {"head_dim", p.head_dim},
                       {"causal", p.causal}, {"seed", seed}};
        // The pass is in the tags so fwd and bwd of one shape never share a name suffix
        // (the reporter pairs variants with their baseline by that suffix).
        const std::string tags = std::string(attention::to_string(pass)) +
                                 "/b:" + std::to_string(p.batch) + "/h:" + std::to_string(p.heads) +
                                 "/kvh:" + std::to_string(p.kv_heads) +
                                 "/s:" + std::to_string(p.seq_q) +
                                 "/d:" + std::to_string(p.head_dim) + (p.causal ? "/causal" : "");
        Json cfg = v->default_config(p);
        cfg["threads"] = threads;
        rec.config = cfg;
        rec.flops = attention::flops(p);
        rec.bytes = attention::min_bytes(p);
        const uint64_t sd = seed++;
        session
            .add(
                rec,
                [v, p, cfg, sd](benchmark::State& st, Record& r) {
                  Status s = v->can_implement(cfg, p);
                  if (!s.ok()) return r.fail(st, s);
                  Inputs in;
                  if (!make_inputs(p, sd, &in)) return r.fail(st, Status::OutOfMemory("inputs"));
                  std::unique_ptr<attention::Variant::Plan> plan;
                  s = v->make_plan(p, cfg, &plan);
                  if (!s.ok()) return r.fail(st, s);
                  r.problem["extra_bytes"] = plan->workspace_bytes();
                  r.extra["extra_bytes"] = plan->workspace_bytes();
                  if (p.pass == Pass::bwd) {
                    // O and LSE for the backward come from the fused forward of the same dtype.
                    Problem pf = p;
                    pf.pass = Pass::fwd;
                    const auto* fwd = attention::Registry::instance().find(
                        std::string("attention/cpu/flash/fwd/") + to_string(p.dtype));
                    std::unique_ptr<attention::Variant::Plan> fplan;
                    if (!fwd)
                      return r.fail(st, "failed", "no forward variant to produce O and LSE");
                    s = fwd->make_plan(pf, cfg, &fplan);
                    if (s.ok()) s = fplan->run(in.ops);
                    if (!s.ok()) return r.fail(st, s);
                  }
                  s = plan->run(in.ops);
                  if (!s.ok()) return r.fail(st, s);
                  const double err = verify(p, in.ops, sd);
                  r.max_rel_error = err;
                  r.verified = err <= tolerance(p);
                  if (!r.verified)
                    return r.fail(st, "incorrect",
                                  "sampled error " + std::to_string(err) + " > " +
                                      std::to_string(tolerance(p)));
                  r.outcome = "passed";
                  for (auto _ : st) {
                    Status rs = plan->run(in.ops);
                    benchmark::DoNotOptimize(in.ops.o);
                    if (!rs.ok()) return r.fail(st, rs);
                  }
                },
                tags)
            ->Unit(benchmark::kMillisecond);
      }
    }
  }
}

static const FamilyRegistrar kFamily{"attention", &register_attention};

}  // namespace perfcal::bench
