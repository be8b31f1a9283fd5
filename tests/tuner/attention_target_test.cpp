// Attention as a tuning target: a tiny exhaustive run over a pinned space finds a passing
// config and writes a tuned entry that the attention C API then uses; the measurer's check
// rejects wrong outputs; `perfcal tune --kernel attention` rejects bad shapes with one line;
// the cost model ranks the obvious cases. Everything here runs in a few seconds.
#include "tuner/attention_target.h"

#include <gtest/gtest.h>
#include <perfcal/attention.h>
#include <perfcal/tuning.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "attention_check.h"
#include "core/tuned.h"
#include "model/attention_cpu_model.h"
#include "profile/profile.h"
#include "test_util.h"
#include "tuner/cli.h"

namespace perfcal::tuner {
namespace {

using test::bin;
using test::run;

AttentionShape shape(int64_t b, int64_t h, int64_t s, int64_t d, bool causal = false,
                     int64_t kvh = 0, bool backward = false) {
  AttentionShape a;
  a.batch = b, a.heads = h, a.kv_heads = kvh ? kvh : h, a.seq = s, a.head_dim = d;
  a.causal = causal, a.backward = backward;
  return a;
}

// A dense BHSD descriptor of the C API for 1 x heads x seq x head_dim.
perfcal_attention_desc desc(int64_t heads, int64_t seq, int64_t d, int threads) {
  perfcal_attention_desc x{};
  x.batch = 1, x.heads = x.kv_heads = heads, x.seq_q = x.seq_kv = seq, x.head_dim = d;
  const int64_t s[4] = {heads * seq * d, seq * d, d, 1};
  for (int i = 0; i < 4; ++i)
    x.q_strides[i] = x.k_strides[i] = x.v_strides[i] = x.o_strides[i] = s[i];
  x.dtype = PERFCAL_ATTN_F32;
  x.threads = threads;
  return x;
}

TEST(AttentionTarget, SpaceAndDefaultComeFromTheVariant) {
  const auto* v = attention::Registry::instance().find("attention/cpu/flash/fwd/f32");
  ASSERT_NE(v, nullptr);
  const AttentionShape s = shape(1, 2, 64, 64, true, 1);
  const Target t = attention_target(*v, s, nullptr);
  const attention::Problem p = attention_problem(s, Dtype::f32);
  EXPECT_EQ(t.variant, "attention/cpu/flash/fwd/f32");
  EXPECT_EQ(t.problem, s.problem());
  EXPECT_EQ(AttentionShape::from_problem(t.problem)->str(), "1x2x64x64/causal/kv1");
  EXPECT_EQ(t.default_config, v->default_config(p));
  EXPECT_EQ(t.flops, attention::flops(p));
  ASSERT_NE(t.model, nullptr);
  // Every valid point is one the variant accepts, and only those.
  uint64_t valid = 0;
  for (uint64_t i = 0; i < t.space.total(); ++i) {
    const bool ok = v->can_implement(t.space.config_at(i), p).ok();
    EXPECT_EQ(t.space.valid(i), ok) << t.space.config_at(i);
    valid += ok;
  }
  EXPECT_EQ(valid, t.space.count_valid());
  EXPECT_GT(valid, 0u);
}

TEST(AttentionTarget, MeasurerRejectsWrongOutputs) {
  // Test the tester: the bench's sampled check, which the measurer uses, passes the kernel's
  // output and fails it once one O element is off by a little or is NaN.
  const attention::Problem p = attention_problem(shape(1, 2, 64, 64), Dtype::f32);
  const auto* v = attention::Registry::instance().find("attention/cpu/flash/fwd/f32");
  bench::AttentionInputs in;
  ASSERT_TRUE(bench::make_attention_inputs(p, 7, &in));
  std::unique_ptr<attention::Variant::Plan> plan;
  ASSERT_TRUE(v->make_plan(p, v->default_config(p), &plan).ok());
  ASSERT_TRUE(plan->run(in.ops).ok());
  const double tol = bench::attention_tolerance(p);
  EXPECT_LE(bench::verify_attention(p, in.ops, 7), tol);
  in.ops.o[5] += 1e-3f;  // row 0 is always sampled
  EXPECT_GT(bench::verify_attention(p, in.ops, 7), tol);
  in.ops.o[5] = std::nanf("");
  EXPECT_TRUE(std::isinf(bench::verify_attention(p, in.ops, 7)));
}

TEST(AttentionTarget, TinyExhaustiveRunWritesATunedEntryTheCApiUses) {
  const std::string prof = test::temp_path("attn_profile.json"),
                    cache = test::temp_path("attn_cache.jsonl");
  std::remove(prof.c_str());
  std::remove(cache.c_str());
  TuneOptions o;
  o.kernel = "attention";
  o.strategy = "exhaustive";
  o.attention_shapes = {shape(1, 2, 64, 64), shape(1, 2, 64, 64, true, 1, true)};
  o.budget.max_evaluations = 100;
  o.profile_path = prof;
  o.cache_path = cache;
  o.timing.min_time = 0.0005;
  // 2 x 2 tiles, one thread: 4 grid points plus the (off-grid, 64 x 64) default.
  o.fixed = {{"br", {16, 32}}, {"bc", {16, 32}}, {"threads", {1}}};
  std::vector<ShapeResult> rs;
  std::string err;
  ASSERT_EQ(run_tune(o, &rs, &err), 0) << err;
  ASSERT_EQ(rs.size(), 2u);
  for (const ShapeResult& r : rs) {
    EXPECT_GT(r.tuned_s, 0) << r.label;
    EXPECT_EQ(r.space_valid, 4u) << r.label;
    EXPECT_EQ(r.evaluations, 5) << r.label;
    EXPECT_EQ(r.tuned_config["threads"], 1) << r.label;
  }
  EXPECT_EQ(rs[0].label, "1x2x64x64");
  EXPECT_EQ(rs[1].label, "1x2x64x64/causal/kv1/bwd");
  EXPECT_EQ(rs[1].variant, "attention/cpu/flash/bwd/f32");
  EXPECT_NE(results_table(rs).find("1x2x64x64/causal/kv1/bwd"), std::string::npos);

  // Every candidate was verified and timed: all passed (a 64-row problem fits every tile).
  Cache c;
  ASSERT_TRUE(c.open(cache).ok());
  for (const ShapeResult& r : rs) {
    const auto es = c.entries_for(r.variant, "f32", r.problem);
    EXPECT_EQ(es.size(), 5u);
    for (const auto& [k, e] : es) EXPECT_EQ(e.outcome, "passed") << k.config << ": " << e.error;
  }

  // The profile holds one valid tuned entry per shape, bucketed by (seq_q, seq_kv, head_dim).
  auto doc = profile::read_json_file(prof, &err);
  ASSERT_TRUE(doc) << err;
  EXPECT_TRUE(profile::validate(*doc).empty()) << profile::validate(*doc).front();
  const Json& tuned = (*doc)["tuned"];
  ASSERT_EQ(tuned.size(), 2u);
  EXPECT_EQ(tuned[0]["name"], "attention/cpu/flash/fwd/f32");
  EXPECT_EQ(tuned[0]["problem"], shape(1, 2, 64, 64).problem());
  EXPECT_EQ(tuned[0]["bucket"], (Json{{"m", 6}, {"n", 6}, {"k", 6}}));
  EXPECT_EQ(tuned[1]["name"], "attention/cpu/flash/bwd/f32");

  // The C API picks each pass's entry up (threads 0 = the default team, which the tuned
  // single thread does not exceed).
  ASSERT_EQ(perfcal_load_profile(prof.c_str()), 0);
  const perfcal_attention_desc d = desc(2, 64, 64, 0);
  EXPECT_EQ(Json::parse(attention_config_for(&d, 0)), rs[0].tuned_config);
  perfcal_attention_desc dc = d;
  dc.causal = 1;
  EXPECT_EQ(Json::parse(attention_config_for(&dc, 1)), rs[1].tuned_config);
  ASSERT_EQ(perfcal_load_profile(nullptr), 0);
  std::remove(prof.c_str());
  std::remove(cache.c_str());
}

TEST(AttentionTarget, CApiUsesATunedConfigOnlyNearbyAndWhenValid) {
  const auto* v = attention::Registry::instance().find("attention/cpu/flash/fwd/f32");
  const attention::Problem p256 = attention_problem(shape(1, 2, 256, 64), Dtype::f32);
  const Json def = v->default_config(p256);
  auto entry = [&](int br, int bc, int threads) {
    return Json{{"name", "attention/cpu/flash/fwd/f32"},
                {"device", "cpu:0"},
                {"fingerprint", tuned::cpu_fingerprint()},
                {"arch", tuned::cpu_arch()},
                {"problem", shape(1, 2, 256, 64).problem()},
                {"bucket", {{"m", 8}, {"n", 8}, {"k", 6}}},
                {"config", {{"br", br}, {"bc", bc}, {"threads", threads}, {"compute", "native"}}}};
  };
  const std::string path = test::temp_path("attn_tuned.json");
  auto load = [&](const Json& e) {
    std::ofstream(path) << Json{{"tuned", Json::array({e})}}.dump();
    ASSERT_EQ(perfcal_load_profile(path.c_str()), 0);
  };
  auto config = [](int64_t seq, int threads) {
    const perfcal_attention_desc d = desc(2, seq, 64, threads);
    return Json::parse(attention_config_for(&d, 0));
  };
  // An unusual but valid tile shape, with more threads than the default team.
  load(entry(32, 96, 1024));
  Json got = config(256, 0);
  EXPECT_EQ(got["br"], 32);
  EXPECT_EQ(got["bc"], 96);
  EXPECT_EQ(got["threads"], def["threads"]) << "capped at the default team";
  EXPECT_EQ(config(300, 3)["threads"], 3) << "the descriptor's count wins";
  EXPECT_EQ(config(300, 3)["bc"], 96) << "nearest bucket";
  EXPECT_EQ(config(8192, 0), def) << "too far from the tuned bucket";
  // The backward has no entry; a descriptor the C API refuses gives "".
  const perfcal_attention_desc d = desc(2, 256, 64, 0);
  EXPECT_EQ(Json::parse(attention_config_for(&d, 1))["br"], Json(v->default_config(p256)["br"]));
  perfcal_attention_desc bad = d;
  bad.kv_heads = 3;
  EXPECT_EQ(attention_config_for(&bad, 0), "");
  EXPECT_NE(std::string(perfcal_attention_last_error()), "");

  // The call runs with the tuned tiles and stays correct (checked against float64 in full).
  const attention::Problem p = attention_problem(shape(1, 2, 256, 64), Dtype::f32);
  bench::AttentionInputs in;
  ASSERT_TRUE(bench::make_attention_inputs(p, 3, &in));
  ASSERT_EQ(perfcal_attention_forward(&d, in.ops.q, in.ops.k, in.ops.v, in.ops.o, in.ops.lse),
            PERFCAL_ATTN_OK);
  std::vector<double> o(std::size_t(attention::o_elements(p))),
      lse(std::size_t(attention::lse_elements(p)));
  attention::reference_forward(p, in.ops.q, in.ops.k, in.ops.v, o.data(), lse.data());
  double worst = 0;
  for (std::size_t i = 0; i < o.size(); ++i) worst = std::max(worst, std::fabs(o[i] - in.ops.o[i]));
  EXPECT_LE(worst, bench::attention_tolerance(p));

  // A tuned config this variant refuses (br not a multiple of 16) falls back to the default.
  load(entry(17, 64, 1));
  EXPECT_EQ(config(256, 0), def);
  ASSERT_EQ(perfcal_load_profile(nullptr), 0);
  EXPECT_EQ(config(256, 0), def);
  std::filesystem::remove(path);
}

TEST(AttentionTarget, ShapeGrammarRoundTrips) {
  std::vector<AttentionShape> v;
  ASSERT_EQ(parse_attention_shapes("1x8x2048x128,2x32x1024x64/bwd/kv8/causal, 1x4x64x64/fwd", &v),
            "");
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].str(), "1x8x2048x128");
  EXPECT_EQ(v[1].str(), "2x32x1024x64/causal/kv8/bwd");
  EXPECT_EQ(v[1].kv_heads, 8);
  EXPECT_EQ(v[2].str(), "1x4x64x64");
  for (const AttentionShape& s : v) {
    std::vector<AttentionShape> again;
    ASSERT_EQ(parse_attention_shapes(s.str(), &again), "");
    EXPECT_EQ(again[0].problem(), s.problem());
  }
  v.clear();
  EXPECT_EQ(parse_attention_shapes_text("# a workload\n1x8x512x64/causal\n\n1x8x512x64/bwd # b\n",
                                        "w", &v),
            "");
  EXPECT_EQ(v.size(), 2u);
  EXPECT_NE(parse_attention_shapes_text("1x8x512x64\n1x8x512\n", "w", &v)
                .find("w:2: bad attention shape"),
            std::string::npos);
}

TEST(AttentionTarget, CliRejectsBadAttentionInputWithOneLine) {
  const std::string tune = bin("perfcal") + " tune --kernel attention ";
  auto expect = [](const test::RunResult& r, const std::string& needle) {
    test::expect_clear_error(r, needle, 1);
  };
  expect(run(tune + "--shapes 1x8x64 --budget 1e"), "bad attention shape \"1x8x64\"");
  expect(run(tune + "--shapes 1x8x64x64x2 --budget 1e"), "bad attention shape");
  expect(run(tune + "--shapes 1x8x0x64 --budget 1e"), "bad attention shape");
  expect(run(tune + "--shapes 1x8x64x64/sliding --budget 1e"), "bad attention shape");
  expect(run(tune + "--shapes 1x8x64x64/kv3 --budget 1e"), "must divide heads");
  expect(run(tune + "--shapes 1x8x64x64/fwd/bwd --budget 1e"), "twice");
  expect(run(tune + "--shapes 1x8x99999999x99999999 --budget 1e"), "too large");
  expect(run(tune + "--budget 1e"), "no shapes given (--shapes BxHxSxD");
  expect(run(tune + "--dtype f64 --shapes 1x2x64x64 --budget 1e"),
         "unsupported dtype \"f64\" for attention");
  expect(run(tune + "--variant attention/cpu/flash/bwd/f32 --shapes 1x2x64x64 --budget 1e"),
         "runs the other pass");
  expect(run(tune + "--shapes 1x2x64x64 --budget 1e --fix mr=16"), "no tunable field \"mr\"");
  const std::string shapes = test::temp_path("attn_shapes.txt");
  test::write_file(shapes, "1x2x64x64\n1x2x64\n");
  expect(run(tune + "--shapes-from " + shapes + " --budget 1e"), ":2: bad attention shape");
  std::remove(shapes.c_str());
  // --help documents the grammar.
  auto help = run(tune + "--help");
  EXPECT_NE(help.output.find("/kvN"), std::string::npos) << help.output;
}

TEST(AttentionTarget, CliTunesAndReplaysASmallShape) {
  const std::string cache = test::temp_path("attn_cli_cache.jsonl");
  std::remove(cache.c_str());
  const std::string common =
      bin("perfcal") + " tune --kernel attention --dtype f32 --shapes 1x2x64x64 " +
      "--strategy exhaustive --budget 20e --fix 'br=16|64' --fix bc=32 --fix threads=1 " +
      "--cache " + cache;
  auto r = run(common + " --min-time 0.0005");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("1x2x64x64"), std::string::npos) << r.output;
  // The recording replays without measuring (what the strategy comparison does offline).
  auto again = run(common + " --replay");
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_NE(again.output.find("1x2x64x64"), std::string::npos) << again.output;
  std::remove(cache.c_str());
}

TEST(AttentionModel, RanksTheObviousCases) {
  const model::CpuMachine m = model::CpuMachine::discover(nullptr);
  model::AttentionShape s;
  s.heads = s.kv_heads = 8, s.seq_q = s.seq_kv = 1024, s.head_dim = 128;
  auto t = [&](int br, int bc, int threads) {
    return model::predict_attention_cpu({{"br", br}, {"bc", bc}, {"threads", threads}}, s, m)
        .seconds;
  };
  EXPECT_TRUE(std::isfinite(t(64, 64, 1)));
  EXPECT_GT(t(64, 64, 1), 0);
  // Tiny tiles pay per-tile overheads; more threads (up to the cores) help a big problem.
  EXPECT_LT(t(64, 64, 1), t(16, 16, 1));
  if (m.cores > 1) EXPECT_LT(t(64, 64, m.cores), t(64, 64, 1));
  // Causal computes about half.
  model::AttentionShape c = s;
  c.causal = true;
  const double causal =
      model::predict_attention_cpu({{"br", 64}, {"bc", 64}, {"threads", 1}}, c, m).seconds;
  EXPECT_LT(causal, 0.7 * t(64, 64, 1));
  EXPECT_GT(causal, 0.4 * t(64, 64, 1));
  // Backward costs more than forward.
  model::AttentionShape b = s;
  b.backward = true;
  EXPECT_GT(model::predict_attention_cpu({{"br", 64}, {"bc", 64}, {"threads", 1}}, b, m).seconds,
            1.5 * t(64, 64, 1));
  EXPECT_TRUE(std::isinf(model::predict_attention_cpu({{"br", 0}}, s, m).seconds));
}

}  // namespace
}  // namespace perfcal::tuner
