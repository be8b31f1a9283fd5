// The `perfcal tune` command line and workload parsers: pure functions (no I/O except
// parse_shapes_file, no tuning), so the tests and tests/fuzz can drive them alone. Needs only
// CLI11 and nlohmann/json at link time (tests/fuzz/CMakeLists.txt compiles this file alone).
#pragma once
#include <CLI/CLI.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tuner/tune.h"

namespace perfcal::tuner {

// The `perfcal tune` flags as given on the command line.
struct TuneFlags {
  TuneOptions o;
  std::string shapes, shapes_from, budget;
  std::vector<std::string> fix;
};
// Declares every `tune` flag on `cmd`, bound to *flags.
void add_tune_flags(CLI::App* cmd, TuneFlags* flags);
// Checks --shapes (MxNxK, or attention shapes with --kernel attention), --budget, --fix and
// --min-time and fills flags->o from them. No I/O: the caller reads --shapes-from. Returns ""
// or the one-line problem.
std::string finish_tune_flags(TuneFlags* flags);
// The words after `perfcal tune` to checked flags, without I/O and without tuning (what the
// tests and tests/fuzz/fuzz_tune_args.cpp drive). Returns "" or one line; --help sets *help.
std::string parse_tune_args(const std::vector<std::string>& words, TuneFlags* out, bool* help);

// Parsers shared with the tests. Each returns "" or the one-line problem.
// A shape is MxNxK, each dimension a positive integer, each operand (MxK, KxN, MxN) at most
// kMaxOperandElements elements, so 2*M*N*K and every byte count fit in 64 bits; optionally
// /NN, /NT, /TN or /TT after it: op(A), op(B) of the column-major call (default NN).
inline constexpr int64_t kMaxOperandElements = int64_t{1} << 40;
std::string parse_shapes(const std::string& list, std::vector<Shape>* out);
// A workload file: one MxNxK[/NT] per line, `#` starts a comment. `name` prefixes the errors.
std::string parse_shapes_text(const std::string& text, const std::string& name,
                              std::vector<Shape>* out);
// Reads `path` (at most kMaxShapesFileBytes) and parses it with parse_shapes_text.
inline constexpr std::size_t kMaxShapesFileBytes = std::size_t{1} << 20;
std::string parse_shapes_file(const std::string& path, std::vector<Shape>* out);
// An attention shape (--kernel attention): BxHxSxD[/causal][/kvN][/fwd|/bwd] -- batch, heads,
// seq (seq_q = seq_kv), head_dim, then optional words in any order, each at most once:
// `causal` (bottom-right aligned mask), `kvN` (grouped-query: N key/value heads, N divides
// H), `fwd` (the default) or `bwd` (the backward pass). Each of Q and K/V at most
// kMaxOperandElements elements, and B*H*S*S*D at most 2^62 (the FLOP count fits 64 bits).
std::string parse_attention_shapes(const std::string& list, std::vector<AttentionShape>* out);
// One attention shape per line, `#` comments, as parse_shapes_text.
std::string parse_attention_shapes_text(const std::string& text, const std::string& name,
                                        std::vector<AttentionShape>* out);
std::string parse_attention_shapes_file(const std::string& path, std::vector<AttentionShape>* out);
// "120s", "2m", "1h" (seconds per shape) or "40e" / "40evals" (evaluations per shape).
std::string parse_budget(const std::string& text, Budget* out);
// "threads=1|2" -> ("threads", [1, 2]); values parse as JSON, bare words as strings.
std::string parse_fix(const std::string& text, std::string* field, std::vector<Json>* values);

}  // namespace perfcal::tuner
