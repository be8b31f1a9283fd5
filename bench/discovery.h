// Turns what kernels/core discovered (CPU via hwloc + cpuid, GPUs via the CUDA runtime) and
// what the process runs with (library versions, environment, noise sources) into the
// profile's host / devices / software / environment sections.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace perfcal::bench {

using Json = nlohmann::json;

Json host_json();      // hostname, kernel, cpu {model, cores, caches, features, ...}
Json devices_json();   // [{"id":"cpu:0",...}, {"id":"cuda:0",...}]; always has cpu:0
Json software_json();  // compiler, OpenBLAS + core, oneDNN, MPI, hwloc, CUDA, Google Benchmark
Json environment_json();  // OPENBLAS_*, OMP_*, ... plus governor, turbo, load at start
std::string openblas_core();
std::string git_revision();  // of the build ("-dirty": uncommitted changes); "unknown" outside a checkout

// Human-readable `perfcal devices` output.
std::string describe_devices();

}  // namespace perfcal::bench
