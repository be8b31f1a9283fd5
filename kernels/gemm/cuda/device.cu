// The GPU GEMM registry instance and the device helpers of gemm_gpu.h: limits read from
// cudaDeviceProp, buffers, CUDA-event timers, streams. Every CUDA error becomes a Status.
#include <map>
#include <mutex>
#include <string>

#include "gemm/cuda/cuda_check.h"

template <>
perfcal::gemm::gpu::Registry& perfcal::gemm::gpu::Registry::instance() {
  static Registry r;
  return r;
}

namespace perfcal::gemm::gpu {

Status cuda_status(int err, const char* expr, const char* file, int line) {
  const auto e = static_cast<cudaError_t>(err);
  std::string msg = std::string(expr) + " failed at " + file + ":" + std::to_string(line) + ": " +
                    cudaGetErrorString(e);
  if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver)
    return Status::Unsupported(msg);
  if (e == cudaErrorMemoryAllocation) return Status::OutOfMemory(msg);
  return Status::Internal(msg);
}

// cudaGetDeviceProperties costs tens of microseconds or more: the limits are read once per
// device and cached (the C API checks them on every call).
Status current_device_limits(DeviceLimits* out) {
  int dev = 0;
  PERFCAL_CUDA_CHECK(cudaGetDevice(&dev));
  static std::mutex mu;
  static std::map<int, DeviceLimits> cache;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(dev);
    if (it != cache.end()) {
      *out = it->second;
      return Status::Ok();
    }
  }
  cudaDeviceProp p{};
  PERFCAL_CUDA_CHECK(cudaGetDeviceProperties(&p, dev));
  DeviceLimits l;
  l.device = dev;
  l.cc_major = p.major;
  l.cc_minor = p.minor;
  l.smem_per_block = p.sharedMemPerBlock;
  l.smem_per_block_optin = p.sharedMemPerBlockOptin;
  l.regs_per_block = p.regsPerBlock;
  l.max_threads_per_block = p.maxThreadsPerBlock;
  l.max_grid_y = p.maxGridSize[1];
  std::lock_guard<std::mutex> lock(mu);
  cache[dev] = l;
  *out = l;
  return Status::Ok();
}

Status device_available() {
  static std::once_flag once;
  static Status cached;
  std::call_once(once, [] {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
      cached = Status::Unsupported(std::string("no usable CUDA device: ") + cudaGetErrorString(e));
      cudaGetLastError();  // clear the sticky error so later calls are not poisoned
    } else if (n == 0) {
      cached = Status::Unsupported("CUDA driver present but no device");
    }
  });
  return cached;
}

DeviceBuffer::~DeviceBuffer() {
  if (p_) cudaFree(p_);
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    if (p_) cudaFree(p_);
    p_ = o.p_, bytes_ = o.bytes_;
    o.p_ = nullptr, o.bytes_ = 0;
  }
  return *this;
}

Status DeviceBuffer::allocate(std::size_t bytes) {
  if (p_) cudaFree(p_);
  p_ = nullptr, bytes_ = 0;
  if (bytes == 0) bytes = 16;  // a valid pointer even for empty matrices
  PERFCAL_CUDA_CHECK(cudaMalloc(&p_, bytes));
  bytes_ = bytes;
  return Status::Ok();
}

Status DeviceBuffer::upload(const void* host, std::size_t bytes, std::size_t offset) {
  if (offset + bytes > bytes_) return Status::Invalid("upload past the end of the device buffer");
  if (bytes == 0) return Status::Ok();
  PERFCAL_CUDA_CHECK(cudaMemcpy(static_cast<char*>(p_) + offset, host, bytes, cudaMemcpyHostToDevice));
  return Status::Ok();
}

Status DeviceBuffer::download(void* host, std::size_t bytes, std::size_t offset) const {
  if (offset + bytes > bytes_) return Status::Invalid("download past the end of the device buffer");
  if (bytes == 0) return Status::Ok();
  PERFCAL_CUDA_CHECK(cudaMemcpy(host, static_cast<const char*>(p_) + offset, bytes, cudaMemcpyDeviceToHost));
  return Status::Ok();
}

Status DeviceBuffer::fill(int byte) {
  PERFCAL_CUDA_CHECK(cudaMemset(p_, byte, bytes_));
  return Status::Ok();
}

EventTimer::~EventTimer() {
  if (start_) cudaEventDestroy(static_cast<cudaEvent_t>(start_));
  if (stop_) cudaEventDestroy(static_cast<cudaEvent_t>(stop_));
}

Status EventTimer::start(void* stream) {
  if (!start_) {
    cudaEvent_t a = nullptr, b = nullptr;
    PERFCAL_CUDA_CHECK(cudaEventCreate(&a));
    start_ = a;
    PERFCAL_CUDA_CHECK(cudaEventCreate(&b));
    stop_ = b;
  }
  stream_ = stream;
  PERFCAL_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(start_), to_stream(stream)));
  return Status::Ok();
}

Status EventTimer::stop(double* seconds) {
  if (!start_) return Status::Invalid("EventTimer::stop without start");
  PERFCAL_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(stop_), to_stream(stream_)));
  PERFCAL_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(stop_)));
  float ms = 0;
  PERFCAL_CUDA_CHECK(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start_),
                                          static_cast<cudaEvent_t>(stop_)));
  *seconds = double(ms) * 1e-3;
  return Status::Ok();
}

Status set_device(int device) {
  PERFCAL_CUDA_CHECK(cudaSetDevice(device));
  return Status::Ok();
}

Status synchronize() {
  PERFCAL_CUDA_CHECK(cudaDeviceSynchronize());
  PERFCAL_CUDA_CHECK(cudaGetLastError());
  return Status::Ok();
}

Status create_stream(void** stream) {
  cudaStream_t s = nullptr;
  PERFCAL_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  *stream = s;
  return Status::Ok();
}

void destroy_stream(void* stream) {
  if (stream) cudaStreamDestroy(to_stream(stream));
}

}  // namespace perfcal::gemm::gpu
