// CUDA implementation of core/gpu_probes.h. Each probe times itself with CUDA events.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <string>

#include "core/gpu_probes.h"

namespace perfcal {
namespace {

// One CUDA_CHECK: the failing expression, file and line become the Status message.
#define PERFCAL_CUDA_CHECK(expr)                                                           \
  do {                                                                                     \
    cudaError_t perfcal_err_ = (expr);                                                     \
    if (perfcal_err_ != cudaSuccess)                                                       \
      return Status::Internal(std::string(#expr) + " failed at " + __FILE__ + ":" +        \
                              std::to_string(__LINE__) + ": " + cudaGetErrorString(perfcal_err_)); \
  } while (0)

constexpr int kFmaChains = 8;   // covers the 4-cycle FMA latency with 2 warps/scheduler
constexpr int kFmaIters = 4096;

__global__ void fma_kernel(float* out, float a, float b) {
  float acc[kFmaChains];
  for (int i = 0; i < kFmaChains; ++i) acc[i] = threadIdx.x * 1e-3f + i;
  for (int it = 0; it < kFmaIters; ++it)
#pragma unroll
    for (int i = 0; i < kFmaChains; ++i) acc[i] = fmaf(acc[i], a, b);
  float s = 0;
  for (int i = 0; i < kFmaChains; ++i) s += acc[i];
  if (s == 12345.678f) out[threadIdx.x] = s;  // never true; keeps the chains alive
}

constexpr int kMmaIters = 2048;
constexpr int kMmaChains = 4;

// Each warp issues kMmaChains independent m16n8k16 bf16 MMAs per iteration: 4096 FLOP each.
__global__ void mma_kernel(float* out) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  unsigned a[4] = {0x3f803f80u, 0x3f803f80u, 0x3f803f80u, 0x3f803f80u};  // bf16 1.0 pairs
  unsigned b[2] = {0x33803380u, 0x33803380u};                            // bf16 ~6e-8 pairs
  float c[kMmaChains][4] = {};
  for (int it = 0; it < kMmaIters; ++it)
#pragma unroll
    for (int j = 0; j < kMmaChains; ++j)
      asm volatile(
          "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
          "{%8,%9}, {%0,%1,%2,%3};\n"
          : "+f"(c[j][0]), "+f"(c[j][1]), "+f"(c[j][2]), "+f"(c[j][3])
          : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  float s = 0;
  for (int j = 0; j < kMmaChains; ++j) s += c[j][0] + c[j][1] + c[j][2] + c[j][3];
  if (s == 12345.678f) out[threadIdx.x] = s;
#else
  if (threadIdx.x == 0 && out) out[0] = -1.0f;  // marks "no tensor cores" for the host
#endif
}

__global__ void empty_kernel() {}

struct Events {
  cudaEvent_t start = nullptr, stop = nullptr;
  ~Events() {
    if (start) cudaEventDestroy(start);
    if (stop) cudaEventDestroy(stop);
  }
};

}  // namespace

Status run_gpu_probe(GpuProbe probe, int dev, double* seconds, double* work) {
  PERFCAL_CUDA_CHECK(cudaSetDevice(dev));
  cudaDeviceProp prop{};
  PERFCAL_CUDA_CHECK(cudaGetDeviceProperties(&prop, dev));
  if (probe == GpuProbe::mma_bf16 && prop.major < 8)
    return Status::Unsupported("mma.sync bf16 needs compute capability 8.0 or newer");
  Events ev;
  PERFCAL_CUDA_CHECK(cudaEventCreate(&ev.start));
  PERFCAL_CUDA_CHECK(cudaEventCreate(&ev.stop));
  float* scratch = nullptr;
  PERFCAL_CUDA_CHECK(cudaMalloc(&scratch, 1024 * sizeof(float)));
  // Enough blocks to fill every SM several times over.
  const int blocks = prop.multiProcessorCount * 8, threads = 256;
  void* src = nullptr;
  void* dst = nullptr;
  const std::size_t copy_bytes = std::size_t{256} << 20;
  if (probe == GpuProbe::copy) {
    PERFCAL_CUDA_CHECK(cudaMalloc(&src, copy_bytes));
    PERFCAL_CUDA_CHECK(cudaMalloc(&dst, copy_bytes));
    PERFCAL_CUDA_CHECK(cudaMemset(src, 1, copy_bytes));
  }
  const int launches = 1000;
  PERFCAL_CUDA_CHECK(cudaEventRecord(ev.start));
  switch (probe) {
    case GpuProbe::fma_f32:
      fma_kernel<<<blocks, threads>>>(scratch, 0.999999f, 1e-7f);
      *work = double(blocks) * threads * kFmaIters * kFmaChains * 2;
      break;
    case GpuProbe::mma_bf16:
      mma_kernel<<<blocks, threads>>>(scratch);
      *work = double(blocks) * (threads / 32) * kMmaIters * kMmaChains * 16.0 * 8 * 16 * 2;
      break;
    case GpuProbe::copy:
      PERFCAL_CUDA_CHECK(cudaMemcpyAsync(dst, src, copy_bytes, cudaMemcpyDeviceToDevice));
      *work = 2.0 * double(copy_bytes);  // read + write
      break;
    case GpuProbe::launch:
      for (int i = 0; i < launches; ++i) empty_kernel<<<1, 1>>>();
      *work = launches;
      break;
  }
  PERFCAL_CUDA_CHECK(cudaGetLastError());
  PERFCAL_CUDA_CHECK(cudaEventRecord(ev.stop));
  PERFCAL_CUDA_CHECK(cudaEventSynchronize(ev.stop));
  float ms = 0;
  PERFCAL_CUDA_CHECK(cudaEventElapsedTime(&ms, ev.start, ev.stop));
  *seconds = ms * 1e-3;
  cudaFree(scratch);
  if (src) cudaFree(src);
  if (dst) cudaFree(dst);
  return *seconds > 0 ? Status::Ok() : Status::Internal("zero device time measured");
}

}  // namespace perfcal
