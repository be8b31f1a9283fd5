#include "core/gpu_info.h"

#ifdef PERFCAL_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace perfcal {

bool cuda_compiled() {
#ifdef PERFCAL_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

std::vector<GpuInfo> gpu_devices(std::string* why_none) {
  std::vector<GpuInfo> out;
#ifdef PERFCAL_HAVE_CUDA
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    *why_none = std::string("no usable CUDA device: ") + cudaGetErrorString(e);
    cudaGetLastError();  // clear the sticky error so later calls are not poisoned
    return out;
  }
  if (n == 0) *why_none = "CUDA driver present but no device";
  int driver = 0, runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    GpuInfo g;
    g.index = i;
    g.name = p.name;
    g.cc_major = p.major;
    g.cc_minor = p.minor;
    g.sm_count = p.multiProcessorCount;
    g.memory_bytes = p.totalGlobalMem;
    g.l2_bytes = static_cast<std::size_t>(p.l2CacheSize);
    g.smem_per_block = p.sharedMemPerBlock;
    g.smem_per_block_optin = p.sharedMemPerBlockOptin;
    g.smem_per_sm = p.sharedMemPerMultiprocessor;
    g.regs_per_block = p.regsPerBlock;
    g.max_threads_per_block = p.maxThreadsPerBlock;
    g.warp_size = p.warpSize;
    // CUDA 13 removed clockRate/memoryClockRate from cudaDeviceProp; read the attributes.
    cudaDeviceGetAttribute(&g.clock_khz, cudaDevAttrClockRate, i);
    cudaDeviceGetAttribute(&g.memory_clock_khz, cudaDevAttrMemoryClockRate, i);
    g.memory_bus_bits = p.memoryBusWidth;
    g.driver_version = driver;
    g.runtime_version = runtime;
    out.push_back(g);
  }
#else
  *why_none = "perfcal was built without CUDA";
#endif
  return out;
}

}  // namespace perfcal
