// GPU GEMM family: the same operation and Problem as gemm.h (column-major, BLAS semantics,
// C f32, A/B f32 or bf16 bit patterns), on device pointers and a CUDA stream.
//
//   C[m x n] = alpha * op(A)[m x k] * op(B)[k x n] + beta * C       (all device memory)
//
// Why a parallel registry (gemm::gpu::Registry) instead of entries in gemm::Registry: the
// CPU registry is enumerated by the CPU tests, the CPU bench and the tuner with host
// pointers; a GPU variant there would be handed host memory. A distinct Operands type gives
// a distinct Registry<Variant<Problem, Operands>> instance; the Problem (sizes, transposes,
// leading dimensions, alpha/beta) is shared, so the float64 reference and validate() are
// the CPU family's own. Both registries feed all_variants() (`perfcal list`).
//
// Variants (kernels/gemm/cuda/*.cu, one file each, one registration line each):
//   gemm/cuda/simt/f32       shared-memory tiles, TM x TN register blocking, float4, 2 buffers
//   gemm/cuda/mma/bf16       mma.sync m16n8k16 bf16->f32, ldmatrix, cp.async stages, swizzle
//   gemm/cuda/cublas/f32     cublasSgemm (baseline)
//   gemm/cuda/cublas_tf32/f32 cublasSgemm with CUBLAS_TF32_TENSOR_OP_MATH (baseline)
//   gemm/cuda/cublas/bf16    cublasGemmEx bf16 x bf16 -> f32, CUBLAS_COMPUTE_32F (baseline)
//   gemm/cuda/cublaslt/bf16  cublasLtMatmul bf16 x bf16 -> f32, heuristic algo (baseline)
// Every layout (ta, tb in {N, T}, any ld >= rows, any pointer alignment) is accepted by
// every variant; perfcal's kernels take a vector/cp.async path only where ld and the base
// pointer allow it and a guarded element path otherwise.
//
// A plan is bound to the device current at make_plan; Plan::run enqueues on ops.stream
// (nullptr = the legacy default stream) and does not synchronise.
//
// This header needs no CUDA headers: the bench and tests include it in every build; the
// functions below exist only where perfcal is built with CUDA (PERFCAL_HAVE_CUDA).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "gemm/gemm.h"

namespace perfcal::gemm::gpu {

struct Operands {
  const void* a = nullptr;  // device, dtype elements
  const void* b = nullptr;  // device, dtype elements
  float* c = nullptr;       // device
  void* stream = nullptr;   // cudaStream_t; nullptr = default stream
};

using Variant = perfcal::Variant<Problem, Operands>;
using Registry = perfcal::Registry<Variant>;
using Registrar = perfcal::Registrar<Variant>;

// ---- device helpers for tests and benchmarks (CUDA builds only) --------------------------

// The current device's limits that can_implement checks against.
struct DeviceLimits {
  int device = -1;
  int cc_major = 0, cc_minor = 0;
  std::size_t smem_per_block = 0;        // static shared memory limit
  std::size_t smem_per_block_optin = 0;  // dynamic shared memory limit after opt-in
  int regs_per_block = 0;
  int max_threads_per_block = 0;
  int max_grid_y = 0;
};
// Ok with the limits of the current device, or the CUDA error (no device, no driver).
Status current_device_limits(DeviceLimits* out);
// Ok when a CUDA device is usable; the reason otherwise. Cached after the first call.
Status device_available();

// A cudaMalloc'ed buffer; move-only. Errors come back as Status, never abort.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& o) noexcept : p_(o.p_), bytes_(o.bytes_) { o.p_ = nullptr, o.bytes_ = 0; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  Status allocate(std::size_t bytes);
  Status upload(const void* host, std::size_t bytes, std::size_t offset = 0);
  Status download(void* host, std::size_t bytes, std::size_t offset = 0) const;
  // Fills every byte with `byte` (0xFF: every f32 word is a NaN, the poison for outputs).
  Status fill(int byte);
  void* get() const { return p_; }
  std::size_t bytes() const { return bytes_; }

 private:
  void* p_ = nullptr;
  std::size_t bytes_ = 0;
};

// CUDA-event timer on a stream: start(), enqueue work, stop() returns the device seconds.
class EventTimer {
 public:
  EventTimer() = default;
  ~EventTimer();
  EventTimer(const EventTimer&) = delete;
  EventTimer& operator=(const EventTimer&) = delete;
  Status start(void* stream = nullptr);
  Status stop(double* seconds);  // synchronises on the stop event

 private:
  void* start_ = nullptr;  // cudaEvent_t
  void* stop_ = nullptr;
  void* stream_ = nullptr;
};

// cudaSetDevice as a Status.
Status set_device(int device);
// cudaDeviceSynchronize plus the sticky/async error, as a Status.
Status synchronize();
// Creates / destroys a non-blocking stream (returned as void*).
Status create_stream(void** stream);
void destroy_stream(void* stream);

// Shared by the variants: a CUDA error as a Status naming the expression, file and line.
Status cuda_status(int err, const char* expr, const char* file, int line);

}  // namespace perfcal::gemm::gpu

template <>
perfcal::gemm::gpu::Registry& perfcal::gemm::gpu::Registry::instance();
