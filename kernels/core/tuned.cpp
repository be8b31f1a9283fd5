// Tuned-config table and lookup (see tuned.h). kernels/ knows nothing of profile/ (DESIGN:
// dependencies run one way), so the `tuned` array is read here with nlohmann directly.
#include "core/tuned.h"

#include <perfcal/tuning.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <mutex>
#include <sstream>

#include "core/cpu_info.h"

namespace perfcal::tuned {
namespace {

double log2_of(int64_t x) { return std::log2(double(std::max<int64_t>(x, 1))); }

// The current table. Tables are immutable once published and never freed: a GEMM running
// on another thread may still scan the old one, and a process loads a profile a handful of
// times at most.
std::atomic<const Table*> g_table{nullptr};
std::once_flag g_env_once;

void load_env_once() {
  std::call_once(g_env_once, [] {
    const char* p = std::getenv("PERFCAL_PROFILE");
    // A bad PERFCAL_PROFILE leaves the defaults: kernels never print or exit (CONVENTIONS 13).
    if (p && *p && !g_table.load()) (void)load_profile(p);
  });
}

}  // namespace

std::string cpu_fingerprint() {
  const CpuInfo& ci = cpu_info();
  const CpuFeatures& f = ci.features;
  std::string s = ci.model.empty() ? std::string("unknown-cpu") : ci.model;
  s += " |";
  auto add = [&](bool on, const char* n) {
    if (on) s += std::string(" ") + n;
  };
  add(f.fma, "fma");
  add(f.avx2, "avx2");
  add(f.avx512f, "avx512f");
  add(f.avx512bw, "avx512bw");
  add(f.avx512vl, "avx512vl");
  add(f.avx512_bf16, "avx512_bf16");
  add(f.amx_tile, "amx_tile");
  add(f.amx_bf16, "amx_bf16");
  return s;
}

std::string cpu_arch() { return to_string(best_isa()); }

Status parse_table(const nlohmann::json& tuned, Table* out) {
  if (!tuned.is_array()) return Status::Invalid("profile \"tuned\" must be an array");
  Table t;
  for (const auto& e : tuned) {
    if (!e.is_object() || !e.contains("name") || !e["name"].is_string() ||
        !e.contains("config") || !e["config"].is_object())
      return Status::Invalid("tuned entry without a string \"name\" and an object \"config\"");
    Entry x;
    x.name = e["name"].get<std::string>();
    x.fingerprint = e.value("fingerprint", std::string());
    x.arch = e.value("arch", std::string());
    x.config = e["config"];
    // Exact log2 of the problem's m, n, k when it has them (GEMM), else the written bucket
    // (already log2: attention, whose problem has other fields; see tuned.h).
    static const nlohmann::json kNone = nlohmann::json::object();
    auto obj = [&](const char* key) -> const nlohmann::json& {
      return e.contains(key) && e[key].is_object() ? e[key] : kNone;
    };
    const nlohmann::json& p = obj("problem");
    const nlohmann::json& b = obj("bucket");
    auto has_mnk = [](const nlohmann::json& o) {
      return o.contains("m") && o["m"].is_number() && o.contains("n") && o["n"].is_number() &&
             o.contains("k") && o["k"].is_number();
    };
    // Transposes (GEMM only): absent means "N"; anything else is not an entry we can match.
    for (auto [key, dst] : {std::pair{"ta", &x.ta}, std::pair{"tb", &x.tb}}) {
      if (!p.contains(key)) continue;
      const nlohmann::json& v = p[key];
      if (!v.is_string() || (v != "N" && v != "T"))
        return Status::Invalid(std::string("tuned entry \"problem\": \"") + key +
                               "\" must be \"N\" or \"T\"");
      *dst = v.get<std::string>()[0];
    }
    if (has_mnk(p)) {
      x.lm = log2_of(p["m"].get<int64_t>()), x.ln = log2_of(p["n"].get<int64_t>()),
      x.lk = log2_of(p["k"].get<int64_t>());
    } else if (has_mnk(b)) {
      x.lm = b["m"].get<double>(), x.ln = b["n"].get<double>(), x.lk = b["k"].get<double>();
    }
    t.entries.push_back(std::move(x));
  }
  *out = std::move(t);
  return Status::Ok();
}

const Entry* find(const Table& t, const std::string& name, const std::string& fingerprint,
                  const std::string& arch, int64_t m, int64_t n, int64_t k, Match* how,
                  double max_distance, char ta, char tb) {
  const double lm = log2_of(m), ln = log2_of(n), lk = log2_of(k);
  const Entry* best[2] = {nullptr, nullptr};  // exact device, architecture
  double dist[2] = {std::numeric_limits<double>::infinity(),
                    std::numeric_limits<double>::infinity()};
  for (const Entry& e : t.entries) {
    if (e.name != name || e.ta != ta || e.tb != tb) continue;
    int level = -1;
    if (!fingerprint.empty() && e.fingerprint == fingerprint) level = 0;
    else if (!arch.empty() && e.arch == arch) level = 1;
    if (level < 0) continue;
    const double d = std::fabs(e.lm - lm) + std::fabs(e.ln - ln) + std::fabs(e.lk - lk);
    if (d > max_distance) continue;
    if (d < dist[level]) dist[level] = d, best[level] = &e;
  }
  if (how) *how = best[0] ? Match::exact_device : best[1] ? Match::architecture : Match::none;
  return best[0] ? best[0] : best[1];
}

bool active() {
  load_env_once();
  const Table* t = g_table.load(std::memory_order_acquire);
  return t && !t->entries.empty();
}

std::optional<nlohmann::json> lookup(const std::string& name, int64_t m, int64_t n, int64_t k,
                                     Match* how, char ta, char tb) {
  load_env_once();
  const Table* t = g_table.load(std::memory_order_acquire);
  if (how) *how = Match::none;
  if (!t || t->entries.empty()) return std::nullopt;
  // Computed once: cpuid and hwloc are already cached by cpu_info(), but the strings are not.
  static const std::string fp = cpu_fingerprint(), arch = cpu_arch();
  const Entry* e = find(*t, name, fp, arch, m, n, k, how, kMaxBucketDistance, ta, tb);
  if (!e) return std::nullopt;
  return e->config;
}

Status load_profile(const std::string& path) {
  auto* t = new Table;
  if (!path.empty()) {
    std::ifstream in(path);
    if (!in) {
      delete t;
      return Status::Invalid("cannot open " + path);
    }
    std::stringstream ss;
    ss << in.rdbuf();
    nlohmann::json doc = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) {
      delete t;
      return Status::Invalid(path + ": not a JSON object");
    }
    Status s = parse_table(doc.value("tuned", nlohmann::json::array()), t);
    if (!s.ok()) {
      delete t;
      return s;
    }
  }
  g_table.store(t, std::memory_order_release);
  return Status::Ok();
}

}  // namespace perfcal::tuned

extern "C" int perfcal_load_profile(const char* path) {
  // An explicit load wins over PERFCAL_PROFILE, also when it comes first.
  perfcal::tuned::load_env_once();
  return perfcal::tuned::load_profile(path ? path : "").ok() ? 0 : -1;
}

extern "C" int perfcal_tuned_count(void) {
  perfcal::tuned::load_env_once();
  const perfcal::tuned::Table* t = perfcal::tuned::g_table.load();
  return t ? static_cast<int>(t->entries.size()) : 0;
}
