// The tuning pipeline behind `perfcal tune`: per shape, build the target, evaluate the
// default, run the strategy within the budget (through the cache), decide the winner with
// the significance test, then write the winners into the profile's `tuned` section.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tuner/cache.h"
#include "tuner/evaluator.h"
#include "tuner/select.h"
#include "tuner/strategy.h"
#include "tuner/timing.h"

namespace perfcal::tuner {

struct Shape {
  int64_t m = 0, n = 0, k = 0;
  // op(A) and op(B) of the column-major BLAS call, 'N' or 'T' (a row-major y = x W^T reaches
  // it as m = out features, n = tokens, ta = 'T'). Text form MxNxK[/NT] (tune_args.h).
  char ta = 'N', tb = 'N';
  // "512x11008x4096", or "512x11008x4096/NT" unless both are 'N'.
  std::string str() const;
  // The problem as keyed in the cache and the profile: {"m", "n", "k"}, plus "ta" and "tb"
  // unless both are 'N' (so caches recorded before transposes existed still replay).
  Json problem() const;
};

// An attention problem of `perfcal tune --kernel attention`: batch x heads x seq x head_dim
// (seq_q = seq_kv = seq), non-causal forward with kv_heads = heads unless the shape says
// otherwise. Text form (tune_args.h parses it): BxHxSxD[/causal][/kvN][/fwd|/bwd].
struct AttentionShape {
  int64_t batch = 1, heads = 1, kv_heads = 1, seq = 0, head_dim = 0;
  bool causal = false, backward = false;
  // Canonical text, parsed back to the same shape: "1x8x2048x128/causal/kv1/bwd" (kv only
  // when grouped, fwd implied).
  std::string str() const {
    std::string t = std::to_string(batch) + "x" + std::to_string(heads) + "x" +
                    std::to_string(seq) + "x" + std::to_string(head_dim);
    if (causal) t += "/causal";
    if (kv_heads != heads) t += "/kv" + std::to_string(kv_heads);
    if (backward) t += "/bwd";
    return t;
  }
  // The problem object of the cache and the profile: {"batch", "heads", "kv_heads", "seq_q",
  // "seq_kv", "head_dim", "causal", "pass"}.
  Json problem() const;
  // The inverse of problem(); nullopt when `j` is not such an object with seq_q = seq_kv.
  static std::optional<AttentionShape> from_problem(const Json& j);
};

struct ShapeResult {
  // GEMM: the tuned m x n x k. Attention: the (m, n, k) the run-time lookup buckets by,
  // (seq_q, seq_kv, head_dim) (kernels/core/tuned.h).
  Shape shape;
  std::string label;              // the shape as given (tables); empty: shape.str()
  Json problem = Json::object();  // the tuned problem as keyed in the cache (empty: m, n, k)
  std::string variant;
  Json default_config = Json::object(), tuned_config = Json::object();
  double default_s = 0, tuned_s = 0;  // medians
  double flops = 0;
  double speedup = 1, p_value = 1;
  bool changed = false;
  std::string reason;
  int64_t evaluations = 0, measured = 0, passed = 0;
  uint64_t space_total = 0, space_valid = 0;
  double share = 0;   // evaluated / valid
  double best_s = 0;  // fastest passed median, declared winner or not
  // The default and the fastest candidate were re-measured side by side after the search;
  // default_s, tuned_s, best_s, speedup and p_value are from those paired runs.
  bool confirmed = false;
};

// Tunes one target (the unit the tests drive with a replayed cache). `cache` may be null.
ShapeResult tune_target(const Target& t, Measurer& m, Cache* cache, Strategy& s, Budget b,
                        uint64_t seed, const std::function<void(const Progress&)>& progress = {});

// A target rebuilt from a recording alone (no variant, no hardware): each field's candidates
// are the values recorded, a point is valid iff it was recorded as measurable, the default
// is the entry marked "default". *error when the recording holds no such problem.
Target replay_target(const Cache& cache, const std::string& variant, const std::string& dtype,
                     const Json& problem, std::string* error);

struct TuneOptions {
  std::string kernel = "gemm", dtype = "f32", device = "cpu:0", strategy = "model";
  // empty: GEMM, the best tunable variant for the dtype on this CPU; attention,
  // attention/cpu/flash/<pass of the shape>/<dtype>
  std::string variant;
  std::vector<Shape> shapes;                     // --kernel gemm
  std::vector<AttentionShape> attention_shapes;  // --kernel attention
  Budget budget;                                 // per shape
  std::string profile_path, cache_path;
  bool replay = false;  // serve every evaluation from the cache (no hardware)
  uint64_t seed = 1;
  TimingOptions timing;
  std::map<std::string, std::vector<Json>> fixed;  // --fix field=v1|v2
};

// Runs the pipeline. Returns 0, 1 (a shape found no passing config or the profile could
// not be written) or 2 (bad input, *error says why in one line).
int run_tune(const TuneOptions& o, std::vector<ShapeResult>* results, std::string* error);

// The `tuned` entry for a result (see kernels/core/tuned.h for the fields the run-time
// lookup reads).
Json tuned_entry(const ShapeResult& r, const std::string& dtype, const std::string& device,
                 const std::string& strategy);

// "32x12 mc1152 kc256 nc4032 t2 ic pf0" ("dot products t2" on that path) for GEMM configs, "br64
// bc128 t2" (plus the bf16 compute choice) for flash attention configs; JSON text otherwise.
std::string short_config(const Json& c);

}  // namespace perfcal::tuner
