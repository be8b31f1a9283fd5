// Registry entry gemm/cpu/avx512/f32:
//   fp32 GEMM, AVX-512 FMA micro-kernels (32x12; 32x14, 48x8, 64x6, 16x28, 16x14, 32x8)
// Runs on the BLIS-style driver (blis.cpp) with the micro-kernels of avx512/ukernels_f32.cpp.
// Try it: build/bin/bench_gemm --benchmark_filter='gemm/cpu/avx512/f32/'
#include "gemm/blis.h"

static const perfcal::gemm::Registrar kRegister{std::make_unique<perfcal::gemm::BlisVariant>(
    perfcal::VariantInfo{
        "gemm/cpu/avx512/f32", "cpu", perfcal::Dtype::f32, false,
        "fp32 GEMM, AVX-512 FMA micro-kernels (32x12; 32x14, 48x8, 64x6, 16x28, 16x14, 32x8)"},
    perfcal::Isa::avx512, perfcal::Dtype::f32)};
