// GPU probes when perfcal is built without CUDA: every probe is unsupported.
#include "core/gpu_probes.h"

#ifndef PERFCAL_HAVE_CUDA
namespace perfcal {

Status run_gpu_probe(GpuProbe, int, double*, double*) {
  return Status::Unsupported("perfcal was built without CUDA");
}

}  // namespace perfcal
#endif
