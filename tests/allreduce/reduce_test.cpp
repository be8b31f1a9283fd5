// The reduction inner loop: every ISA tier this CPU has (AVX-512, AVX2) must reproduce the
// portable tier bit for bit, for every dtype x op, every length 0..130 plus a long one, at
// unaligned offsets, on inputs with the awkward values (NaN, +-inf, +-0, denormals, bf16
// rounding ties), in place and out of place.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "allreduce/allreduce.h"

namespace perfcal::allreduce {
namespace {

template <class T>
std::vector<T> awkward(std::size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-4, 4);
  const T special[] = {T(0),
                       -T(0),
                       std::numeric_limits<T>::infinity(),
                       -std::numeric_limits<T>::infinity(),
                       std::numeric_limits<T>::quiet_NaN(),
                       std::numeric_limits<T>::denorm_min(),
                       std::numeric_limits<T>::min(),
                       T(1),
                       T(-1)};
  std::vector<T> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = rng() % 8 == 0 ? special[rng() % 9] : T(u(rng));
  return v;
}

std::vector<uint16_t> awkward_bf16(std::size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint16_t> v(n);
  // Any bit pattern: NaNs, infinities, denormals and values whose fp32 sum ties in bf16.
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<uint16_t>(rng());
  return v;
}

template <class T>
void compare_tiers(Dtype d, const std::vector<T>& a, const std::vector<T>& b) {
  for (Op op : {Op::sum, Op::max, Op::min}) {
    const Reducer ref = make_reducer(d, op, Isa::portable);
    ASSERT_NE(ref.fn, nullptr);
    for (Isa isa : {Isa::avx2, Isa::avx512}) {
      const Reducer r = make_reducer(d, op, isa);
      if (!isa_available(isa)) {
        EXPECT_EQ(r.fn, nullptr);
        continue;
      }
      for (std::size_t off : {0, 1, 3})
        for (std::size_t n = 0; n + off <= a.size(); n = n < 130 ? n + 1 : a.size() - off) {
          std::vector<T> want(n + 1, T(7)), got(n + 1, T(7));
          ref(a.data() + off, b.data() + off, want.data(), n);
          r(a.data() + off, b.data() + off, got.data(), n);
          ASSERT_EQ(std::memcmp(want.data(), got.data(), (n + 1) * sizeof(T)), 0)
              << to_string(isa) << " " << perfcal::to_string(d) << " " << to_string(op)
              << " n=" << n << " off=" << off;
          std::vector<T> inplace(a.begin() + off, a.begin() + off + n);
          r(inplace.data(), b.data() + off, inplace.data(), n);
          // n == 0 leaves inplace.data() null, and memcmp's arguments must never be.
          ASSERT_TRUE(n == 0 || std::memcmp(want.data(), inplace.data(), n * sizeof(T)) == 0)
              << "in place n=" << n;
          if (n == a.size() - off) break;
        }
    }
  }
}

TEST(AllreduceReduce, TiersBitIdenticalF32) {
  compare_tiers(Dtype::f32, awkward<float>(1000, 1), awkward<float>(1000, 2));
}
TEST(AllreduceReduce, TiersBitIdenticalF64) {
  compare_tiers(Dtype::f64, awkward<double>(1000, 3), awkward<double>(1000, 4));
}
TEST(AllreduceReduce, TiersBitIdenticalBf16) {
  compare_tiers(Dtype::bf16, awkward_bf16(1000, 5), awkward_bf16(1000, 6));
}

TEST(AllreduceReduce, Bf16AccumulatesInFp32AndRoundsOnce) {
  // 1 + 2^-8 is not a bf16 (8 significant bits) but the fp32 sum of 1 and 2^-8 rounds to even:
  // 1.0. 1 + 3 * 2^-8 rounds up to 1 + 2^-6.
  const uint16_t a[2] = {float_to_bf16(1.0f), float_to_bf16(1.0f)};
  const uint16_t b[2] = {float_to_bf16(0x1p-8f), float_to_bf16(0x1.8p-7f)};
  uint16_t out[2];
  make_reducer(Dtype::bf16, Op::sum)(a, b, out, 2);
  EXPECT_EQ(bf16_to_float(out[0]), 1.0f);
  EXPECT_EQ(bf16_to_float(out[1]), 1.0f + 0x1p-6f);
}

TEST(AllreduceReduce, MaxMinFollowTheContract) {
  const float a[3] = {1, std::nanf(""), -2}, b[3] = {2, 5, std::nanf("")};
  float mx[3], mn[3];
  make_reducer(Dtype::f32, Op::max)(a, b, mx, 3);
  make_reducer(Dtype::f32, Op::min)(a, b, mn, 3);
  EXPECT_EQ(mx[0], 2);
  EXPECT_EQ(mn[0], 1);
  EXPECT_EQ(mx[1], 5);  // a > b ? a : b: NaN in a gives b
  EXPECT_TRUE(std::isnan(mx[2]));
}

}  // namespace
}  // namespace perfcal::allreduce
