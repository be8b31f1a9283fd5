// Owning, 64-byte-aligned (one cache line / one zmm register) host buffer.
// Sizes are checked for overflow before allocating so absurd problems fail cleanly.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>

namespace perfcal {

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

// Multiplies sizes, returning false on overflow of size_t.
inline bool checked_mul(std::size_t a, std::size_t b, std::size_t* out) {
  if (a != 0 && b > std::numeric_limits<std::size_t>::max() / a) return false;
  *out = a * b;
  return true;
}

template <class T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  // Allocates `count` elements; on overflow or allocation failure, data() is null.
  explicit AlignedBuffer(std::size_t count) { reset(count); }
  bool reset(std::size_t count) {
    ptr_.reset();
    count_ = 0;
    std::size_t bytes;
    if (!checked_mul(count, sizeof(T), &bytes)) return false;
    bytes = (bytes + 63) / 64 * 64;
    if (bytes == 0) bytes = 64;
    ptr_.reset(std::aligned_alloc(64, bytes));
    if (ptr_) count_ = count;
    return ptr_ != nullptr;
  }
  T* data() { return static_cast<T*>(ptr_.get()); }
  const T* data() const { return static_cast<const T*>(ptr_.get()); }
  std::size_t size() const { return count_; }
  T& operator[](std::size_t i) { return data()[i]; }
  const T& operator[](std::size_t i) const { return data()[i]; }

 private:
  std::unique_ptr<void, FreeDeleter> ptr_;
  std::size_t count_ = 0;
};

}  // namespace perfcal
