// Tuned configs at run time: nearest bucket, fallback exact device -> architecture ->
// default, and the C API picking them up from a loaded profile.
#include "core/tuned.h"

#include <gtest/gtest.h>
#include <perfcal/perfcal.h>

#include <filesystem>
#include <fstream>

#include "gemm/blis.h"

namespace perfcal::tuned {
namespace {

using nlohmann::json;

json entry(const std::string& fp, const std::string& arch, int m, int n, int k, int kc) {
  return {{"name", "gemm/cpu/avx512/f32"},
          {"device", "cpu:0"},
          {"fingerprint", fp},
          {"arch", arch},
          {"problem", {{"m", m}, {"n", n}, {"k", k}}},
          {"config", {{"kc", kc}}}};
}

TEST(TunedLookup, FallbackOrderExactThenArchitectureThenDefault) {
  Table t;
  ASSERT_TRUE(parse_table(json::array({entry("other cpu", "avx512", 4096, 4096, 4096, 1),
                                       entry("this cpu", "avx512", 64, 64, 64, 2)}),
                          &t)
                  .ok());
  Match how;
  // The exact device wins even when the architecture entry is the nearer bucket.
  const Entry* e =
      find(t, "gemm/cpu/avx512/f32", "this cpu", "avx512", 4096, 4096, 4096, &how, 1e9);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(how, Match::exact_device);
  EXPECT_EQ(e->config["kc"], 2);
  // Another device of the same ISA tier: the architecture entry.
  e = find(t, "gemm/cpu/avx512/f32", "third cpu", "avx512", 4096, 4096, 4096, &how);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(how, Match::architecture);
  EXPECT_EQ(e->config["kc"], 1);
  // Another architecture, or another variant: nothing (the caller's built-in default).
  EXPECT_EQ(find(t, "gemm/cpu/avx512/f32", "third cpu", "avx2", 64, 64, 64, &how), nullptr);
  EXPECT_EQ(how, Match::none);
  EXPECT_EQ(find(t, "gemm/cpu/avx2/f32", "this cpu", "avx512", 64, 64, 64, &how), nullptr);
}

TEST(TunedLookup, NearestBucketAndDistanceLimit) {
  Table t;
  ASSERT_TRUE(parse_table(json::array({entry("c", "a", 512, 4096, 11008, 1),
                                       entry("c", "a", 4096, 4096, 4096, 2),
                                       entry("c", "a", 32, 4096, 4096, 3)}),
                          &t)
                  .ok());
  Match how;
  EXPECT_EQ(find(t, "gemm/cpu/avx512/f32", "c", "a", 600, 4000, 11000, &how)->config["kc"], 1);
  EXPECT_EQ(find(t, "gemm/cpu/avx512/f32", "c", "a", 3000, 5000, 4096, &how)->config["kc"], 2);
  EXPECT_EQ(find(t, "gemm/cpu/avx512/f32", "c", "a", 16, 4096, 4096, &how)->config["kc"], 3);
  // Far from every tuned shape: no tuned config.
  EXPECT_EQ(find(t, "gemm/cpu/avx512/f32", "c", "a", 8, 8, 8, &how), nullptr);
}

// An entry tuned with B transposed serves only calls with B transposed; entries without
// transposes (every profile before they existed) are NN.
TEST(TunedLookup, TransposesMatchExactly) {
  json nt = entry("c", "a", 512, 11008, 4096, 1);
  nt["problem"]["ta"] = "N";
  nt["problem"]["tb"] = "T";
  Table t;
  ASSERT_TRUE(parse_table(json::array({entry("c", "a", 512, 11008, 4096, 2), nt}), &t).ok());
  Match how;
  const std::string n = "gemm/cpu/avx512/f32";
  EXPECT_EQ(find(t, n, "c", "a", 512, 11008, 4096, &how)->config["kc"], 2);
  EXPECT_EQ(find(t, n, "c", "a", 512, 11008, 4096, &how, 3.0, 'N', 'T')->config["kc"], 1);
  EXPECT_EQ(find(t, n, "c", "a", 512, 11008, 4096, &how, 3.0, 'T', 'N'), nullptr);
  nt["problem"]["tb"] = "X";
  EXPECT_FALSE(parse_table(json::array({nt}), &t).ok());
}

TEST(TunedLookup, MalformedTunedArrayIsRejected) {
  Table t;
  EXPECT_FALSE(parse_table(json::object(), &t).ok());
  EXPECT_FALSE(parse_table(json::array({{{"name", 1}}}), &t).ok());
  EXPECT_EQ(perfcal_load_profile("/nonexistent/profile.json"), -1);
}

TEST(TunedLookup, CApiUsesTheLoadedProfile) {
  const gemm::KernelSet* ks = gemm::best_kernel_set(Dtype::f32);
  ASSERT_NE(ks, nullptr);
  const std::string name = std::string("gemm/cpu/") + to_string(ks->isa) + "/f32";
  // A deliberately unusual but valid blocking for this CPU's kernels.
  CpuGemmConfig c =
      gemm_config_for(false, PerfcalColMajor, PerfcalNoTrans, PerfcalNoTrans, 300, 200, 100, 1);
  c.kc = 72;
  c.mc = c.mr * 3;
  json cfg;
  to_json(cfg, c);
  json prof = {{"tuned", json::array({{{"name", name},
                                       {"device", "cpu:0"},
                                       {"fingerprint", cpu_fingerprint()},
                                       {"arch", cpu_arch()},
                                       {"problem", {{"m", 300}, {"n", 200}, {"k", 100}}},
                                       {"config", cfg}}})}};
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("perfcal_tuned_" + std::to_string(::getpid()) + ".json"))
                               .string();
  std::ofstream(path) << prof.dump();
  ASSERT_EQ(perfcal_load_profile(path.c_str()), 0);
  EXPECT_EQ(perfcal_tuned_count(), 1);
  const CpuGemmConfig got =
      gemm_config_for(false, PerfcalColMajor, PerfcalNoTrans, PerfcalNoTrans, 300, 200, 100, 1);
  EXPECT_EQ(got.kc, 72);
  EXPECT_EQ(got.mc, c.mr * 3);
  // Tuned with B not transposed: a call with B transposed keeps the default.
  EXPECT_NE(
      gemm_config_for(false, PerfcalColMajor, PerfcalNoTrans, PerfcalTrans, 300, 200, 100, 1).kc,
      72);
  // And the result of a GEMM through it is still right (small-integer inputs: exact).
  std::vector<float> a(300 * 100), b(100 * 200), cc(300 * 200, -1);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = float(int(i % 5) - 2);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = float(int(i % 3) - 1);
  ASSERT_EQ(perfcal_sgemm(PerfcalColMajor, PerfcalNoTrans, PerfcalNoTrans, 300, 200, 100, 1.0f,
                          a.data(), 300, b.data(), 100, 0.0f, cc.data(), 300),
            0);
  for (int j = 0; j < 200; j += 37)
    for (int i = 0; i < 300; i += 41) {
      double s = 0;
      for (int l = 0; l < 100; ++l) s += double(a[i + l * 300]) * b[l + j * 100];
      EXPECT_EQ(cc[i + j * 300], float(s));
    }
  // A far-away shape keeps the built-in default; clearing restores it everywhere.
  EXPECT_NE(gemm_config_for(false, PerfcalColMajor, PerfcalNoTrans, PerfcalNoTrans, 4, 4, 4, 1).kc,
            72);
  ASSERT_EQ(perfcal_load_profile(nullptr), 0);
  EXPECT_EQ(perfcal_tuned_count(), 0);
  EXPECT_NE(
      gemm_config_for(false, PerfcalColMajor, PerfcalNoTrans, PerfcalNoTrans, 300, 200, 100, 1).kc,
      72);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace perfcal::tuned
