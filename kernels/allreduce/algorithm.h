// Internal interface between the generic all-reduce variant (common.cpp) and the algorithm
// files (ring.cpp, recursive_doubling.cpp, rabenseifner.cpp, tree.cpp, mpi/mpi_allreduce.cpp).
// An algorithm is one function over the Communicator's steps; its file ends with one line
//
//   static const AlgorithmRegistrar kRegister{{"ring", "description", &ring, kAllTransports}};
//
// which registers allreduce/<transport>/<algorithm>/<dtype> for every built transport it
// supports and every dtype (f32, bf16, f64).
#pragma once
#include <cstring>

#include "allreduce/allreduce.h"

namespace perfcal::allreduce::detail {

// What one rank's call sees.
struct Context {
  const Problem* problem = nullptr;
  const Config* config = nullptr;
  const Reducer* reducer = nullptr;
  const char* send = nullptr;  // byte pointers: algorithms slice by byte offsets
  char* recv = nullptr;
  Communicator* comm = nullptr;
  std::size_t elem = 4;  // bytes per element
  int rank = 0, size = 1;

  Status step(const Step& s) const { return comm->step(s, *config); }
  // recv = send when out of place (a 1-rank call, or the algorithms' first step when they
  // do not fold it into a reduction).
  void copy_input() const {
    if (send != recv && problem->count > 0)
      std::memmove(recv, send, static_cast<std::size_t>(problem->count) * elem);
  }
};

using AlgorithmFn = Status (*)(const Context&);

inline constexpr unsigned kThreads = 1u << static_cast<unsigned>(Transport::threads);
inline constexpr unsigned kMpi = 1u << static_cast<unsigned>(Transport::mpi);
inline constexpr unsigned kAllTransports = kThreads | kMpi;

struct Algorithm {
  const char* name;
  const char* description;
  AlgorithmFn fn;
  unsigned transports = kAllTransports;
  bool baseline = false;
};

struct AlgorithmRegistrar {
  explicit AlgorithmRegistrar(const Algorithm& a);
};

// The p contiguous blocks of the vector (allreduce.h "Message layout").
struct Blocks {
  int64_t count;
  int parts;
  int64_t begin(int b) const {
    const int64_t q = count / parts, r = count % parts;
    return b * q + std::min<int64_t>(b, r);
  }
  int64_t end(int b) const { return begin(b + 1); }
  int64_t len(int b) const { return end(b) - begin(b); }
};

// Folding of a non-power-of-two group onto its largest power of two p2 (recursive doubling
// and Rabenseifner): the first 2*rem ranks pair up (even r hands its vector to r + 1 and
// sits out), the rest keep going. virt: this rank's index among the p2, or -1 when out.
struct Fold {
  int p2 = 1, rem = 0, virt = -1;
  Fold(int rank, int size) {
    while (p2 * 2 <= size) p2 *= 2;
    rem = size - p2;
    if (rank < 2 * rem)
      virt = (rank % 2) ? rank / 2 : -1;
    else
      virt = rank - rem;
  }
  int real(int v) const { return v < rem ? 2 * v + 1 : v + rem; }
};

// The folding steps around a power-of-two core, shared by recursive doubling and
// Rabenseifner. fold_in: even ranks of the first 2*rem send their input to r + 1, which
// reduces it into recv (lower rank's operand first). fold_out: the odd ranks send the
// result back.
Status fold_in(const Context& c, const Fold& f);
Status fold_out(const Context& c, const Fold& f);

}  // namespace perfcal::allreduce::detail
