// Attention benchmarks: every registered attention variant (attention/cpu/flash/*, the
// composed OpenBLAS baseline attention/cpu/composed/*) x problem set x thread count.
//
// Problems (batch 1, heads 8): seq in {512, 1024, 2048, 4096, 8192} x head_dim {64, 128}
// non-causal multi-head; head_dim 128 causal multi-head and causal GQA 8:1 (kv_heads 1).
// --quick: seq 512 only, head_dim 64 non-causal and 128 causal GQA.
// FLOPs per iteration: forward 4 b h sq skv d (halved when causal), backward 2.5x forward.
// problem.extra_bytes is the plan's workspace (memory beyond inputs and outputs).
//
// Verification before timing, on the exact problem (bench/attention_check.h, shared with the
// tuner): sampled rows of the first and last head against the float64 reference. For
// backward the forward's O and LSE (from the fused forward of the same dtype) are the
// inputs, and the reference takes them as given, as the backward contract does.
// Run: build/bin/bench_attention --benchmark_filter=attention/cpu/flash/fwd/f32
#include <string>
#include <vector>

#include "attention/attention.h"
#include "attention_check.h"
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

}  // namespace

void register_attention(Session& session) {
  const Options& opt = session.options();
  const auto& reg = attention::Registry::instance();
  // Problem-major order, as bench_gemm: each variant of one shape and thread count runs
  // right after its baseline, on the same seeded inputs.
  uint64_t seed = 20240501;
  for (const Shape& s : problem_set(opt.quick))
    for (int threads : opt.threads) {
      const uint64_t sd = seed++;
      for (const auto& vptr : reg.all()) {
        const attention::Variant* v = vptr.get();
        const Pass pass = v->name().find("/bwd/") != std::string::npos ? Pass::bwd : Pass::fwd;
        const Problem p = Problem::dense(pass, v->info().dtype, s.batch, s.heads, s.kv_heads, s.seq,
                                         s.seq, s.head_dim, s.causal);
        Record rec;
        rec.name = v->name();
        rec.device = "cpu:0";
        rec.dtype = to_string(p.dtype);
        rec.threads = threads;
        rec.problem = {{"batch", p.batch},   {"heads", p.heads},   {"kv_heads", p.kv_heads},
                       {"seq_q", p.seq_q},   {"seq_kv", p.seq_kv}, {"head_dim", p.head_dim},
                       {"causal", p.causal}, {"seed", sd}};
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
        session
            .add(
                rec,
                [v, p, cfg, sd](benchmark::State& st, Record& r) {
                  Status s = v->can_implement(cfg, p);
                  if (!s.ok()) return r.fail(st, s);
                  AttentionInputs in;
                  if (!make_attention_inputs(p, sd, &in))
                    return r.fail(st, Status::OutOfMemory("inputs"));
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
                  const double err = verify_attention(p, in.ops, sd);
                  r.max_rel_error = err;
                  r.verified = err <= attention_tolerance(p);
                  if (!r.verified)
                    return r.fail(st, "incorrect",
                                  "sampled error " + std::to_string(err) + " > " +
                                      std::to_string(attention_tolerance(p)));
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

static const FamilyRegistrar kFamily{"attention", &register_attention};

}  // namespace perfcal::bench
