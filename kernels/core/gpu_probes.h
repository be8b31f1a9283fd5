// GPU probes: the ceilings of a CUDA device, timed with CUDA events on the device itself.
//   fma_f32     FP32 FMA peak (independent chains per thread)
//   mma_bf16    tensor-core peak, mma.sync m16n8k16 bf16 -> f32 (sm_80+)
//   copy        device-to-device copy bandwidth (bytes read + written)
//   launch      launch latency of an empty kernel (no rate; time per launch)
// Built without CUDA every probe returns Unsupported; with CUDA but no device, the CUDA
// error is returned as a Status (never an abort).
#pragma once
#include "core/status.h"

namespace perfcal {

enum class GpuProbe { fma_f32, mma_bf16, copy, launch };

// Runs one probe on device `dev`: *seconds is the device time of one run, *work its FLOPs
// (fma, mma), bytes moved (copy) or launches (launch).
Status run_gpu_probe(GpuProbe probe, int dev, double* seconds, double* work);

}  // namespace perfcal
