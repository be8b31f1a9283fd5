// bench_gemm: the GEMM family alone (every gemm/* variant x problem set x threads: perfcal's
// CPU kernels beside OpenBLAS and oneDNN), verified then timed, written as a device profile
// like bench_all. For OpenBLAS's best core on this machine, run with OPENBLAS_CORETYPE set
// to it (or unset); the profile records the core it ran.
#include "harness.h"

int main(int c, char** v) { return perfcal::bench::bench_main(c, v, "bench_gemm", "gemm"); }
