// bench_probe: only the peak FLOP/s, cache and memory bandwidth probes.
#include "harness.h"

int main(int argc, char** argv) {
  return perfcal::bench::bench_main(argc, argv, "bench_probe", "probe");
}
