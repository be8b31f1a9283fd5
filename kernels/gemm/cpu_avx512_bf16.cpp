// Registry entry gemm/cpu/avx512/bf16:
//   bf16 x bf16 -> fp32 GEMM, AVX512_BF16 vdpbf16ps or widened-to-fp32 FMA micro-kernels
// Runs on the BLIS-style driver (blis.cpp) with the micro-kernels of avx512/ukernels_bf16.cpp
// (compute native) or avx512/ukernels_f32.cpp (compute widen).
//
// Try it: build/bin/bench_gemm --benchmark_filter='gemm/cpu/avx512/bf16/'
#include "gemm/blis.h"

static const perfcal::gemm::Registrar kRegister{std::make_unique<perfcal::gemm::BlisVariant>(
    perfcal::VariantInfo{
        "gemm/cpu/avx512/bf16", "cpu", perfcal::Dtype::bf16, false,
        "bf16 x bf16 -> fp32 GEMM, AVX512_BF16 vdpbf16ps or widened-to-fp32 FMA micro-kernels"},
    perfcal::Isa::avx512, perfcal::Dtype::bf16)};
