#include "tuner/cli.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace perfcal::tuner {
namespace {

struct Args {
  CLI::App* cmd = nullptr;
  TuneOptions o;
  std::string shapes, shapes_from, budget;
  std::vector<std::string> fix;
};
Args& args() {
  static Args a;
  return a;
}

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

bool parse_dim(const std::string& s, int64_t* out) {
  if (s.empty() || s.size() > 12 || s.find_first_not_of("0123456789") != std::string::npos) return false;
  *out = std::stoll(s);
  return *out > 0;
}

std::string parse_shape(const std::string& text, Shape* out) {
  const std::string s = trim(text);
  const auto x1 = s.find('x');
  const auto x2 = x1 == std::string::npos ? x1 : s.find('x', x1 + 1);
  if (x2 == std::string::npos || s.find('x', x2 + 1) != std::string::npos ||
      !parse_dim(s.substr(0, x1), &out->m) || !parse_dim(s.substr(x1 + 1, x2 - x1 - 1), &out->n) ||
      !parse_dim(s.substr(x2 + 1), &out->k))
    return "bad shape \"" + s + "\" (want MxNxK with positive integers, e.g. 512x4096x11008)";
  return "";
}

}  // namespace

std::string parse_shapes(const std::string& list, std::vector<Shape>* out) {
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    Shape s;
    if (std::string e = parse_shape(item, &s); !e.empty()) return e;
    out->push_back(s);
  }
  return "";
}

std::string parse_shapes_file(const std::string& path, std::vector<Shape>* out) {
  std::ifstream in(path);
  if (!in) return "cannot read shapes file " + path;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    Shape s;
    if (std::string e = parse_shape(line, &s); !e.empty()) return path + ":" + std::to_string(n) + ": " + e;
    out->push_back(s);
  }
  return "";
}

std::string parse_budget(const std::string& text, Budget* out) {
  const std::string t = trim(text);
  const auto unit_at = t.find_first_not_of("0123456789.");
  const std::string num = t.substr(0, unit_at), unit = unit_at == std::string::npos ? "" : t.substr(unit_at);
  double v = 0;
  try {
    std::size_t used = 0;
    v = num.empty() ? -1 : std::stod(num, &used);
    if (used != num.size()) v = -1;
  } catch (const std::exception&) {
    v = -1;
  }
  const std::string bad = "bad budget \"" + t + "\" (want e.g. 120s, 5m, 1h or 40e for 40 evaluations)";
  if (!(v >= 0) || !std::isfinite(v)) return bad;
  if (v == 0) return "the budget must be positive (got \"" + t + "\")";
  if (unit == "s" || unit.empty()) out->max_seconds = v;
  else if (unit == "m") out->max_seconds = v * 60;
  else if (unit == "h") out->max_seconds = v * 3600;
  else if (unit == "e" || unit == "evals") {
    if (v != std::floor(v)) return bad;
    out->max_evaluations = static_cast<int64_t>(v);
  } else return bad;
  return "";
}

std::string parse_fix(const std::string& text, std::string* field, std::vector<Json>* values) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    return "bad --fix \"" + text + "\" (want FIELD=V1|V2, e.g. threads=1)";
  *field = text.substr(0, eq);
  std::stringstream ss(text.substr(eq + 1));
  std::string v;
  while (std::getline(ss, v, '|')) {
    Json j = Json::parse(v, nullptr, false);
    values->push_back(j.is_discarded() ? Json(v) : j);
  }
  return "";
}

std::string results_table(const std::vector<ShapeResult>& rs) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-18s %-38s %-38s %9s %9s %7s %6s %8s\n", "shape", "default config",
                "tuned config", "GF/s def", "GF/s tun", "speedup", "evals", "searched");
  out += line;
  for (const ShapeResult& r : rs) {
    const double gd = r.default_s > 0 ? r.flops / r.default_s / 1e9 : 0;
    const double gt = r.tuned_s > 0 ? r.flops / r.tuned_s / 1e9 : 0;
    std::snprintf(line, sizeof line, "%-18s %-38s %-38s %9.1f %9.1f %6.2fx %6lld %7.2f%%\n",
                  r.shape.str().c_str(), short_config(r.default_config).c_str(),
                  r.changed ? short_config(r.tuned_config).c_str() : "(default kept)", gd, gt,
                  r.speedup, (long long)r.evaluations, 100 * r.share);
    out += line;
    if (!r.changed && r.best_s > 0 && r.default_s > 0 && r.best_s < r.default_s) {
      std::snprintf(line, sizeof line, "%-18s   fastest seen %.2fx, not kept: %s (p = %.3g)\n", "",
                    r.default_s / r.best_s, r.reason.c_str(), r.p_value);
      out += line;
    }
  }
  return out;
}

void add_tune_command(CLI::App& app) {
  Args& a = args();
  a.cmd = app.add_subcommand("tune", "search kernel configs for this machine and store the best in a profile");
  a.cmd->add_option("--kernel", a.o.kernel, "kernel family (gemm)");
  a.cmd->add_option("--dtype", a.o.dtype, "element type (f32, bf16)");
  a.cmd->add_option("--device", a.o.device, "device (cpu:0)");
  a.cmd->add_option("--variant", a.o.variant, "registry name (default: the best tunable one for the dtype)");
  a.cmd->add_option("--shapes", a.shapes, "comma list of MxNxK");
  a.cmd->add_option("--shapes-from", a.shapes_from, "file with one MxNxK per line (# comments)");
  a.cmd->add_option("--strategy", a.o.strategy, "exhaustive, random, annealing or model");
  a.cmd->add_option("--budget", a.budget, "per shape: seconds (120s, 5m) or evaluations (40e)")->required();
  a.cmd->add_option("--profile", a.o.profile_path, "profile to add the tuned configs to (created if missing)");
  a.cmd->add_option("--cache", a.o.cache_path, "tuning cache (JSON Lines): reused and appended to");
  a.cmd->add_flag("--replay", a.o.replay, "serve every evaluation from --cache (no hardware)");
  a.cmd->add_option("--fix", a.fix, "pin a field: FIELD=V1|V2 (repeatable)");
  a.cmd->add_option("--seed", a.o.seed, "seed of the random strategies");
  a.cmd->add_option("--repetitions", a.o.timing.repetitions, "timed repetitions per candidate (>= 5)")
      ->check(CLI::Range(5, 1000));
  a.cmd->add_option("--min-time", a.o.timing.min_time, "seconds per repetition")->check(CLI::Range(0.0, 10.0));
}

bool run_tune_command(int* rc) {
  Args& a = args();
  if (!a.cmd || !*a.cmd) return false;
  auto fail = [&](const std::string& why) {
    std::fprintf(stderr, "perfcal tune: %s\n", why.c_str());
    *rc = 2;
    return true;
  };
  if (!a.shapes.empty())
    if (std::string e = parse_shapes(a.shapes, &a.o.shapes); !e.empty()) return fail(e);
  if (!a.shapes_from.empty())
    if (std::string e = parse_shapes_file(a.shapes_from, &a.o.shapes); !e.empty()) return fail(e);
  if (std::string e = parse_budget(a.budget, &a.o.budget); !e.empty()) return fail(e);
  for (const auto& f : a.fix) {
    std::string field;
    std::vector<Json> vals;
    if (std::string e = parse_fix(f, &field, &vals); !e.empty()) return fail(e);
    a.o.fixed[field] = vals;
  }
  std::vector<ShapeResult> rs;
  std::string err;
  *rc = run_tune(a.o, &rs, &err);
  if (*rc == 2) return fail(err);
  if (!rs.empty()) std::printf("%s", results_table(rs).c_str());
  if (!err.empty()) std::fprintf(stderr, "perfcal tune: %s\n", err.c_str());
  if (*rc == 1 && err.empty()) std::fprintf(stderr, "perfcal tune: some shapes found no passing config\n");
  if (*rc == 0 && !a.o.profile_path.empty() && !a.o.replay)
    std::printf("tuned configs written to %s\n", a.o.profile_path.c_str());
  return true;
}

}  // namespace perfcal::tuner
