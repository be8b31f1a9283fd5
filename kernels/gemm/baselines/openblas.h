// What the OpenBLAS baseline (gemm/cpu/openblas/f32) runs on, for the device profile's
// software section: the kernel core OpenBLAS picked at load time (e.g. "Cooperlake", or
// "Haswell" when OPENBLAS_CORETYPE forces it) and its build configuration string.
#pragma once
#include <string>

namespace perfcal::gemm {

std::string openblas_corename();
std::string openblas_config();

}  // namespace perfcal::gemm
