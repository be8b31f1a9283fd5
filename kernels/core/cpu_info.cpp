#include "core/cpu_info.h"

#include <cpuid.h>
#include <hwloc.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace perfcal {
namespace {

uint64_t xgetbv0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

CpuFeatures detect_features(std::string* vendor, std::string* brand) {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return f;
  unsigned max_leaf = a;
  char v[13] = {};
  std::memcpy(v, &b, 4);
  std::memcpy(v + 4, &d, 4);
  std::memcpy(v + 8, &c, 4);
  *vendor = v;
  __get_cpuid(1, &a, &b, &c, &d);
  bool osxsave = c & (1u << 27);
  bool fma = c & (1u << 12);
  uint64_t xcr0 = osxsave ? xgetbv0() : 0;
  bool ymm_os = (xcr0 & 0x6) == 0x6;            // XMM and YMM state saved by the OS
  bool zmm_os = (xcr0 & 0xe6) == 0xe6;          // plus opmask and ZMM state
  bool amx_os = (xcr0 & (3ull << 17)) == (3ull << 17);  // XTILECFG and XTILEDATA
  f.fma = fma && ymm_os;
  if (max_leaf >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    f.avx2 = (b & (1u << 5)) && ymm_os;
    f.avx512f = (b & (1u << 16)) && zmm_os;
    f.avx512bw = (b & (1u << 30)) && zmm_os;
    f.avx512vl = (b & (1u << 31)) && zmm_os;
    f.amx_bf16 = (d & (1u << 22)) && amx_os;
    f.amx_tile = (d & (1u << 24)) && amx_os;
    __cpuid_count(7, 1, a, b, c, d);
    f.avx512_bf16 = (a & (1u << 5)) && zmm_os;
  }
  __get_cpuid(0x80000000, &a, &b, &c, &d);
  if (a >= 0x80000004) {
    char s[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      __get_cpuid(0x80000002 + i, &a, &b, &c, &d);
      std::memcpy(s + 16 * i, &a, 4);
      std::memcpy(s + 16 * i + 4, &b, 4);
      std::memcpy(s + 16 * i + 8, &c, 4);
      std::memcpy(s + 16 * i + 12, &d, 4);
    }
    std::string t = s;
    while (!t.empty() && t.back() == ' ') t.pop_back();
    *brand = t.substr(t.find_first_not_of(' ') == std::string::npos ? 0 : t.find_first_not_of(' '));
  }
  return f;
}

double read_mhz() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("cpu MHz", 0) == 0) {
      auto p = line.find(':');
      if (p != std::string::npos) return std::atof(line.c_str() + p + 1);
    }
  }
  return 0;
}

void discover_topology(CpuInfo* info) {
  hwloc_topology_t topo;
  if (hwloc_topology_init(&topo) != 0) return;
  if (hwloc_topology_load(topo) != 0) {
    hwloc_topology_destroy(topo);
    return;
  }
  info->from_hwloc = true;
  info->packages = std::max(1, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE));
  info->cores = std::max(1, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE));
  info->hw_threads = std::max(1, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU));
  info->numa_nodes = std::max(1, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE));
  const hwloc_obj_type_t types[] = {HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L2CACHE, HWLOC_OBJ_L3CACHE};
  for (int lvl = 1; lvl <= 3; ++lvl) {
    int n = hwloc_get_nbobjs_by_type(topo, types[lvl - 1]);
    if (n <= 0) continue;
    hwloc_obj_t obj = hwloc_get_obj_by_type(topo, types[lvl - 1], 0);
    if (obj->attr->cache.type == HWLOC_OBJ_CACHE_INSTRUCTION) continue;
    CacheLevel c;
    c.level = lvl;
    c.size_bytes = obj->attr->cache.size;
    c.line_bytes = obj->attr->cache.linesize > 0 ? obj->attr->cache.linesize : 64;
    c.cores_sharing = std::max(1, hwloc_get_nbobjs_inside_cpuset_by_type(topo, obj->cpuset,
                                                                          HWLOC_OBJ_CORE));
    c.instances = n;
    info->caches.push_back(c);
  }
  hwloc_topology_destroy(topo);
}

CpuInfo discover() {
  CpuInfo info;
  info.features = detect_features(&info.vendor, &info.model);
  info.nominal_mhz = read_mhz();
  discover_topology(&info);
  if (!info.from_hwloc) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    info.cores = info.hw_threads = n > 0 ? static_cast<int>(n) : 1;
  }
  return info;
}

}  // namespace

std::size_t CpuInfo::cache_bytes(int level, std::size_t fallback) const {
  for (const auto& c : caches)
    if (c.level == level && c.size_bytes > 0) return c.size_bytes;
  return fallback;
}

const char* to_string(Isa isa) {
  switch (isa) {
    case Isa::portable: return "portable";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "?";
}

const CpuInfo& cpu_info() {
  static const CpuInfo info = discover();
  return info;
}

bool isa_available(Isa isa) {
  const CpuFeatures& f = cpu_info().features;
  Isa cap = Isa::portable;
  if (f.avx2 && f.fma) cap = Isa::avx2;
  if (cap == Isa::avx2 && f.avx512f && f.avx512bw && f.avx512vl) cap = Isa::avx512;
  if (const char* e = std::getenv("PERFCAL_ISA")) {
    std::string s = e;
    if (s == "portable") cap = Isa::portable;
    else if (s == "avx2" && cap > Isa::avx2) cap = Isa::avx2;
  }
  return static_cast<int>(isa) <= static_cast<int>(cap);
}

Isa best_isa() {
  for (Isa i : {Isa::avx512, Isa::avx2})
    if (isa_available(i)) return i;
  return Isa::portable;
}

}  // namespace perfcal
