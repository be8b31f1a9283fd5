// Device discovery sanity: what hwloc and cpuid report must be self-consistent.
#include <gtest/gtest.h>
#include <unistd.h>

#include "core/cpu_info.h"
#include "core/gpu_info.h"
#include "discovery.h"

namespace perfcal {
namespace {

TEST(Discovery, CpuTopologyIsConsistent) {
  const CpuInfo& c = cpu_info();
  EXPECT_TRUE(c.from_hwloc);
  EXPECT_GE(c.cores, 1);
  EXPECT_GE(c.hw_threads, c.cores);
  EXPECT_LE(c.hw_threads, sysconf(_SC_NPROCESSORS_CONF));
  ASSERT_FALSE(c.caches.empty());
  for (std::size_t i = 1; i < c.caches.size(); ++i) {
    EXPECT_GT(c.caches[i].level, c.caches[i - 1].level);
    EXPECT_GE(c.caches[i].size_bytes, c.caches[i - 1].size_bytes) << "L" << c.caches[i].level;
  }
  EXPECT_FALSE(c.model.empty());
}

TEST(Discovery, IsaTiersAreOrdered) {
  const CpuFeatures& f = cpu_info().features;
  if (f.avx512f) EXPECT_TRUE(f.avx2);
  if (f.avx512_bf16) EXPECT_TRUE(f.avx512f);
  EXPECT_TRUE(isa_available(Isa::portable));
  if (isa_available(Isa::avx512)) EXPECT_TRUE(isa_available(Isa::avx2));
  setenv("PERFCAL_ISA", "portable", 1);
  EXPECT_EQ(best_isa(), Isa::portable);
  unsetenv("PERFCAL_ISA");
}

TEST(Discovery, ProfileSectionsAlwaysHaveTheCpu) {
  auto devs = bench::devices_json();
  ASSERT_GE(devs.size(), 1u);
  EXPECT_EQ(devs[0]["id"], "cpu:0");
  auto sw = bench::software_json();
  EXPECT_TRUE(sw.contains("openblas"));
  EXPECT_FALSE(sw["openblas"]["core"].get<std::string>().empty());
  EXPECT_TRUE(sw.contains("onednn"));
  auto env = bench::environment_json();
  EXPECT_TRUE(env["noise"].contains("loadavg_at_start"));
}

TEST(Discovery, NoGpuIsReportedNotFatal) {
  std::string why;
  auto gpus = gpu_devices(&why);
  if (gpus.empty()) EXPECT_FALSE(why.empty());
  else EXPECT_GT(gpus[0].sm_count, 0);
}

}  // namespace
}  // namespace perfcal
