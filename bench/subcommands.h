// Subcommands of `perfcal` that live beside the registry: `list` (every variant of every
// family). Parts above bench (the tuner's `tune`) are wired in by the perfcal program itself,
// so dependencies keep running one way: program -> tuner -> bench -> kernels.
#pragma once
#include <CLI/CLI.hpp>

namespace perfcal::bench {

void add_subcommands(CLI::App& app);
// Runs whichever added subcommand was parsed; returns the exit code.
int run_subcommands(CLI::App& app);

}  // namespace perfcal::bench
