#include "tuner/cli.h"

#include <algorithm>
#include <cstdio>

namespace perfcal::tuner {
namespace {

struct Args {
  CLI::App* cmd = nullptr;
  TuneFlags f;
};
Args& args() {
  static Args a;
  return a;
}

}  // namespace

std::string results_table(const std::vector<ShapeResult>& rs) {
  std::string out;
  char line[512];
  // The shape column fits the longest label (attention shapes carry /causal/kvN/bwd).
  auto label = [](const ShapeResult& r) { return r.label.empty() ? r.shape.str() : r.label; };
  int w = 18;
  for (const ShapeResult& r : rs) w = std::max(w, std::min(64, int(label(r).size())));
  std::snprintf(line, sizeof line, "%-*s %-38s %-38s %9s %9s %7s %6s %8s\n", w, "shape", "default config",
                "tuned config", "GF/s def", "GF/s tun", "speedup", "evals", "searched");
  out += line;
  for (const ShapeResult& r : rs) {
    const double gd = r.default_s > 0 ? r.flops / r.default_s / 1e9 : 0;
    const double gt = r.tuned_s > 0 ? r.flops / r.tuned_s / 1e9 : 0;
    std::snprintf(line, sizeof line, "%-*s %-38s %-38s %9.1f %9.1f %6.2fx %6lld %7.2f%%\n", w,
                  label(r).c_str(), short_config(r.default_config).c_str(),
                  r.changed ? short_config(r.tuned_config).c_str() : "(default kept)", gd, gt,
                  r.speedup, (long long)r.evaluations, 100 * r.share);
    out += line;
    if (!r.changed && r.best_s > 0 && r.default_s > 0 && r.best_s < r.default_s) {
      std::snprintf(line, sizeof line, "%-*s   fastest seen %.2fx, not kept: %s (p = %.3g)\n", w, "",
                    r.default_s / r.best_s, r.reason.c_str(), r.p_value);
      out += line;
    }
  }
  bool confirmed = false;
  for (const ShapeResult& r : rs) confirmed = confirmed || r.confirmed;
  if (confirmed)
    out += "GF/s and speedups: default and fastest candidate re-measured interleaved after the search\n";
  return out;
}

void add_tune_command(CLI::App& app) {
  Args& a = args();
  a.cmd = app.add_subcommand("tune", "search kernel configs for this machine and store the best in a profile");
  add_tune_flags(a.cmd, &a.f);
}

bool run_tune_command(int* rc) {
  Args& a = args();
  if (!a.cmd || !*a.cmd) return false;
  auto fail = [&](const std::string& why) {
    std::fprintf(stderr, "perfcal tune: %s\n", why.c_str());
    *rc = 2;
    return true;
  };
  if (std::string e = finish_tune_flags(&a.f); !e.empty()) return fail(e);
  TuneOptions& o = a.f.o;
  if (!a.f.shapes_from.empty()) {
    const std::string e = o.kernel == "attention" ? parse_attention_shapes_file(a.f.shapes_from, &o.attention_shapes)
                                                  : parse_shapes_file(a.f.shapes_from, &o.shapes);
    if (!e.empty()) return fail(e);
  }
  std::vector<ShapeResult> rs;
  std::string err;
  *rc = run_tune(o, &rs, &err);
  if (*rc == 2) return fail(err);
  if (!rs.empty()) std::printf("%s", results_table(rs).c_str());
  if (!err.empty()) std::fprintf(stderr, "perfcal tune: %s\n", err.c_str());
  if (*rc == 1 && err.empty()) std::fprintf(stderr, "perfcal tune: some shapes found no passing config\n");
  if (*rc == 0 && !o.profile_path.empty() && !o.replay)
    std::printf("tuned configs written to %s\n", o.profile_path.c_str());
  return true;
}

}  // namespace perfcal::tuner
