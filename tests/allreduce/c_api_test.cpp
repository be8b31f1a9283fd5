// The C API (perfcal/allreduce.h): results on every rank, every dtype and algorithm name,
// in place, and clean error codes with messages for bad arguments.
#include <gtest/gtest.h>

#include <vector>

#include "allreduce/allreduce.h"
#include "perfcal/perfcal.h"

namespace {

using perfcal::allreduce::Problem;

TEST(AllreduceCApi, SumMaxMinEveryAlgorithm) {
  perfcal_allreduce_team* t = nullptr;
  ASSERT_EQ(perfcal_allreduce_team_create(3, &t), PERFCAL_AR_OK);
  const int64_t n = 1001;
  for (const char* algo :
       {(const char*)nullptr, "auto", "ring", "recursive_doubling", "rabenseifner", "tree"})
    for (int op : {PERFCAL_AR_SUM, PERFCAL_AR_MAX, PERFCAL_AR_MIN}) {
      std::vector<std::vector<float>> in(3, std::vector<float>(n)), out(3, std::vector<float>(n));
      Problem p;
      p.count = n, p.ranks = 3, p.op = static_cast<perfcal::allreduce::Op>(op);
      for (int r = 0; r < 3; ++r)
        perfcal::allreduce::fill_crafted(p.dtype, in[r].data(), n, r, 3, 11);
      const void* send[3] = {in[0].data(), in[1].data(), in[2].data()};
      void* recv[3] = {out[0].data(), out[1].data(), out[2].data()};
      ASSERT_EQ(perfcal_allreduce(t, send, recv, n, PERFCAL_AR_F32, op, algo), PERFCAL_AR_OK)
          << perfcal_allreduce_last_error();
      for (int r = 0; r < 3; ++r)
        EXPECT_EQ(perfcal::allreduce::count_wrong_crafted(p, out[r].data(), 11), 0);
    }
  perfcal_allreduce_team_destroy(t);
}

TEST(AllreduceCApi, InPlaceBf16AndF64) {
  perfcal_allreduce_team* t = nullptr;
  ASSERT_EQ(perfcal_allreduce_team_create(2, &t), PERFCAL_AR_OK);
  std::vector<uint16_t> a(77), b(77);
  Problem p;
  p.count = 77, p.ranks = 2, p.dtype = perfcal::Dtype::bf16, p.in_place = true;
  perfcal::allreduce::fill_crafted(p.dtype, a.data(), 77, 0, 2, 4);
  perfcal::allreduce::fill_crafted(p.dtype, b.data(), 77, 1, 2, 4);
  const void* send[2] = {a.data(), b.data()};
  void* recv[2] = {a.data(), b.data()};
  ASSERT_EQ(perfcal_allreduce(t, send, recv, 77, PERFCAL_AR_BF16, PERFCAL_AR_SUM, "ring"),
            PERFCAL_AR_OK);
  EXPECT_EQ(perfcal::allreduce::count_wrong_crafted(p, a.data(), 4), 0);
  EXPECT_EQ(perfcal::allreduce::count_wrong_crafted(p, b.data(), 4), 0);
  std::vector<double> x(5, 1.5), y(5, 2.0);
  const void* s2[2] = {x.data(), y.data()};
  void* r2[2] = {x.data(), y.data()};
  ASSERT_EQ(perfcal_allreduce(t, s2, r2, 5, PERFCAL_AR_F64, PERFCAL_AR_SUM, "tree"), PERFCAL_AR_OK);
  EXPECT_EQ(x[4], 3.5);
  EXPECT_EQ(y[0], 3.5);
  perfcal_allreduce_team_destroy(t);
}

TEST(AllreduceCApi, ErrorsAreCodesWithMessages) {
  perfcal_allreduce_team* t = nullptr;
  EXPECT_EQ(perfcal_allreduce_team_create(0, &t), PERFCAL_AR_INVALID_ARGUMENT);
  EXPECT_EQ(t, nullptr);
  EXPECT_STRNE(perfcal_allreduce_last_error(), "");
  EXPECT_EQ(perfcal_allreduce_team_create(2, nullptr), PERFCAL_AR_INVALID_ARGUMENT);
  ASSERT_EQ(perfcal_allreduce_team_create(2, &t), PERFCAL_AR_OK);
  float a[4] = {}, b[4] = {};
  const void* send[2] = {a, b};
  void* recv[2] = {a, b};
  EXPECT_EQ(perfcal_allreduce(nullptr, send, recv, 4, PERFCAL_AR_F32, PERFCAL_AR_SUM, nullptr),
            PERFCAL_AR_INVALID_ARGUMENT);
  EXPECT_EQ(perfcal_allreduce(t, send, recv, 4, 7, PERFCAL_AR_SUM, nullptr),
            PERFCAL_AR_INVALID_ARGUMENT);
  EXPECT_EQ(perfcal_allreduce(t, send, recv, 4, PERFCAL_AR_F32, 9, nullptr),
            PERFCAL_AR_INVALID_ARGUMENT);
  EXPECT_EQ(perfcal_allreduce(t, send, recv, -1, PERFCAL_AR_F32, PERFCAL_AR_SUM, nullptr),
            PERFCAL_AR_INVALID_ARGUMENT);
  EXPECT_EQ(perfcal_allreduce(t, send, recv, 4, PERFCAL_AR_F32, PERFCAL_AR_SUM, "bogus"),
            PERFCAL_AR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(perfcal_allreduce_last_error()).find("bogus"), std::string::npos);
  void* mixed[2] = {a, a + 2};  // in place on rank 0 only
  EXPECT_EQ(perfcal_allreduce(t, send, mixed, 2, PERFCAL_AR_F32, PERFCAL_AR_SUM, nullptr),
            PERFCAL_AR_INVALID_ARGUMENT);
  EXPECT_EQ(perfcal_allreduce_team_set_timeout(t, 0), PERFCAL_AR_INVALID_ARGUMENT);
  EXPECT_STREQ(perfcal_allreduce_status_string(PERFCAL_AR_INTERNAL), "internal error");
  perfcal_allreduce_team_destroy(t);
  perfcal_allreduce_team_destroy(nullptr);
}

}  // namespace
