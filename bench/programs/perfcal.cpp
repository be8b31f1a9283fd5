// perfcal: the command-line front end.
//   perfcal devices                 what discovery finds (CPU via hwloc + cpuid, CUDA GPUs)
//   perfcal list                    every registered variant, per family
//   perfcal validate-profile FILE   schema + semantic check of a device profile
//   perfcal tune ...                search kernel configs (tuner/cli.h)
// Bad input: one line on stderr, exit 2.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "discovery.h"
#include "profile/profile.h"
#include "subcommands.h"
#include "tuner/cli.h"

int main(int argc, char** argv) {
  CLI::App app{"perfcal: measure, tune and model what this machine delivers"};
  app.require_subcommand(1);
  auto* devices = app.add_subcommand("devices", "show the devices perfcal finds");
  bool as_json = false;
  devices->add_flag("--json", as_json, "print the profile's host and devices sections");

  auto* validate = app.add_subcommand("validate-profile", "check a profile against the schema");
  std::string file;
  validate->add_option("FILE", file, "profile JSON")->required();

  perfcal::bench::add_subcommands(app);
  perfcal::tuner::add_tune_command(app);
  // CLI11 would only say "A subcommand is required"; name the word it did not know.
  if (argc > 1 && argv[1][0] != '-') {
    std::string names;
    bool known = false;
    for (const auto* sub : app.get_subcommands({})) {
      known = known || sub->get_name() == argv[1];
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    if (!known) {
      std::fprintf(stderr, "perfcal: unknown command \"%s\" (commands: %s)\n", argv[1], names.c_str());
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "perfcal: %s\n", e.what());
    return 2;
  }
  if (*devices) {
    if (as_json)
      std::printf("%s\n", nlohmann::json{{"host", perfcal::bench::host_json()},
                                         {"devices", perfcal::bench::devices_json()}}
                              .dump(2)
                              .c_str());
    else
      std::printf("%s", perfcal::bench::describe_devices().c_str());
    return 0;
  }
  if (*validate) {
    std::string err;
    auto doc = perfcal::profile::read_json_file(file, &err);
    if (!doc) {
      std::fprintf(stderr, "perfcal: %s\n", err.c_str());
      return 2;
    }
    auto problems = perfcal::profile::validate(*doc);
    if (!problems.empty()) {
      for (const auto& p : problems) std::fprintf(stderr, "perfcal: %s: %s\n", file.c_str(), p.c_str());
      return 1;
    }
    std::printf("%s: valid perfcal.profile/1 (%zu measurements%s)\n", file.c_str(),
                (*doc)["measurements"].size(), (*doc)["partial"].get<bool>() ? ", partial" : "");
    return 0;
  }
  if (int rc = 0; perfcal::tuner::run_tune_command(&rc)) return rc;
  return perfcal::bench::run_subcommands(app);
}
