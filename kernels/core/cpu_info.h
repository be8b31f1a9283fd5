// What the CPU offers: ISA features (cpuid + OS support via xgetbv) and the topology hwloc
// reports (packages, cores, caches, NUMA). Discovered once per process, then cached.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace perfcal {

struct CpuFeatures {
  bool fma = false, avx2 = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512_bf16 = false;
  bool amx_tile = false, amx_bf16 = false;
};

struct CacheLevel {
  int level = 0;                 // 1, 2, 3
  std::size_t size_bytes = 0;    // one instance
  std::size_t line_bytes = 64;
  int cores_sharing = 1;         // cores that share one instance
  int instances = 1;
};

struct CpuInfo {
  std::string model;             // "Intel(R) Xeon(R) Processor ..." from cpuid brand string
  std::string vendor;
  int packages = 1, cores = 1, hw_threads = 1, numa_nodes = 1;
  std::vector<CacheLevel> caches;  // data/unified caches, L1 first
  CpuFeatures features;
  double nominal_mhz = 0;        // /proc/cpuinfo "cpu MHz" when readable, else 0 (unknown)
  bool from_hwloc = false;       // false: hwloc failed and sizes are cpuid/sysconf guesses

  // Size of one instance of data cache `level`, or `fallback` when unknown.
  std::size_t cache_bytes(int level, std::size_t fallback) const;
};

// Instruction-set tiers a kernel family dispatches between, best last.
enum class Isa { portable = 0, avx2 = 1, avx512 = 2 };
const char* to_string(Isa isa);

// Discovers once; thread-safe.
const CpuInfo& cpu_info();

// Best tier this CPU and OS support, lowered by PERFCAL_ISA=portable|avx2 (for testing the
// fallbacks on a machine that has more).
Isa best_isa();
bool isa_available(Isa isa);

}  // namespace perfcal
