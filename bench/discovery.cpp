#include "discovery.h"

#include <cblas.h>
#include <dnnl.h>
#include <hwloc.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/cpu_info.h"
#include "git_revision.h"  // generated at build time (cmake/git_revision.cmake)
#include "core/gpu_info.h"

#ifdef PERFCAL_HAVE_MPI
#include <mpi.h>
#endif

extern char** environ;

namespace perfcal::bench {
namespace {

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  if (!in || !std::getline(in, s)) return "";
  return s;
}

Json cpu_json() {
  const CpuInfo& c = cpu_info();
  Json caches = Json::array();
  for (const auto& l : c.caches)
    caches.push_back({{"level", l.level}, {"size_bytes", l.size_bytes}, {"line_bytes", l.line_bytes},
                      {"cores_sharing", l.cores_sharing}, {"instances", l.instances}});
  const CpuFeatures& f = c.features;
  return {{"model", c.model},
          {"vendor", c.vendor},
          {"packages", c.packages},
          {"cores", c.cores},
          {"hw_threads", c.hw_threads},
          {"numa_nodes", c.numa_nodes},
          {"caches", caches},
          {"topology_source", c.from_hwloc ? "hwloc" : "sysconf"},
          {"nominal_mhz", c.nominal_mhz},
          {"best_isa", to_string(best_isa())},
          {"features",
           {{"fma", f.fma}, {"avx2", f.avx2}, {"avx512f", f.avx512f}, {"avx512bw", f.avx512bw},
            {"avx512vl", f.avx512vl}, {"avx512_bf16", f.avx512_bf16}, {"amx_tile", f.amx_tile},
            {"amx_bf16", f.amx_bf16}}}};
}

}  // namespace

Json host_json() {
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  utsname u{};
  uname(&u);
  return {{"hostname", name}, {"kernel", std::string(u.sysname) + " " + u.release},
          {"cpu", cpu_json()}};
}

Json devices_json() {
  const CpuInfo& c = cpu_info();
  Json out = Json::array();
  out.push_back({{"id", "cpu:0"}, {"kind", "cpu"}, {"name", c.model}, {"cores", c.cores},
                 {"isa", to_string(best_isa())}});
  std::string why;
  for (const auto& g : gpu_devices(&why)) {
    out.push_back({{"id", "cuda:" + std::to_string(g.index)},
                   {"kind", "cuda"},
                   {"name", g.name},
                   {"compute_capability", std::to_string(g.cc_major) + "." + std::to_string(g.cc_minor)},
                   {"sm_count", g.sm_count},
                   {"memory_bytes", g.memory_bytes},
                   {"l2_bytes", g.l2_bytes},
                   {"smem_per_block", g.smem_per_block},
                   {"smem_per_block_optin", g.smem_per_block_optin},
                   {"smem_per_sm", g.smem_per_sm},
                   {"regs_per_block", g.regs_per_block},
                   {"clock_khz", g.clock_khz},
                   {"memory_clock_khz", g.memory_clock_khz},
                   {"memory_bus_bits", g.memory_bus_bits},
                   {"driver_version", g.driver_version},
                   {"runtime_version", g.runtime_version}});
  }
  return out;
}

std::string openblas_core() {
  const char* c = openblas_get_corename();
  return c ? c : "unknown";
}

std::string git_revision() { return PERFCAL_GIT_REVISION; }

Json software_json() {
  Json s;
#if defined(__clang__)
  s["compiler"] = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  s["compiler"] = std::string("gcc ") + __VERSION__;
#endif
  s["openblas"] = {{"config", openblas_get_config()}, {"core", openblas_core()},
                   {"threads_max", openblas_get_num_threads()}};
  const dnnl_version_t* v = dnnl_version();
  s["onednn"] = std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                std::to_string(v->patch) + " (" + v->hash + ")";
  unsigned hv = hwloc_get_api_version();
  s["hwloc"] = std::to_string(hv >> 16) + "." + std::to_string((hv >> 8) & 0xff) + "." +
               std::to_string(hv & 0xff);
#ifdef PERFCAL_BENCHMARK_VERSION
  s["google_benchmark"] = PERFCAL_BENCHMARK_VERSION;
#endif
#ifdef PERFCAL_HAVE_MPI
  char lib[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int len = 0;
  MPI_Get_library_version(lib, &len);
  std::string l(lib, static_cast<std::size_t>(len));
  s["mpi"] = l.substr(0, l.find('\n'));
#else
  s["mpi"] = "not built";
#endif
  std::string why;
  auto gpus = gpu_devices(&why);
  if (!cuda_compiled()) s["cuda"] = "not built";
  else if (gpus.empty()) s["cuda"] = "built; " + why;
  else
    s["cuda"] = {{"driver", gpus[0].driver_version}, {"runtime", gpus[0].runtime_version}};
  s["perfcal_isa"] = to_string(best_isa());
  return s;
}

Json environment_json() {
  Json vars = Json::object();
  const char* prefixes[] = {"OPENBLAS_", "OMP_", "GOMP_", "KMP_", "DNNL_", "ONEDNN_", "PERFCAL_",
                            "CUDA_VISIBLE_DEVICES", "OMPI_", "MKL_"};
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    std::string k = kv.substr(0, eq);
    for (const char* p : prefixes)
      if (k.rfind(p, 0) == 0) vars[k] = kv.substr(eq + 1);
  }
  // What can disturb results (issue 8 "noise control"); "unreadable" where /sys hides it.
  auto or_unreadable = [](std::string s) { return s.empty() ? std::string("unreadable") : s; };
  std::string load = read_line("/proc/loadavg");
  Json noise = {
      {"cpu_governor", or_unreadable(read_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"))},
      {"intel_no_turbo", or_unreadable(read_line("/sys/devices/system/cpu/intel_pstate/no_turbo"))},
      {"cpufreq_boost", or_unreadable(read_line("/sys/devices/system/cpu/cpufreq/boost"))},
      {"loadavg_at_start", or_unreadable(load)},
      {"online_cpus", sysconf(_SC_NPROCESSORS_ONLN)},
      {"pinning", std::getenv("OMP_PROC_BIND") ? std::getenv("OMP_PROC_BIND") : "none"}};
  return {{"variables", vars}, {"noise", noise}};
}

std::string describe_devices() {
  std::ostringstream o;
  const CpuInfo& c = cpu_info();
  const CpuFeatures& f = c.features;
  o << "cpu:0  " << c.model << "\n";
  o << "  packages " << c.packages << ", cores " << c.cores << ", hw threads " << c.hw_threads
    << ", NUMA nodes " << c.numa_nodes << " (" << (c.from_hwloc ? "hwloc" : "sysconf") << ")\n";
  for (const auto& l : c.caches)
    o << "  L" << l.level << " " << l.size_bytes / 1024 << " KiB x " << l.instances
      << " (shared by " << l.cores_sharing << " core(s), line " << l.line_bytes << " B)\n";
  o << "  ISA: fma=" << f.fma << " avx2=" << f.avx2 << " avx512f=" << f.avx512f
    << " avx512bw=" << f.avx512bw << " avx512vl=" << f.avx512vl
    << " avx512_bf16=" << f.avx512_bf16 << " amx_tile=" << f.amx_tile
    << " amx_bf16=" << f.amx_bf16 << " -> kernels use " << to_string(best_isa()) << "\n";
  if (c.nominal_mhz > 0) o << "  nominal clock " << c.nominal_mhz << " MHz\n";
  std::string why;
  auto gpus = gpu_devices(&why);
  for (const auto& g : gpus)
    o << "cuda:" << g.index << " " << g.name << "  sm_" << g.cc_major << g.cc_minor << ", "
      << g.sm_count << " SMs, " << (g.memory_bytes >> 20) << " MiB, L2 " << (g.l2_bytes >> 10)
      << " KiB, smem/block " << g.smem_per_block_optin / 1024 << " KiB, clock "
      << g.clock_khz / 1000 << " MHz, driver " << g.driver_version << ", runtime "
      << g.runtime_version << "\n";
  if (gpus.empty()) o << "no CUDA GPU: " << why << "\n";
  return o.str();
}

}  // namespace perfcal::bench
