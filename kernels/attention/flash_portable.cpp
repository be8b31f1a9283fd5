// Portable tier of the fused attention kernels: the same drivers (flash_impl.h) over plain C++
// operations, for CPUs without AVX2 and as a check that the drivers, not the intrinsics,
// are right (PERFCAL_ISA=portable). bf16 is emulated exactly as vdpbf16ps does it: products
// of bf16 pairs summed in fp32, P and dS rounded to bf16 for the second product.
#include "attention/flash_impl.h"

namespace perfcal::attention::detail {
namespace {

struct PortableOps {
  static constexpr bool kBf16Dot = true;

  static void mm_f32(int64_t M, int64_t N, int64_t K, const float* A, int64_t a_sm, int64_t a_sk,
                     const float* B, int64_t ldb, float* C, int64_t ldc, bool acc) {
    for (int64_t m = 0; m < M; ++m) {
      float* c = C + m * ldc;
      if (!acc) std::fill(c, c + N, 0.0f);
      for (int64_t k = 0; k < K; ++k) {
        const float a = A[m * a_sm + k * a_sk];
        const float* b = B + k * ldb;
        for (int64_t n = 0; n < N; ++n) c[n] += a * b[n];
      }
    }
  }

  static void mm_bf16(int64_t M, int64_t N, int64_t Kp, const uint16_t* A, int64_t a_sm,
                      int64_t a_skp, const uint16_t* B, int64_t ldb, float* C, int64_t ldc,
                      bool acc) {
    for (int64_t m = 0; m < M; ++m) {
      float* c = C + m * ldc;
      if (!acc) std::fill(c, c + N, 0.0f);
      for (int64_t kp = 0; kp < Kp; ++kp) {
        const uint16_t* a = A + m * a_sm + kp * a_skp;
        const float a0 = bf16_to_float(a[0]), a1 = bf16_to_float(a[1]);
        const uint16_t* b = B + kp * 2 * ldb;
        for (int64_t n = 0; n < N; ++n)
          c[n] += a0 * bf16_to_float(b[2 * n]) + a1 * bf16_to_float(b[2 * n + 1]);
      }
    }
  }

  static float max_scaled(const float* x, int64_t n, float s) {
    float m = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < n; ++j) m = std::max(m, s * x[j]);
    return m;
  }
  static float exp2_row(float* x, int64_t n, float s, float sub) {
    float sum = 0;
    for (int64_t j = 0; j < n; ++j) sum += (x[j] = std::exp2(s * x[j] - sub));
    return sum;
  }
  static float exp2_row_bf16(float* x, uint16_t* y, int64_t n, float s, float sub) {
    float sum = 0;
    for (int64_t j = 0; j < n; ++j) {
      y[j] = float_to_bf16(std::exp2(s * x[j] - sub));
      sum += bf16_to_float(y[j]);
    }
    return sum;
  }
  static void exp2_row_vec(float* x, int64_t n, float s, const float* sub) {
    for (int64_t j = 0; j < n; ++j) x[j] = std::exp2(s * x[j] - sub[j]);
  }
  static void ds_row(const float* p, float* dp, const float* Dv, int64_t n, float s) {
    for (int64_t j = 0; j < n; ++j) dp[j] = p[j] * (dp[j] - Dv[j]) * s;
  }
  static void scale(float* x, int64_t n, float a) {
    for (int64_t j = 0; j < n; ++j) x[j] *= a;
  }
  static void to_bf16(const float* x, uint16_t* y, int64_t n) {
    for (int64_t j = 0; j < n; ++j) y[j] = float_to_bf16(x[j]);
  }
  static void interleave_bf16(const float* r0, const float* r1, uint16_t* out, int64_t n) {
    for (int64_t j = 0; j < n; ++j) {
      out[2 * j] = float_to_bf16(r0[j]);
      out[2 * j + 1] = r1 ? float_to_bf16(r1[j]) : 0;
    }
  }
};

}  // namespace

Status flash_forward_portable(const FlashArgs& a) { return run_forward<PortableOps>(a); }
Status flash_backward_portable(const FlashArgs& a) { return run_backward<PortableOps>(a); }

const RowOps& row_ops_portable() {
  static const RowOps ops{&PortableOps::max_scaled, &PortableOps::exp2_row,
                          &PortableOps::exp2_row_vec, &PortableOps::ds_row, &PortableOps::scale};
  return ops;
}

}  // namespace perfcal::attention::detail
