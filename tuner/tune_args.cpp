// The `perfcal tune` command line, parsed without I/O or tuning (tuner/tune_args.h).
#include "tuner/tune_args.h"

#include <cmath>
#include <fstream>
#include <sstream>

namespace perfcal::tuner {
namespace {

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

// Bounds a product of two positive dimensions: false when it exceeds kMaxOperandElements.
bool operand_fits(int64_t a, int64_t b) {
  int64_t p = 0;
  return !__builtin_mul_overflow(a, b, &p) && p <= kMaxOperandElements;
}

std::string parse_shape(const std::string& text, Shape* out) {
  const std::string s = trim(text);
  const auto x1 = s.find('x');
  const auto x2 = x1 == std::string::npos ? x1 : s.find('x', x1 + 1);
  if (x2 == std::string::npos || s.find('x', x2 + 1) != std::string::npos ||
      !parse_dim(s.substr(0, x1), &out->m) || !parse_dim(s.substr(x1 + 1, x2 - x1 - 1), &out->n) ||
      !parse_dim(s.substr(x2 + 1), &out->k))
    return "bad shape \"" + s + "\" (want MxNxK with positive integers, e.g. 512x4096x11008)";
  // Each operand must be addressable: with all three within the bound, M*N*K <= 2^60 and the
  // FLOP and byte counts downstream cannot overflow 64 bits.
  if (!operand_fits(out->m, out->k) || !operand_fits(out->k, out->n) || !operand_fits(out->m, out->n))
    return "shape \"" + s + "\" too large (each of MxK, KxN and MxN must be at most 2^40 elements)";
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

std::string parse_shapes_text(const std::string& text, const std::string& name, std::vector<Shape>* out) {
  std::stringstream in(text);
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    Shape s;
    if (std::string e = parse_shape(line, &s); !e.empty()) return name + ":" + std::to_string(n) + ": " + e;
    out->push_back(s);
  }
  return "";
}

std::string parse_shapes_file(const std::string& path, std::vector<Shape>* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "cannot read shapes file " + path;
  // Read at most one byte past the limit: a workload is a few lines, and a device such as
  // /dev/zero must end in an error, not exhaust memory.
  std::string text(kMaxShapesFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return "cannot read shapes file " + path;
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxShapesFileBytes)
    return "shapes file " + path + " is larger than " + std::to_string(kMaxShapesFileBytes >> 20) + " MiB";
  return parse_shapes_text(text, path, out);
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
  // Upper bounds: a number too large to mean anything would overflow the conversion to
  // seconds or to an evaluation count.
  constexpr double kMaxSeconds = 366.0 * 24 * 3600, kMaxEvaluations = 1e12;
  const std::string too_large = "budget \"" + t + "\" too large (at most 366 days or 1e12 evaluations)";
  double seconds = 0;
  if (unit == "s" || unit.empty()) seconds = v;
  else if (unit == "m") seconds = v * 60;
  else if (unit == "h") seconds = v * 3600;
  else if (unit == "e" || unit == "evals") {
    if (v != std::floor(v)) return bad;
    if (v > kMaxEvaluations) return too_large;
    out->max_evaluations = static_cast<int64_t>(v);
    return "";
  } else return bad;
  if (!(seconds <= kMaxSeconds)) return too_large;
  out->max_seconds = seconds;
  return "";
}

std::string parse_fix(const std::string& text, std::string* field, std::vector<Json>* values) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    return "bad --fix \"" + text + "\" (want FIELD=V1|V2, e.g. threads=1)";
  *field = text.substr(0, eq);
  // Field names and bare words become JSON strings, which must be valid UTF-8 to be written
  // to the cache and the profile later.
  auto utf8 = [](const std::string& w) {
    try {
      (void)Json(w).dump();
      return true;
    } catch (const Json::exception&) {
      return false;
    }
  };
  if (!utf8(*field)) return "bad --fix \"" + text + "\" (not valid UTF-8)";
  std::stringstream ss(text.substr(eq + 1));
  std::string v;
  while (std::getline(ss, v, '|')) {
    // A value is a config scalar (number, bool or word); anything structured is refused,
    // which also keeps untrusted nesting out of the parser.
    Json j = Json::parse(v, nullptr, false);
    if (!j.is_discarded() && j.is_structured())
      return "bad --fix \"" + text + "\" (values are numbers or words, not \"" + v + "\")";
    if (j.is_discarded() && !utf8(v)) return "bad --fix \"" + text + "\" (not valid UTF-8)";
    values->push_back(j.is_discarded() ? Json(v) : j);
  }
  return "";
}

void add_tune_flags(CLI::App* cmd, TuneFlags* f) {
  cmd->add_option("--kernel", f->o.kernel, "kernel family (gemm)");
  cmd->add_option("--dtype", f->o.dtype, "element type (f32, bf16)");
  cmd->add_option("--device", f->o.device, "device (cpu:0)");
  cmd->add_option("--variant", f->o.variant, "registry name (default: the best tunable one for the dtype)");
  cmd->add_option("--shapes", f->shapes, "comma list of MxNxK");
  cmd->add_option("--shapes-from", f->shapes_from, "file with one MxNxK per line (# comments)");
  cmd->add_option("--strategy", f->o.strategy, "exhaustive, random, annealing or model");
  cmd->add_option("--budget", f->budget, "per shape: seconds (120s, 5m) or evaluations (40e)")->required();
  cmd->add_option("--profile", f->o.profile_path, "profile to add the tuned configs to (created if missing)");
  cmd->add_option("--cache", f->o.cache_path, "tuning cache (JSON Lines): reused and appended to");
  cmd->add_flag("--replay", f->o.replay, "serve every evaluation from --cache (no hardware)");
  cmd->add_option("--fix", f->fix, "pin a field: FIELD=V1|V2 (repeatable)");
  cmd->add_option("--seed", f->o.seed, "seed of the random strategies");
  cmd->add_option("--repetitions", f->o.timing.repetitions, "timed repetitions per candidate (>= 5)")
      ->check(CLI::Range(5, 1000));
  cmd->add_option("--min-time", f->o.timing.min_time, "seconds per repetition")->check(CLI::Range(0.0, 10.0));
}

std::string finish_tune_flags(TuneFlags* f) {
  // CLI::Range lets NaN through (every comparison with it is false).
  if (!(f->o.timing.min_time >= 0 && f->o.timing.min_time <= 10))
    return "bad --min-time (want seconds in [0, 10])";
  if (!f->shapes.empty())
    if (std::string e = parse_shapes(f->shapes, &f->o.shapes); !e.empty()) return e;
  if (std::string e = parse_budget(f->budget, &f->o.budget); !e.empty()) return e;
  for (const auto& text : f->fix) {
    std::string field;
    std::vector<Json> vals;
    if (std::string e = parse_fix(text, &field, &vals); !e.empty()) return e;
    f->o.fixed[field] = vals;
  }
  return "";
}

std::string parse_tune_args(const std::vector<std::string>& words, TuneFlags* out, bool* help) {
  CLI::App cmd{"perfcal tune", "tune"};
  add_tune_flags(&cmd, out);
  std::vector<std::string> reversed(words.rbegin(), words.rend());  // CLI11 pops from the back
  try {
    cmd.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    *help = true;
    return cmd.help();
  } catch (const CLI::ParseError& e) {
    return e.what();
  }
  return finish_tune_flags(out);
}

}  // namespace perfcal::tuner
