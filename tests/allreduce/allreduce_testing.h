// Helpers shared by the all-reduce tests (threads and MPI): per-rank buffers with guard bytes
// and an optional misalignment, crafted inputs, and the checks every case runs: the result
// equals the crafted float64 reference exactly on this rank, the input is untouched when out
// of place, and nothing past the vector was written.
#pragma once
#include <cstring>
#include <string>
#include <vector>

#include "allreduce/allreduce.h"
#include "core/aligned_buffer.h"

namespace perfcal::allreduce::testing {

inline constexpr unsigned char kGuard = 0xA5;
inline constexpr std::size_t kGuardBytes = 64;

// One rank's send/recv vectors. misalign: element offset from a 64-byte boundary, so vector
// kernels see unaligned heads and tails.
struct RankBuffers {
  AlignedBuffer<unsigned char> send_mem, recv_mem;
  void* send = nullptr;
  void* recv = nullptr;
  std::size_t bytes = 0;

  void init(const Problem& p, int rank, int misalign, uint64_t seed) {
    const std::size_t es = size_of(p.dtype);
    bytes = static_cast<std::size_t>(p.count) * es;
    const std::size_t off = static_cast<std::size_t>(misalign) * es;
    send_mem.reset(bytes + off + kGuardBytes);
    recv_mem.reset(bytes + off + kGuardBytes);
    std::memset(send_mem.data(), kGuard, bytes + off + kGuardBytes);
    std::memset(recv_mem.data(), kGuard, bytes + off + kGuardBytes);
    send = send_mem.data() + off;
    recv = p.in_place ? send : static_cast<void*>(recv_mem.data() + off);
    fill_crafted(p.dtype, send, p.count, rank, p.ranks, seed);
  }
  Operands ops(Communicator* c) const { return Operands{send, recv, c}; }

  // "" when this rank's result is right; else what is wrong.
  std::string check(const Problem& p, int rank, uint64_t seed) const {
    const int64_t wrong = count_wrong_crafted(p, recv, seed);
    if (wrong) {
      for (int64_t i = 0; i < p.count; ++i)
        if (load(p.dtype, recv, i) != crafted_reference(p, i, seed))
          return "rank " + std::to_string(rank) + ": " + std::to_string(wrong) +
                 " wrong elements, first [" + std::to_string(i) +
                 "] = " + std::to_string(load(p.dtype, recv, i)) + " expected " +
                 std::to_string(crafted_reference(p, i, seed));
    }
    const unsigned char* end = static_cast<const unsigned char*>(recv) + bytes;
    for (std::size_t i = 0; i < kGuardBytes; ++i)
      if (end[i] != kGuard) return "rank " + std::to_string(rank) + ": wrote past the end of recv";
    if (!p.in_place)
      for (int64_t i = 0; i < p.count; ++i)
        if (load(p.dtype, send, i) != crafted_value(i, rank, p.ranks, seed))
          return "rank " + std::to_string(rank) + ": modified its send buffer at [" +
                 std::to_string(i) + "]";
    return "";
  }
};

}  // namespace perfcal::allreduce::testing
