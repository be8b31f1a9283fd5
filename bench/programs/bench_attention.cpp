// bench_attention: the attention family alone (every attention/cpu/* variant x problem set x
// threads), verified then timed, written as a device profile like bench_all.
#include "harness.h"

int main(int c, char** v) {
  return perfcal::bench::bench_main(c, v, "bench_attention", "attention");
}
