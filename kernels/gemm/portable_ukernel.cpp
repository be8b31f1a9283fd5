// Portable fp32 micro-kernels (gemm/cpu/portable/f32): plain C++ the compiler may
// auto-vectorise for the baseline x86-64 ISA (SSE2). The fallback where neither AVX2 nor
// AVX-512 exists, and the check that the driver is right independently of any intrinsics.
//
// Variants: f32 8x8 (default), 4x4; bf16 8x8 (bf16 pairs widened to fp32, fp32
// accumulation, the same numbers vdpbf16ps gives up to summation order).
#include <cstring>

#include "gemm/ukernel.h"

namespace perfcal::gemm::ukr {
namespace {

template <int MR, int NR>
void kernel(const Args& args) {
  const float* __restrict a = static_cast<const float*>(args.a);
  const float* __restrict b = static_cast<const float*>(args.b);
  float acc[NR][MR] = {};
  for (int64_t k = 0; k < args.kc; ++k) {
    for (int j = 0; j < NR; ++j)
      for (int i = 0; i < MR; ++i) acc[j][i] += a[i] * b[j];
    a += MR;
    b += NR;
  }
  for (int j = 0; j < args.n; ++j)
    for (int i = 0; i < args.m; ++i) {
      float* p = args.c + i + j * args.ldc;
      float r = args.alpha * acc[j][i];
      if (args.beta != 0.0f) r += args.beta * *p;  // beta == 0 must not read C (NaN)
      *p = r;
    }
}

inline float widen(uint16_t h) {
  uint32_t u = uint32_t{h} << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

template <int MR, int NR>
void kernel_bf16(const Args& args) {
  const uint16_t* __restrict a = static_cast<const uint16_t*>(args.a);
  const uint16_t* __restrict b = static_cast<const uint16_t*>(args.b);
  float acc[NR][MR] = {};
  for (int64_t kp = 0; kp < args.kc / 2; ++kp) {
    for (int j = 0; j < NR; ++j)
      for (int i = 0; i < MR; ++i)
        acc[j][i] += widen(a[2 * i]) * widen(b[2 * j]) + widen(a[2 * i + 1]) * widen(b[2 * j + 1]);
    a += 2 * MR;
    b += 2 * NR;
  }
  for (int j = 0; j < args.n; ++j)
    for (int i = 0; i < args.m; ++i) {
      float* p = args.c + i + j * args.ldc;
      float r = args.alpha * acc[j][i];
      if (args.beta != 0.0f) r += args.beta * *p;
      *p = r;
    }
}

}  // namespace

const Desc kPortableF32[] = {{8, 8, &kernel<8, 8>}, {4, 4, &kernel<4, 4>}, {0, 0, nullptr}};
const Desc kPortableBf16[] = {{8, 8, &kernel_bf16<8, 8>}, {0, 0, nullptr}};

}  // namespace perfcal::gemm::ukr
