// `perfcal tune`: wired into the perfcal program by bench/programs/perfcal.cpp.
//
//   perfcal tune --kernel gemm --dtype f32 --device cpu:0 \
//       --shapes 4096x4096x4096,512x4096x11008 --strategy model --budget 120s \
//       --profile P.json --cache C.jsonl
//
// Bad input (unknown kernel/dtype/strategy/field, malformed shapes or budget, empty space,
// corrupt cache): one line on stderr, exit 2.
#pragma once
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "tuner/tune.h"

namespace perfcal::tuner {

void add_tune_command(CLI::App& app);
// When `tune` was parsed: runs it, stores the exit code in *rc and returns true.
bool run_tune_command(int* rc);

// Parsers shared with the tests. Each returns "" or the one-line problem.
std::string parse_shapes(const std::string& list, std::vector<Shape>* out);
std::string parse_shapes_file(const std::string& path, std::vector<Shape>* out);
// "120s", "2m", "1h" (seconds per shape) or "40e" / "40evals" (evaluations per shape).
std::string parse_budget(const std::string& text, Budget* out);
// "threads=1|2" -> ("threads", [1, 2]); values parse as JSON, bare words as strings.
std::string parse_fix(const std::string& text, std::string* field, std::vector<Json>* values);

// The final per-shape table.
std::string results_table(const std::vector<ShapeResult>& rs);

}  // namespace perfcal::tuner
