/* A C program using the installed perfcal: 2x2 row-major GEMM with a known answer. */
#include <perfcal/perfcal.h>
#include <stdio.h>

int main(void) {
  const float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8};
  float c[4] = {0, 0, 0, 0};
  const float want[4] = {19, 22, 43, 50};
  if (perfcal_sgemm(PerfcalRowMajor, PerfcalNoTrans, PerfcalNoTrans, 2, 2, 2, 1.0f, a, 2, b, 2,
                    0.0f, c, 2) != 0)
    return 1;
  for (int i = 0; i < 4; ++i)
    if (c[i] != want[i]) {
      fprintf(stderr, "c[%d] = %g, want %g\n", i, c[i], want[i]);
      return 1;
    }
  printf("perfcal_sgemm from an installed perfcal: ok\n");
  return 0;
}
