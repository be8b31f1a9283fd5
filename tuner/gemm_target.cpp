#include "tuner/gemm_target.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <random>

#include "core/cpu_info.h"
#include "core/tuned.h"
#include "harness.h"
#include "model/gemm_cpu_model.h"

namespace perfcal::tuner {

const gemm::Variant* pick_gemm_variant(Dtype dtype, std::string* why) {
  const std::string want =
      std::string("gemm/cpu/") + to_string(best_isa()) + "/" + to_string(dtype);
  const gemm::Variant* fallback = nullptr;
  for (const auto& v : gemm::Registry::instance().all()) {
    const VariantInfo& i = v->info();
    if (i.baseline || i.backend != "cpu" || i.dtype != dtype || !v->available().ok()) continue;
    if (i.name == want) return v.get();
    if (!fallback) fallback = v.get();
  }
  if (!fallback && why)
    *why = std::string("no tunable CPU GEMM variant for ") + to_string(dtype) + " on this CPU";
  return fallback;
}

gemm::Problem gemm_problem(Dtype dtype, const Shape& s) {
  auto op = [](char t) { return t == 'T' ? gemm::Trans::T : gemm::Trans::N; };
  return gemm::Problem::dense(dtype, s.m, s.n, s.k, op(s.ta), op(s.tb));
}

Target gemm_target(const gemm::Variant& v, const Shape& s, const profile::Profile* prof) {
  const gemm::Problem p = gemm_problem(v.info().dtype, s);
  const int64_t m = s.m, n = s.n, k = s.k;
  Target t;
  t.variant = v.name();
  t.dtype = to_string(v.info().dtype);
  t.device = "cpu:0";
  t.fingerprint = tuned::cpu_fingerprint();
  t.problem = s.problem();
  t.flops = gemm::flops(p);
  t.default_config = v.default_config(p);
  const gemm::Variant* vp = &v;
  // Candidates are configs of the BLIS loops. A skinny problem's default may be the dot
  // product path ("algo": "dot"), which uses none of the searched fields: built on it,
  // every candidate would be the default again.
  Json base = t.default_config;
  if (base.contains("algo")) base["algo"] = "blis";
  t.space =
      Space(v.search_space(p), base, [vp, p](const Json& c) { return vp->can_implement(c, p); });
  model::GemmShape shape{m, n, k, static_cast<int>(size_of(v.info().dtype))};
  t.model = model::gemm_cpu_model(shape, model::CpuMachine::discover(prof));
  return t;
}

GemmMeasurer::GemmMeasurer(const gemm::Variant& v, const gemm::Problem& p, TimingOptions timing,
                           uint64_t seed)
    : v_(v), p_(p), timing_(timing) {
  const std::size_t na = gemm::a_elements(p), nb = gemm::b_elements(p);
  if (p.dtype == Dtype::bf16) {
    a16_.resize(na);
    b16_.resize(nb);
    bench::fill_uniform_bf16(a16_.data(), na, seed);
    bench::fill_uniform_bf16(b16_.data(), nb, seed + 1);
  } else {
    a32_.resize(na);
    b32_.resize(nb);
    bench::fill_uniform(a32_.data(), na, seed);
    bench::fill_uniform(b32_.data(), nb, seed + 1);
  }
  c_.resize(gemm::c_elements(p));
  const void* a = a32_.empty() ? static_cast<const void*>(a16_.data()) : a32_.data();
  const void* b = b32_.empty() ? static_cast<const void*>(b16_.data()) : b32_.data();
  // Sampled check (a full float64 reference of 4096^3 would take minutes): the four corners,
  // which catch edge-tile bugs, plus 252 seeded random entries.
  std::mt19937_64 rng(seed + 2);
  std::vector<std::pair<int64_t, int64_t>> at = {
      {0, 0}, {p.m - 1, 0}, {0, p.n - 1}, {p.m - 1, p.n - 1}};
  for (int s = 0; s < 252; ++s) at.emplace_back(rng() % p.m, rng() % p.n);
  constexpr double kEpsF32 = 1.0 / (1 << 23);
  for (auto [i, j] : at) {
    double abs_sum = 0;
    for (int64_t l = 0; l < p.k; ++l)
      abs_sum += std::fabs(gemm::load(p.dtype, a, p.lda, p.ta == gemm::Trans::N ? i : l,
                                      p.ta == gemm::Trans::N ? l : i) *
                           gemm::load(p.dtype, b, p.ldb, p.tb == gemm::Trans::N ? l : j,
                                      p.tb == gemm::Trans::N ? j : l));
    // The family's tolerance (tests/gemm/gemm_testing.h): K fp32 multiply-adds each round
    // once, so |err| <= 4 (K + 2) eps_f32 |alpha| sum |a b| (beta = 0 here). The tiny
    // absolute floor keeps an all-zero row from demanding exact zero.
    const double bound = 4.0 * double(p.k + 2) * kEpsF32 * std::fabs(p.alpha) * abs_sum + 1e-30;
    samples_.push_back({i, j, gemm::reference_entry(p, a, b, nullptr, i, j), bound});
  }
}

Evaluation GemmMeasurer::measure(const Json& config) {
  Evaluation e;
  e.config = config;
  auto from_status = [&](const Status& s) {
    e.outcome = s.code() == StatusCode::kUnsupported       ? "unsupported"
                : s.code() == StatusCode::kInvalidArgument ? "invalid_config"
                                                           : "failed";
    e.error = s.message();
    return e;
  };
  std::unique_ptr<gemm::Variant::Plan> plan;
  if (Status s = v_.make_plan(p_, config, &plan); !s.ok()) return from_status(s);
  gemm::Operands ops;
  ops.a = a32_.empty() ? static_cast<const void*>(a16_.data()) : a32_.data();
  ops.b = b32_.empty() ? static_cast<const void*>(b16_.data()) : b32_.data();
  ops.c = c_.data();

  // Verify on the tuned problem before timing (CONVENTIONS 9). NaN in C first, so an
  // element the kernel never writes cannot pass (beta = 0 must overwrite).
  std::fill(c_.begin(), c_.end(), std::numeric_limits<float>::quiet_NaN());
  const auto t0 = std::chrono::steady_clock::now();
  if (Status s = plan->run(ops); !s.ok()) {
    from_status(s);
    e.outcome = "failed";
    return e;
  }
  const double once = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (int64_t j = 0; j < p_.n; ++j)
    for (int64_t i = 0; i < p_.m; ++i)
      if (!std::isfinite(c_[i + j * p_.ldc])) {
        e.outcome = "incorrect";
        e.error = "C(" + std::to_string(i) + "," + std::to_string(j) + ") not finite";
        e.max_rel_error = std::numeric_limits<double>::infinity();
        return e;
      }
  double worst = 0;
  for (const Sample& s : samples_)
    worst = std::max(worst, std::fabs(double(c_[s.i + s.j * p_.ldc]) - s.ref) / s.bound);
  e.max_rel_error = worst;
  if (!(worst <= 1.0)) {
    e.outcome = "incorrect";
    e.error = "sampled error " + std::to_string(worst) + "x the tolerance bound";
    return e;
  }
  if (time_limit_s_ > 0 && once > time_limit_s_) {
    e.outcome = "timeout";
    e.error = "one run took " + std::to_string(once) + " s (limit " +
              std::to_string(time_limit_s_) + " s)";
    return e;
  }
  std::string err;
  e.times_s = time_repetitions(
      v_.name() + "/tune", [&] { return plan->run(ops); }, timing_, &err);
  if (e.times_s.empty()) {
    e.outcome = "failed";
    e.error = err.empty() ? "no timed repetitions" : err;
    return e;
  }
  e.outcome = "passed";
  summarize(&e);
  return e;
}

}  // namespace perfcal::tuner
