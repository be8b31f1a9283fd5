// Subcommands of `perfcal` that live beside the registry: `list` (every variant of every
// family), and the hooks later parts (tune, predict, report) add themselves to.
#pragma once
#include <CLI/CLI.hpp>

namespace perfcal::bench {

void add_subcommands(CLI::App& app);
// Runs whichever added subcommand was parsed; returns the exit code.
int run_subcommands(CLI::App& app);

}  // namespace perfcal::bench
