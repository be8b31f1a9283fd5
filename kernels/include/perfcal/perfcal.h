/* perfcal public C API: the umbrella header. Usable from C and C++ after
 * find_package(perfcal) and linking perfcal::kernels. Each family adds its header here. */
#ifndef PERFCAL_PERFCAL_H_
#define PERFCAL_PERFCAL_H_

#define PERFCAL_VERSION_MAJOR 0
#define PERFCAL_VERSION_MINOR 1
#define PERFCAL_VERSION_PATCH 0

#include <perfcal/gemm.h>
#include <perfcal/cuda_gemm.h>
#include <perfcal/tuning.h>

#include <perfcal/attention.h>
#include <perfcal/allreduce.h>

#endif /* PERFCAL_PERFCAL_H_ */
