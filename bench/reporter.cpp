#include "reporter.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

namespace perfcal::bench {

using profile::Measurement;
using profile::TimeStats;

void ProfileReporter::ReportRuns(const std::vector<Run>& runs) {
  std::map<std::string, std::vector<const Run*>> groups;
  std::vector<std::string> order;
  for (const Run& r : runs) {
    if (r.run_type == Run::RT_Aggregate) continue;
    const std::string& key = r.run_name.function_name;
    if (!groups.count(key)) order.push_back(key);
    groups[key].push_back(&r);
  }
  for (const auto& k : order) finish(k, groups[k]);
}

void ProfileReporter::finish(const std::string& bench_name, const std::vector<const Run*>& reps) {
  Record* rec = session_->find(bench_name);
  if (!rec) return;
  if (rec->outcome == "interrupted") return;  // skipped by a signal: not a result
  Measurement m;
  m.name = rec->name;
  m.device = rec->device;
  m.dtype = rec->dtype;
  m.threads = rec->threads;
  m.problem = rec->problem;
  m.config = rec->config;
  m.outcome = rec->outcome;
  m.verified = rec->verified;
  m.max_rel_error = rec->max_rel_error;
  m.error = rec->error;
  m.extra = rec->extra;
  m.extra["benchmark"] = bench_name;

  std::vector<double> t;
  for (const Run* r : reps) {
    if (r->error_occurred) {
      if (m.outcome == "passed" || m.outcome == "not_run") m.outcome = "failed";
      if (m.error.empty()) m.error = r->error_message;
      m.verified = m.verified && m.outcome == "passed";
      continue;
    }
    if (r->iterations > 0) t.push_back(r->real_accumulated_time / double(r->iterations));
  }
  if (m.outcome != "passed") m.verified = false;
  if (m.outcome == "passed" && !t.empty()) {
    const TimeStats s = time_stats(t);
    if (s.min > 0) {
      m.time_s = s;
      m.noisy = s.cv > kNoisyCv;
      if (rec->flops > 0) m.gflops = rec->flops / s.median / 1e9;
      if (rec->bytes > 0) m.gbps = rec->bytes / s.median / 1e9;
      if (m.gflops && m.name.rfind("probe/", 0) != 0) {
        double peak = peak_gflops(*prof_, m.device, m.dtype, m.threads);
        if (peak > 0) m.extra["percent_of_peak"] = 100.0 * *m.gflops / peak;
      }
    } else {
      m.outcome = "failed";
      m.verified = false;
      m.error = "zero time measured";
    }
  } else if (m.outcome == "passed") {
    m.outcome = "failed";
    m.verified = false;
    m.error = "no timed repetitions";
  }

  // Replace an earlier entry of the same benchmark (a resumed run re-measuring it).
  auto& ms = prof_->measurements;
  ms.erase(std::remove_if(ms.begin(), ms.end(), [&](const Measurement& x) {
             return x.extra.value("benchmark", std::string()) == bench_name && x.device == m.device;
           }), ms.end());
  ms.push_back(m);
  ++done_;

  char rate[64] = "";
  if (m.gflops) std::snprintf(rate, sizeof rate, "%.1f GFLOP/s", *m.gflops);
  else if (m.gbps) std::snprintf(rate, sizeof rate, "%.1f GB/s", *m.gbps);
  std::string extra;
  if (m.extra.contains("percent_of_peak"))
    extra = " (" + std::to_string(static_cast<int>(m.extra["percent_of_peak"].get<double>() + 0.5)) + "% of peak)";
  if (m.noisy) extra += " noisy";
  if (m.outcome != "passed") extra = " " + m.outcome + ": " + m.error;
  std::fprintf(stdout, "[%d/%d] %s %s%s\n", done_, total_, bench_name.c_str(), rate, extra.c_str());
  std::fflush(stdout);
  std::string err = flush();
  if (!err.empty() && write_error_.empty()) {
    write_error_ = err;
    std::fprintf(stderr, "perfcal: cannot write profile: %s\n", err.c_str());
  }
}

std::string ProfileReporter::flush() {
  if (out_.empty()) return "";
  return profile::save(out_, *prof_);
}

double peak_gflops(const profile::Profile& p, const std::string& device, const std::string& dtype,
                   int threads) {
  // A bf16 kernel may widen to f32 and use plain FMAs, which on some cores (this Xeon:
  // vdpbf16ps at half the f32 FMA rate) is the faster path: its ceiling is the larger.
  double best = dtype == "bf16" ? peak_gflops(p, device, "f32", threads) : 0;
  for (const auto& m : p.measurements)
    if (m.device == device && m.dtype == dtype && m.threads == threads && m.gflops &&
        m.name.rfind("probe/", 0) == 0 &&
        (m.name.find("/fma/") != std::string::npos || m.name.find("/mma/") != std::string::npos))
      best = std::max(best, *m.gflops);
  return best;
}

namespace {

std::string family_of(const std::string& name) { return name.substr(0, name.find('/')); }

bool is_baseline(const std::string& name) {
  for (const char* b : {"/openblas/", "/onednn/", "/composed/", "/mpi_allreduce/", "/cublas", "/nccl/"})
    if (name.find(b) != std::string::npos) return true;
  return false;
}

std::string fmt(double v, int prec = 1) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

}  // namespace

std::string summary_text(const profile::Profile& p, profile::Json* sj) {
  std::ostringstream o;
  *sj = profile::Json::object();
  for (const auto& dev : p.devices) {
    const std::string id = dev["id"];
    profile::Json dj = {{"peaks", profile::Json::array()}, {"best", profile::Json::array()}};
    o << "\n== " << id << "  " << dev["name"].get<std::string>() << " ==\n";
    double mhz = p.host["cpu"].value("nominal_mhz", 0.0);
    o << "Peaks (probes, best ISA):\n";
    std::map<std::pair<std::string, int>, const Measurement*> peaks;
    for (const auto& m : p.measurements) {
      if (m.device != id || m.name.rfind("probe/", 0) != 0 || m.outcome != "passed") continue;
      std::string key = m.name;
      if (m.problem.contains("level")) key += " " + m.problem["level"].get<std::string>();
      auto& slot = peaks[{key, m.threads}];
      double v = m.gflops ? *m.gflops : m.gbps.value_or(0);
      double cur = slot ? (slot->gflops ? *slot->gflops : slot->gbps.value_or(0)) : -1;
      if (v > cur) slot = &m;
    }
    for (const auto& [k, m] : peaks) {
      o << "  " << k.first << "  threads " << k.second << ": ";
      profile::Json pj = {{"probe", k.first}, {"threads", k.second}};
      if (m->gflops) {
        o << fmt(*m->gflops) << " GFLOP/s";
        pj["gflops"] = *m->gflops;
        if (mhz > 0) {
          double fpc = *m->gflops * 1e3 / mhz / k.second;
          o << "  (" << fmt(fpc) << " FLOP/cycle/core at nominal " << fmt(mhz, 0) << " MHz)";
          pj["flop_per_cycle_per_core_at_nominal"] = fpc;
        }
        o << "  [" << m->problem.value("isa", "") << "]";
      } else {
        o << fmt(*m->gbps) << " GB/s";
        pj["gbps"] = *m->gbps;
      }
      o << "\n";
      dj["peaks"].push_back(pj);
    }
    // Best of perfcal's own variants vs best baseline per (family, dtype, threads, problem).
    struct Best { const Measurement* own = nullptr; const Measurement* base = nullptr; };
    std::map<std::string, Best> best;
    for (const auto& m : p.measurements) {
      if (m.device != id || m.name.rfind("probe/", 0) == 0 || m.outcome != "passed") continue;
      if (!m.gflops && !m.gbps) continue;  // nothing to compare (e.g. the selftest family)
      std::string key = family_of(m.name) + " " + m.dtype + " threads:" + std::to_string(m.threads) +
                        " " + m.extra.value("benchmark", std::string()).substr(m.name.size());
      auto rate = [](const Measurement* x) { return x ? (x->gflops ? *x->gflops : x->gbps.value_or(0)) : -1; };
      Best& b = best[key];
      if (is_baseline(m.name)) { if (rate(&m) > rate(b.base)) b.base = &m; }
      else if (rate(&m) > rate(b.own)) b.own = &m;
    }
    if (!best.empty()) o << "Best per problem (perfcal vs best baseline):\n";
    for (const auto& [k, b] : best) {
      auto rate = [](const Measurement* x) { return x->gflops ? *x->gflops : x->gbps.value_or(0); };
      const char* unit = (b.own ? b.own : b.base)->gflops ? "GFLOP/s" : "GB/s";
      o << "  " << k << ": ";
      profile::Json bj = {{"problem", k}};
      if (b.own) {
        o << b.own->name << " " << fmt(rate(b.own)) << " " << unit;
        if (b.own->extra.contains("percent_of_peak"))
          o << " (" << fmt(b.own->extra["percent_of_peak"].get<double>(), 0) << "% of peak)";
        bj["perfcal"] = b.own->name;
        bj["perfcal_rate"] = rate(b.own);
      }
      if (b.base) {
        o << (b.own ? "  vs " : "") << b.base->name << " " << fmt(rate(b.base)) << " " << unit;
        bj["baseline"] = b.base->name;
        bj["baseline_rate"] = rate(b.base);
      }
      if (b.own && b.base) {
        o << "  ratio " << fmt(rate(b.own) / rate(b.base), 2) << "x";
        bj["ratio"] = rate(b.own) / rate(b.base);
      }
      o << "\n";
      dj["best"].push_back(bj);
    }
    int bad = 0;
    for (const auto& m : p.measurements)
      if (m.device == id && m.outcome != "passed") ++bad;
    if (bad) o << bad << " result(s) did not pass (see \"outcome\" in the profile)\n";
    (*sj)[id] = dj;
  }
  return o.str();
}

}  // namespace perfcal::bench
