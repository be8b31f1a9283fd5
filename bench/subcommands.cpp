#include "subcommands.h"

#include <algorithm>
#include <cstdio>

#include "core/registry.h"

namespace perfcal::bench {
namespace {
CLI::App* g_list = nullptr;
}

void add_subcommands(CLI::App& app) {
  g_list = app.add_subcommand("list", "list every registered kernel variant");
}

int run_subcommands(CLI::App&) {
  if (g_list && *g_list) {
    auto v = all_variants();
    std::sort(v.begin(), v.end(), [](auto* a, auto* b) { return a->name < b->name; });
    for (const VariantInfo* i : v)
      std::printf("%-40s %-8s %-5s %s%s\n", i->name.c_str(), i->backend.c_str(), to_string(i->dtype),
                  i->baseline ? "[baseline] " : "", i->description.c_str());
    return 0;
  }
  return 2;
}

}  // namespace perfcal::bench
