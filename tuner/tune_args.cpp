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
  const std::string full = trim(text);
  // Transposes: "/NN", "/NT", "/TN" or "/TT" after the dimensions.
  const auto slash = full.find('/');
  const std::string s = full.substr(0, slash);
  if (slash != std::string::npos) {
    const std::string t = full.substr(slash + 1);
    if (t.size() != 2 || (t[0] != 'N' && t[0] != 'T') || (t[1] != 'N' && t[1] != 'T'))
      return "bad transposes in shape \"" + full + "\" (want MxNxK/NN, /NT, /TN or /TT: op(A), op(B))";
    out->ta = t[0], out->tb = t[1];
  }
  const auto x1 = s.find('x');
  const auto x2 = x1 == std::string::npos ? x1 : s.find('x', x1 + 1);
  if (x2 == std::string::npos || s.find('x', x2 + 1) != std::string::npos ||
      !parse_dim(s.substr(0, x1), &out->m) || !parse_dim(s.substr(x1 + 1, x2 - x1 - 1), &out->n) ||
      !parse_dim(s.substr(x2 + 1), &out->k))
    return "bad shape \"" + full + "\" (want MxNxK[/NT] with positive integers, e.g. 512x4096x11008)";
  // Each operand must be addressable: with all three within the bound, M*N*K <= 2^60 and the
  // FLOP and byte counts downstream cannot overflow 64 bits.
  if (!operand_fits(out->m, out->k) || !operand_fits(out->k, out->n) || !operand_fits(out->m, out->n))
    return "shape \"" + full + "\" too large (each of MxK, KxN and MxN must be at most 2^40 elements)";
  return "";
}

constexpr const char* kAttentionForm = "BxHxSxD[/causal][/kvN][/fwd|/bwd], e.g. 1x8x2048x128/causal/kv2";

std::string parse_attention_shape(const std::string& text, AttentionShape* out) {
  const std::string s = trim(text);
  const std::string bad = "bad attention shape \"" + s + "\" (want " + kAttentionForm + ")";
  const auto slash = s.find('/');
  const std::string dims = s.substr(0, slash);
  int64_t d[4];
  std::size_t at = 0;
  for (int i = 0; i < 4; ++i) {
    const auto x = i < 3 ? dims.find('x', at) : dims.size();
    if (x == std::string::npos || !parse_dim(dims.substr(at, x - at), &d[i])) return bad;
    at = x + 1;
  }
  if (at != dims.size() + 1) return bad;  // a fifth dimension
  AttentionShape a;
  a.batch = d[0], a.heads = d[1], a.seq = d[2], a.head_dim = d[3], a.kv_heads = a.heads;
  bool seen_mask = false, seen_kv = false, seen_pass = false;
  for (std::size_t pos = slash; pos != std::string::npos;) {
    const auto next = s.find('/', pos + 1);
    const std::string w = s.substr(pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1);
    pos = next;
    bool* seen = nullptr;
    if (w == "causal") {
      seen = &seen_mask;
      a.causal = true;
    } else if (w == "fwd" || w == "bwd") {
      seen = &seen_pass;
      a.backward = w == "bwd";
    } else if (w.size() > 2 && w.compare(0, 2, "kv") == 0 && parse_dim(w.substr(2), &a.kv_heads)) {
      seen = &seen_kv;
    } else {
      return bad;
    }
    if (*seen) return "attention shape \"" + s + "\" gives \"" + w + "\" or its alternative twice";
    *seen = true;
  }
  if (a.kv_heads > a.heads || a.heads % a.kv_heads != 0)
    return "attention shape \"" + s + "\": kv heads (" + std::to_string(a.kv_heads) +
           ") must divide heads (" + std::to_string(a.heads) + ")";
  // Q/O (B*H*S x D) and K/V (B*kvH*S x D) addressable, and 4*B*H*S*S*D (the FLOP count,
  // 2.5x that backward) far from overflowing 64 bits.
  int64_t bh = 0, bhs = 0, bhss = 0, flop = 0;
  if (__builtin_mul_overflow(a.batch, a.heads, &bh) || __builtin_mul_overflow(bh, a.seq, &bhs) ||
      !operand_fits(bhs, a.head_dim) || __builtin_mul_overflow(bhs, a.seq, &bhss) ||
      __builtin_mul_overflow(bhss, a.head_dim, &flop) || flop > (int64_t{1} << 62))
    return "attention shape \"" + s + "\" too large (B*H*S*D at most 2^40, B*H*S*S*D at most 2^62)";
  *out = a;
  return "";
}

// One item per line of `text` (`#` comments, blank lines skipped), `name:line: ` on errors.
template <class T, class Parse>
std::string parse_lines(const std::string& text, const std::string& name, std::vector<T>* out,
                        Parse parse) {
  std::stringstream in(text);
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    T s;
    if (std::string e = parse(line, &s); !e.empty()) return name + ":" + std::to_string(n) + ": " + e;
    out->push_back(s);
  }
  return "";
}

// Reads `path` (at most kMaxShapesFileBytes) into *text; "" or the problem.
std::string read_shapes_file(const std::string& path, std::string* text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "cannot read shapes file " + path;
  // Read at most one byte past the limit: a workload is a few lines, and a device such as
  // /dev/zero must end in an error, not exhaust memory.
  text->assign(kMaxShapesFileBytes + 1, '\0');
  in.read(text->data(), static_cast<std::streamsize>(text->size()));
  if (in.bad()) return "cannot read shapes file " + path;
  text->resize(static_cast<std::size_t>(in.gcount()));
  if (text->size() > kMaxShapesFileBytes)
    return "shapes file " + path + " is larger than " + std::to_string(kMaxShapesFileBytes >> 20) + " MiB";
  return "";
}

}  // namespace

std::string parse_attention_shapes(const std::string& list, std::vector<AttentionShape>* out) {
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    AttentionShape s;
    if (std::string e = parse_attention_shape(item, &s); !e.empty()) return e;
    out->push_back(s);
  }
  return "";
}

std::string parse_attention_shapes_text(const std::string& text, const std::string& name,
                                        std::vector<AttentionShape>* out) {
  return parse_lines(text, name, out, parse_attention_shape);
}

std::string parse_attention_shapes_file(const std::string& path, std::vector<AttentionShape>* out) {
  std::string text;
  if (std::string e = read_shapes_file(path, &text); !e.empty()) return e;
  return parse_attention_shapes_text(text, path, out);
}

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
  return parse_lines(text, name, out, parse_shape);
}

std::string parse_shapes_file(const std::string& path, std::vector<Shape>* out) {
  std::string text;
  if (std::string e = read_shapes_file(path, &text); !e.empty()) return e;
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
  cmd->add_option("--kernel", f->o.kernel, "kernel family (gemm, attention)");
  cmd->add_option("--dtype", f->o.dtype, "element type (f32, bf16)");
  cmd->add_option("--device", f->o.device, "device (cpu:0)");
  cmd->add_option("--variant", f->o.variant, "registry name (default: the best tunable one for the dtype)");
  cmd->add_option("--shapes", f->shapes,
                  "comma list of shapes: gemm MxNxK[/NT]; attention BxHxSxD[/causal][/kvN][/fwd|/bwd]");
  cmd->add_option("--shapes-from", f->shapes_from, "file with one shape per line (# comments)");
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
  cmd->footer(
      "Attention shapes: batch x heads x seq x head_dim (seq_q = seq_kv), then optional /causal\n"
      "(bottom-right mask), /kvN (grouped-query, N key/value heads dividing the heads) and /fwd or\n"
      "/bwd (default fwd). The variant tuned is attention/cpu/flash/<pass>/<dtype>. Example:\n"
      "  perfcal tune --kernel attention --dtype f32 --shapes 1x8x2048x128,1x32x2048x128/causal/kv8/bwd \\\n"
      "      --strategy model --budget 60s --profile P.json --cache attention.jsonl");
}

std::string finish_tune_flags(TuneFlags* f) {
  // CLI::Range lets NaN through (every comparison with it is false).
  if (!(f->o.timing.min_time >= 0 && f->o.timing.min_time <= 10))
    return "bad --min-time (want seconds in [0, 10])";
  if (!f->shapes.empty()) {
    const std::string e = f->o.kernel == "attention" ? parse_attention_shapes(f->shapes, &f->o.attention_shapes)
                                                     : parse_shapes(f->shapes, &f->o.shapes);
    if (!e.empty()) return e;
  }
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
