// Registry entry gemm/cpu/portable/f32:
//   fp32 GEMM, portable C++ micro-kernels (8x8; 4x4), the fallback for any x86-64
// Runs on the BLIS-style driver (blis.cpp) with the micro-kernels of portable_ukernel.cpp.
// Try it: build/bin/bench_gemm --benchmark_filter='gemm/cpu/portable/f32/'
#include "gemm/blis.h"

static const perfcal::gemm::Registrar kRegister{std::make_unique<perfcal::gemm::BlisVariant>(
    perfcal::VariantInfo{
        "gemm/cpu/portable/f32", "cpu", perfcal::Dtype::f32, false,
        "fp32 GEMM, portable C++ micro-kernels (8x8; 4x4), the fallback for any x86-64"},
    perfcal::Isa::portable, perfcal::Dtype::f32)};
