// bench_all: probes and every registered variant of every family on every device found,
// in one process, into one device profile. See bench/bench_main.cpp for the flags.
#include "harness.h"

int main(int argc, char** argv) { return perfcal::bench::bench_main(argc, argv, "bench_all", ""); }
