// Registry entry gemm/cpu/avx2/f32:
//   fp32 GEMM, AVX2+FMA micro-kernels (16x6; 8x12, 24x4)
// Runs on the BLIS-style driver (blis.cpp) with the micro-kernels of avx2/ukernels_f32.cpp.
// Try it: build/bin/bench_gemm --benchmark_filter='gemm/cpu/avx2/f32/'
#include "gemm/blis.h"

static const perfcal::gemm::Registrar kRegister{std::make_unique<perfcal::gemm::BlisVariant>(
    perfcal::VariantInfo{"gemm/cpu/avx2/f32", "cpu", perfcal::Dtype::f32, false,
                         "fp32 GEMM, AVX2+FMA micro-kernels (16x6; 8x12, 24x4)"},
    perfcal::Isa::avx2, perfcal::Dtype::f32)};
