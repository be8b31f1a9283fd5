#include "tuner/tune.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include "core/tuned.h"
#include "discovery.h"
#include "model/attention_cpu_model.h"
#include "model/gemm_cpu_model.h"
#include "profile/profile.h"
#include "tuner/attention_target.h"
#include "tuner/gemm_target.h"

namespace perfcal::tuner {

std::string Shape::str() const {
  std::string s = std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k);
  if (ta != 'N' || tb != 'N') s += std::string("/") + ta + tb;
  return s;
}

Json Shape::problem() const {
  Json j{{"m", m}, {"n", n}, {"k", k}};
  if (ta != 'N' || tb != 'N') j["ta"] = std::string(1, ta), j["tb"] = std::string(1, tb);
  return j;
}

Json AttentionShape::problem() const {
  return Json{{"batch", batch},       {"heads", heads},
              {"kv_heads", kv_heads}, {"seq_q", seq},
              {"seq_kv", seq},        {"head_dim", head_dim},
              {"causal", causal},     {"pass", backward ? "bwd" : "fwd"}};
}

std::optional<AttentionShape> AttentionShape::from_problem(const Json& j) {
  if (!j.is_object()) return std::nullopt;
  for (const char* k : {"batch", "heads", "kv_heads", "seq_q", "seq_kv", "head_dim"})
    if (!j.contains(k) || !j[k].is_number_integer()) return std::nullopt;
  if (!j.contains("causal") || !j["causal"].is_boolean() || !j.contains("pass") ||
      !j["pass"].is_string() || j["seq_q"] != j["seq_kv"])
    return std::nullopt;
  AttentionShape s;
  s.batch = j["batch"].get<int64_t>(), s.heads = j["heads"].get<int64_t>();
  s.kv_heads = j["kv_heads"].get<int64_t>(), s.seq = j["seq_q"].get<int64_t>();
  s.head_dim = j["head_dim"].get<int64_t>(), s.causal = j["causal"].get<bool>();
  const std::string pass = j["pass"].get<std::string>();
  if (pass != "fwd" && pass != "bwd") return std::nullopt;
  s.backward = pass == "bwd";
  return s;
}

std::string short_config(const Json& c) {
  if (c.is_object() && c.contains("br") && c.contains("bc")) {
    std::string t = "br" + c["br"].dump() + " bc" + c["bc"].dump() + " t" +
                    (c.contains("threads") ? c["threads"].dump() : std::string("?"));
    // The compute choice matters for bf16 only ("widen" is refused for f32).
    if (c.value("compute", std::string("native")) != "native")
      t += " " + c["compute"].get<std::string>();
    return t;
  }
  if (!c.is_object() || !c.contains("mr") || !c.contains("nr")) return c.dump();
  auto i = [&](const char* k) { return c.contains(k) ? c[k].dump() : std::string("?"); };
  // The dot-product path uses none of the blocking fields.
  if (c.value("algo", std::string("blis")) == "dot") return "dot products t" + i("threads");
  return i("mr") + "x" + i("nr") + " mc" + i("mc") + " kc" + i("kc") + " nc" + i("nc") + " t" +
         i("threads") + " " + c.value("parallel_loop", std::string("?")) + " pf" + i("prefetch") +
         (c.value("stream", std::string("none")) != "none" ? " s" + c["stream"].get<std::string>()
                                                           : "") +
         (c.contains("broadcast") ? " " + c["broadcast"].get<std::string>().substr(0, 3) : "");
}

ShapeResult tune_target(const Target& t, Measurer& m, Cache* cache, Strategy& s, Budget b,
                        uint64_t seed, const std::function<void(const Progress&)>& progress) {
  ShapeResult r;
  r.variant = t.variant;
  r.problem = t.problem;
  r.flops = t.flops;
  r.default_config = t.default_config;
  r.space_total = t.space.total();
  r.space_valid = t.space.count_valid();
  Evaluator ev(t, &m, cache, b);
  ev.on_progress = progress;
  const Evaluation* def = ev.evaluate_default();
  // Candidates 10x slower than the default are not worth nine repetitions; the floor keeps
  // tiny problems from calling scheduler noise a timeout.
  if (def->passed()) m.set_time_limit(std::max(1.0, 10 * def->median_s));
  // The confirmation below measures the default and the winner twice more each, every
  // measurement about as long as the default took; the budget covers it.
  if (!m.simulated()) ev.reserve(4, 4 * def->cost_s);
  s.search(ev, seed);

  std::vector<const Evaluation*> cands;
  for (const auto& [i, e] : ev.results()) cands.push_back(&e);
  Decision d = decide(def, cands);

  // Confirmation. The search measured the default first, in a cold process (recordings
  // show its first repetitions up to 1.3x slower than the same config a minute later), and
  // the candidates over minutes of changing machine load; comparing those medians inflates
  // the speedup. So the default and the fastest candidate are measured again, in the order
  // default, candidate, candidate, default, and each one's two samples pooled: a change of
  // load during the confirmation (a neighbour's job starting) then weighs on both alike,
  // not on whichever came second (a linear drift cancels; measured in blocks, a drift of
  // a few percent per measurement, common on a shared VM, passes for a significant gain).
  // Both the decision and the reported speedup use only these samples. Not when this run
  // measured nothing (a complete cache is replayed without the hardware).
  Evaluation def_c, best_c;
  const Evaluation* fastest = ev.best();
  if (!m.simulated() && ev.measured() > 0 && def->passed() && fastest &&
      fastest->config != def->config) {
    // An evaluation budget too small for all four (a few evaluations in tests) gets
    // default, candidate, default or just default, candidate.
    static constexpr std::array<const char*, 5> kOrders = {"", "", "AB", "ABA", "ABBA"};
    const int64_t left = b.max_evaluations > 0 ? b.max_evaluations - ev.evaluations() : 4;
    const char* order = kOrders[std::clamp<int64_t>(left, 0, 4)];
    bool ok = order[0] != '\0';
    for (const char* o = order; *o && ok; ++o) {
      const bool is_def = *o == 'A';
      Evaluation e = m.measure(is_def ? def->config : fastest->config);
      ok = e.passed();
      Evaluation& into = is_def ? def_c : best_c;
      if (into.times_s.empty())
        into = std::move(e);
      else
        into.times_s.insert(into.times_s.end(), e.times_s.begin(), e.times_s.end());
    }
    if (ok) {
      summarize(&def_c);
      summarize(&best_c);
      def_c.config = def->config;
      best_c.config = fastest->config;
      def = &def_c;
      d = decide(def, {&best_c});
      r.confirmed = true;
    }
  }
  r.evaluations = ev.evaluations();
  r.measured = ev.measured();
  for (const Evaluation* e : cands) r.passed += e->passed();
  r.share = r.space_valid ? double(ev.results().size()) / double(r.space_valid) : 0;
  r.default_s = def->passed() ? def->median_s : 0;
  r.best_s = r.confirmed ? best_c.median_s : ev.best() ? ev.best()->median_s : 0;
  r.reason = d.reason;
  r.p_value = d.p_value;
  if (d.winner) {
    r.tuned_config = d.winner->config;
    r.tuned_s = d.winner->median_s;
    r.changed = d.changed;
    if (r.default_s > 0) r.speedup = r.default_s / r.tuned_s;
  }
  return r;
}

Target replay_target(const Cache& cache, const std::string& variant, const std::string& dtype,
                     const Json& problem, std::string* error) {
  Target t;
  t.variant = variant;
  t.dtype = dtype;
  t.problem = problem;
  const auto entries = cache.entries_for(variant, dtype, problem);
  if (entries.empty()) {
    if (error)
      *error = "the cache holds no evaluations of " + variant + " " + dtype + " " + problem.dump();
    return t;
  }
  t.fingerprint = entries.front().first.fingerprint;
  // Candidate values per field, in JSON order (numbers ascending), from every recorded config.
  std::map<std::string, std::set<Json>> values;
  std::set<std::string> measurable;
  for (const auto& [k, e] : entries) {
    if (e.is_default) t.default_config = k.config;
    // The default may lie off the grid (analytical blocks); it is evaluated on its own.
    if (e.is_default) continue;
    for (auto it = k.config.begin(); it != k.config.end(); ++it)
      values[it.key()].insert(it.value());
    if (e.outcome != "invalid_config" && e.outcome != "unsupported")
      measurable.insert(k.config.dump());
  }
  SearchSpace sp;
  for (const auto& [name, vals] : values)
    sp.push_back({name, std::vector<Json>(vals.begin(), vals.end())});
  t.space = Space(sp, Json::object(), [measurable](const Json& c) {
    return measurable.count(c.dump()) ? Status::Ok() : Status::Invalid("not in the recording");
  });
  if (t.default_config.empty())
    t.default_config = t.space.config_at(t.space.valid_indices().front());
  if (variant.rfind("gemm/cpu/", 0) == 0 && problem.contains("m")) {
    const int es = dtype == "bf16" ? 2 : 4;
    const model::GemmShape shape{problem["m"].get<int64_t>(), problem["n"].get<int64_t>(),
                                 problem["k"].get<int64_t>(), es};
    t.flops = 2.0 * double(shape.m) * double(shape.n) * double(shape.k);
    t.model = model::gemm_cpu_model(shape, model::CpuMachine::discover(nullptr));
  } else if (auto as = AttentionShape::from_problem(problem);
             as && variant.rfind("attention/cpu/flash/", 0) == 0) {
    const attention::Problem ap =
        attention_problem(*as, dtype == "bf16" ? Dtype::bf16 : Dtype::f32);
    t.flops = attention::flops(ap);
    t.model = model::attention_cpu_model(attention_model_shape(*as, dtype),
                                         model::CpuMachine::discover(nullptr));
  }
  return t;
}

Json tuned_entry(const ShapeResult& r, const std::string& dtype, const std::string& device,
                 const std::string& strategy) {
  auto lg = [](int64_t x) {
    return static_cast<int>(std::lround(std::log2(double(std::max<int64_t>(x, 1)))));
  };
  Json e{{"name", r.variant},
         {"device", device},
         {"dtype", dtype},
         {"fingerprint", tuned::cpu_fingerprint()},
         {"arch", tuned::cpu_arch()},
         {"problem", r.problem.empty() ? r.shape.problem() : r.problem},
         {"bucket", {{"m", lg(r.shape.m)}, {"n", lg(r.shape.n)}, {"k", lg(r.shape.k)}}},
         {"config", r.tuned_config},
         {"default_config", r.default_config},
         {"median_s", r.tuned_s},
         {"default_median_s", r.default_s},
         {"speedup", r.speedup},
         {"p_value", r.p_value},
         {"confirmed", r.confirmed},
         {"changed", r.changed},
         {"strategy", strategy},
         {"evaluations", r.evaluations},
         {"space_valid", r.space_valid},
         {"tuned_at", profile::utc_now()}};
  if (r.flops > 0 && r.tuned_s > 0) e["gflops"] = r.flops / r.tuned_s / 1e9;
  return e;
}

namespace {

Status write_profile(const std::string& path, const std::vector<Json>& entries) {
  profile::Profile p;
  std::string err;
  if (std::filesystem::exists(path)) {
    auto loaded = profile::load(path, &err);
    if (!loaded) return Status::Invalid("cannot update profile " + path + ": " + err);
    p = *loaded;
  } else {
    p.created = p.finished = profile::utc_now();
    p.partial = false;
    p.perfcal_version = library_versions()["perfcal"].get<std::string>();
    p.git_revision = bench::git_revision();
    p.host = bench::host_json();
    p.devices = bench::devices_json();
    p.software = bench::software_json();
    p.command = {"perfcal", "tune"};
  }
  // One entry per (name, device fingerprint, problem): a retune replaces it.
  for (const Json& e : entries) {
    Json& arr = p.tuned;
    for (auto it = arr.begin(); it != arr.end();) {
      if (it->value("name", "") == e["name"] && it->value("fingerprint", "") == e["fingerprint"] &&
          it->value("problem", Json()) == e["problem"])
        it = arr.erase(it);
      else
        ++it;
    }
    arr.push_back(e);
  }
  const std::string w = profile::save(path, p);
  if (!w.empty()) return Status::Invalid("cannot write profile " + path + ": " + w);
  return Status::Ok();
}

}  // namespace

namespace {

// Applies --fix to a target: each pinned field keeps only the given values (the variant's
// can_implement still decides validity), and a field pinned to one value is pinned for the
// default too, so the speedup compares like with like (e.g. --fix threads=1 on a machine
// shared with other jobs).
Status pin_fields(Target* t, const std::map<std::string, std::vector<Json>>& fixed) {
  if (fixed.empty()) return Status::Ok();
  SearchSpace sp = t->space.params();
  for (const auto& [field, vals] : fixed) PERFCAL_RETURN_IF_ERROR(restrict_field(&sp, field, vals));
  const Space full = t->space;
  t->space = Space(sp, full.base(), [full](const Json& c) { return full.check(c); });
  Json pinned = t->default_config;
  for (const auto& [field, vals] : fixed)
    if (vals.size() == 1) pinned[field] = vals.front();
  if (t->space.check(pinned).ok()) t->default_config = pinned;
  return Status::Ok();
}

// Creates the folders of `path` and checks that the file can be written, before minutes
// of tuning would be lost at the end (a profile in a missing folder once was). Opening for
// appending never truncates; a file this check created is removed again.
Status check_writable(const std::string& path, const std::string& what) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) return Status::Invalid("cannot create the folder of " + what + " " + path + ": " + ec.message());
  const bool existed = fs::exists(path, ec);
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (!f) return Status::Invalid("cannot write " + what + " " + path + ": " + std::strerror(errno));
  std::fclose(f);
  if (!existed) fs::remove(path, ec);
  return Status::Ok();
}

}  // namespace

int run_tune(const TuneOptions& o, std::vector<ShapeResult>* results, std::string* error) {
  auto bad = [&](const std::string& why) {
    if (error) *error = why;
    return 2;
  };
  const bool attn = o.kernel == "attention";
  if (o.kernel != "gemm" && !attn)
    return bad("unknown or untunable kernel \"" + o.kernel + "\" (tunable: gemm, attention)");
  const auto dtype = parse_dtype(o.dtype);
  if (!dtype || (*dtype != Dtype::f32 && *dtype != Dtype::bf16))
    return bad("unsupported dtype \"" + o.dtype + "\" for " + o.kernel + " (f32, bf16)");
  if (o.device != "cpu:0" && o.device != "cpu")
    return bad("unsupported device \"" + o.device + "\" (the " + o.kernel +
               " tuner runs on cpu:0)");
  auto strategy = make_strategy(o.strategy);
  if (!strategy)
    return bad("unknown strategy \"" + o.strategy + "\" (exhaustive, random, annealing, model)");
  if (attn ? o.attention_shapes.empty() : o.shapes.empty())
    return bad(
        attn ? "no shapes given (--shapes BxHxSxD[/causal][/kvN][/bwd],... or --shapes-from FILE)"
             : "no shapes given (--shapes MxNxK,... or --shapes-from FILE)");
  if (o.budget.max_evaluations <= 0 && o.budget.max_seconds <= 0)
    return bad("the budget must be positive");
  if (o.replay && o.cache_path.empty()) return bad("--replay needs --cache FILE");

  Cache cache;
  if (Status s = cache.open(o.cache_path); !s.ok()) return bad(s.message());
  // A replay writes neither.
  if (!o.replay && !o.cache_path.empty())
    if (Status s = check_writable(o.cache_path, "tuning cache"); !s.ok()) return bad(s.message());
  if (!o.replay && !o.profile_path.empty())
    if (Status s = check_writable(o.profile_path, "profile"); !s.ok()) return bad(s.message());

  const gemm::Variant* v = nullptr;
  std::string why;
  if (!o.replay && !attn) {
    if (!o.variant.empty()) {
      v = gemm::Registry::instance().find(o.variant);
      if (!v) return bad("unknown variant \"" + o.variant + "\"");
      if (Status s = v->available(); !s.ok()) return bad(o.variant + ": " + s.message());
    } else {
      v = pick_gemm_variant(*dtype, &why);
      if (!v) return bad(why);
    }
  }
  std::optional<profile::Profile> prof;
  if (!o.profile_path.empty() && std::filesystem::exists(o.profile_path)) {
    prof = profile::load(o.profile_path, &why);
    if (!prof) return bad("cannot read profile " + o.profile_path + ": " + why);
  }

  const bool tty = isatty(fileno(stderr));
  std::vector<Json> entries;
  int rc = 0;
  const std::size_t count = attn ? o.attention_shapes.size() : o.shapes.size();
  for (std::size_t si = 0; si < count; ++si) {
    // What the run-time lookup buckets by (GEMM: the shape; attention: seq_q, seq_kv,
    // head_dim), the label shown, and the problem as keyed in the cache.
    Shape bucket;
    std::string label, variant;
    Json problem;
    if (attn) {
      const AttentionShape& as = o.attention_shapes[si];
      bucket = {as.seq, as.seq, as.head_dim};
      label = as.str();
      problem = as.problem();
      variant = o.variant.empty() ? attention_variant_name(as.backward, o.dtype) : o.variant;
    } else {
      bucket = o.shapes[si];
      label = bucket.str();
      problem = bucket.problem();
      variant = o.replay ? (o.variant.empty()
                                ? std::string("gemm/cpu/") + tuned::cpu_arch() + "/" + o.dtype
                                : o.variant)
                         : v->name();
    }
    Target t;
    std::unique_ptr<Measurer> meas;
    if (o.replay) {
      t = replay_target(cache, variant, o.dtype, problem, &why);
      if (!why.empty()) return bad(why);
      meas = std::make_unique<ReplayMeasurer>(cache, t.variant, t.dtype, problem);
    } else if (attn) {
      const AttentionShape& as = o.attention_shapes[si];
      const attention::Variant* av = attention::Registry::instance().find(variant);
      if (!av) return bad("unknown attention variant \"" + variant + "\"");
      if (Status s = av->available(); !s.ok()) return bad(variant + ": " + s.message());
      const attention::Problem ap = attention_problem(as, *dtype);
      if (Status s = attention::validate(ap); !s.ok())
        return bad("attention shape " + label + ": " + s.message());
      t = attention_target(*av, as, prof ? &*prof : nullptr);
      if (Status s = pin_fields(&t, o.fixed); !s.ok()) return bad(s.message());
      meas = std::make_unique<AttentionMeasurer>(*av, ap, o.timing);
    } else {
      t = gemm_target(*v, bucket, prof ? &*prof : nullptr);
      if (Status s = pin_fields(&t, o.fixed); !s.ok()) return bad(s.message());
      meas = std::make_unique<GemmMeasurer>(*v, gemm_problem(*dtype, bucket), o.timing);
    }
    if (t.space.count_valid() == 0) {
      // Why, when the default is refused too (e.g. a variant of the other pass or dtype).
      const Status d = t.space.check(t.default_config);
      return bad("the search space of " + t.variant + " for " + label + " is empty" +
                 (d.ok() ? std::string() : " (" + d.message() + ")"));
    }
    auto progress = [&](const Progress& p) {
      const double gf = p.best_median_s > 0 ? t.flops / p.best_median_s / 1e9 : 0;
      const double sp =
          p.default_median_s > 0 && p.best_median_s > 0 ? p.default_median_s / p.best_median_s : 0;
      std::fprintf(
          stderr,
          "%s[%zu/%zu %s] %lld evals (%lld passed) %.0fs  best %.1f GFLOP/s  %.2fx default%s",
          tty ? "\r" : "", si + 1, count, label.c_str(), (long long)p.evaluations,
          (long long)p.passed, p.elapsed_s, gf, sp, tty ? "   " : "\n");
      std::fflush(stderr);
    };
    ShapeResult r =
        tune_target(t, *meas, o.replay ? nullptr : &cache, *strategy, o.budget, o.seed, progress);
    if (tty) std::fprintf(stderr, "\n");
    r.shape = bucket;
    r.label = label;
    if (r.tuned_s <= 0)
      rc = 1;
    else
      entries.push_back(tuned_entry(r, o.dtype, "cpu:0", o.strategy));
    if (results) results->push_back(r);
  }
  if (!o.profile_path.empty() && !o.replay && !entries.empty()) {
    if (Status s = write_profile(o.profile_path, entries); !s.ok()) {
      if (error) *error = s.message();
      return 1;
    }
  }
  // The evaluations went on when the cache stopped taking them (disk full, file removed);
  // say so once, as a failure: a rerun would not resume from them.
  if (!cache.write_error().empty()) {
    if (error) *error = cache.write_error() + "; later evaluations of this run are not in it";
    return 1;
  }
  return rc;
}

}  // namespace perfcal::tuner
