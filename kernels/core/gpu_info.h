// CUDA devices visible to this process. Built without CUDA, or with no driver/GPU, the list
// is empty and `why_none` says which, so a CPU-only machine works normally and says so.
#pragma once
#include <string>
#include <vector>

namespace perfcal {

struct GpuInfo {
  int index = 0;
  std::string name;
  int cc_major = 0, cc_minor = 0;
  int sm_count = 0;
  std::size_t memory_bytes = 0, l2_bytes = 0;
  std::size_t smem_per_block = 0, smem_per_block_optin = 0, smem_per_sm = 0;
  int regs_per_block = 0, max_threads_per_block = 0, warp_size = 32;
  int clock_khz = 0, memory_clock_khz = 0, memory_bus_bits = 0;
  int driver_version = 0, runtime_version = 0;
};

std::vector<GpuInfo> gpu_devices(std::string* why_none);
bool cuda_compiled();

}  // namespace perfcal
