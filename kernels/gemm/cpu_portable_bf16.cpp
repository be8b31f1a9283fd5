// Registry entry gemm/cpu/portable/bf16:
//   bf16 x bf16 -> fp32 GEMM, portable C++ micro-kernel (8x8), the fallback without AVX512_BF16
// Runs on the BLIS-style driver (blis.cpp) with the micro-kernels of portable_ukernel.cpp.
// Try it: build/bin/bench_gemm --benchmark_filter='gemm/cpu/portable/bf16/'
#include "gemm/blis.h"

static const perfcal::gemm::Registrar kRegister{std::make_unique<perfcal::gemm::BlisVariant>(
    perfcal::VariantInfo{"gemm/cpu/portable/bf16", "cpu", perfcal::Dtype::bf16, false,
                         "bf16 x bf16 -> fp32 GEMM, portable C++ micro-kernel (8x8), the fallback "
                         "without AVX512_BF16"},
    perfcal::Isa::portable, perfcal::Dtype::bf16)};
