// `perfcal tune`: wired into the perfcal program by bench/programs/perfcal.cpp.
//
//   perfcal tune --kernel gemm --dtype f32 --device cpu:0
//       --shapes 4096x4096x4096,512x4096x11008 --strategy model --budget 120s
//       --profile P.json --cache C.jsonl
//
// Bad input (unknown kernel/dtype/strategy/field, malformed shapes or budget, empty space,
// corrupt cache): one line on stderr, exit 2.
#pragma once
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "tuner/tune.h"
#include "tuner/tune_args.h"

namespace perfcal::tuner {

void add_tune_command(CLI::App& app);
// When `tune` was parsed: runs it, stores the exit code in *rc and returns true.
bool run_tune_command(int* rc);

// The final per-shape table.
std::string results_table(const std::vector<ShapeResult>& rs);

}  // namespace perfcal::tuner
