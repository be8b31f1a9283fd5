// All-reduce family contract. Every all-reduce variant, perfcal's own or the MPI_Allreduce
// baseline, implements exactly this collective on every rank of a communicator:
//
//   recv[i] = send_0[i] op send_1[i] op ... op send_{p-1}[i]     for 0 <= i < count
//
//   send_r, recv_r: `count` elements of `dtype` on rank r (f32, f64, or bf16 as uint16 bit
//   patterns). in_place: send == recv on every rank (the input is overwritten). Pointers
//   need only the element's natural alignment; kernels never assume 64-byte alignment.
//   op: sum, max, min. bf16 is widened to fp32 inside every pairwise reduction and rounded
//   back once (round to nearest even); partial results travel as bf16, like NCCL's.
//   Every rank ends with bit-identical recv (each element's final value is computed once
//   and copied, or computed by both partners in the same canonical order: lower rank's
//   operand first).
//
// Ranks live on a transport:
//   threads  ranks are threads of one process (ThreadTeam): a receiver reduces straight out
//            of the sender's buffer, one copy fewer than any message-passing transport;
//   mpi      ranks are MPI processes (kernels/allreduce/mpi/, MPI point-to-point), launched
//            with mpirun/srun like any MPI program.
// Algorithms (one file each, registered for every built transport and dtype):
//   ring                reduce-scatter then all-gather, 2(p-1) steps of n/p bytes
//   recursive_doubling  log2(p) exchanges of the whole vector (latency)
//   rabenseifner        recursive halving reduce-scatter, recursive doubling all-gather
//   tree                binomial reduce to rank 0 then binomial broadcast, in chunks
//   mpi_allreduce       the baseline: MPI_Allreduce on the same buffers (mpi only)
// Registry names: allreduce/<transport>/<algorithm>/<dtype>, e.g. allreduce/threads/ring/f32.
//
// Message layout of the block-based algorithms: the vector is cut into p contiguous blocks,
// block b = [b*q + min(b, r), ...) with q = count / p, r = count % p (the first r blocks
// are one element longer), so counts below p give empty blocks and any count works.
//
// Bandwidth (docs/ALLREDUCE.md): algbw = bytes / time, busbw = algbw * 2(p-1)/p, coded once
// in algbw_gbps() and busbw_gbps().
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/cpu_info.h"
#include "core/registry.h"

namespace perfcal::allreduce {

enum class Op : uint8_t { sum, max, min };
enum class Transport : uint8_t { threads, mpi };

const char* to_string(Op op);
const char* to_string(Transport t);
bool parse_op(std::string_view s, Op* out);

struct Problem {
  int64_t count = 0;  // elements per rank
  Dtype dtype = Dtype::f32;
  Op op = Op::sum;
  bool in_place = false;
  Transport transport = Transport::threads;
  int ranks = 1;
  int64_t bytes() const { return count * static_cast<int64_t>(size_of(dtype)); }
};

// The tunable config. chunk_bytes: the largest message segment a transport sends at once
// (the tree also pipelines its levels in chunks of this size); pipeline_depth: segments in
// flight per message (MPI: outstanding Isend/Irecv pairs, each with its staging chunk).
struct Config {
  int64_t chunk_bytes = 512 * 1024;
  int pipeline_depth = 2;
};
void to_json(Json& j, const Config& c);
void from_json(const Json& j, Config& c);

// The identity of one all-reduce call; every message carries it so that ranks calling with
// different counts, dtypes, ops or algorithms are detected instead of silently reduced.
struct CallHeader {
  int64_t count = 0;
  Dtype dtype = Dtype::f32;
  Op op = Op::sum;
  const char* algorithm = "";  // registered algorithm name (static storage)
  bool operator==(const CallHeader& o) const;
  uint32_t hash() const;  // FNV-1a of all fields (MPI carries it in the message tag)
};
std::string describe(const CallHeader& h);

// out[i] = a[i] op b[i] for n elements (bf16: in fp32, rounded once). out may alias a or b.
struct Reducer {
  void (*fn)(const void* a, const void* b, void* out, std::size_t n) = nullptr;
  std::size_t elem_bytes = 4;
  void operator()(const void* a, const void* b, void* out, std::size_t n) const {
    fn(a, b, out, n);
  }
};
// The vectorised reduction for the best ISA tier this CPU has (AVX-512, AVX2, portable).
Reducer make_reducer(Dtype dtype, Op op);
// One tier explicitly (tests compare tiers); an unavailable tier returns a null fn.
Reducer make_reducer(Dtype dtype, Op op, Isa isa);

// One step of an algorithm on one rank: optionally send `send_bytes` from `send` to rank
// `dst`, and optionally receive `recv_bytes` from rank `src` into `out` (reducer null: copy)
// or combine them, out = local op incoming (incoming_first: incoming op local). The send
// region and the out region are either disjoint or identical; the transport makes the
// identical case safe (the peer still reads the old values).
struct Step {
  const void* send = nullptr;
  std::size_t send_bytes = 0;
  int dst = -1;  // < 0: nothing to send
  int src = -1;  // < 0: nothing to receive
  std::size_t recv_bytes = 0;
  void* out = nullptr;
  const void* local = nullptr;
  const Reducer* reducer = nullptr;
  bool incoming_first = false;
};

// A rank's view of its group. Methods are called by the rank's own thread only; all ranks
// must make the same sequence of calls. Failures (timeout, mismatch, a peer that left)
// return a Status naming the rank and what was expected; after one, the communicator
// refuses further calls (threads: until the team's next run()).
class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual Transport transport() const = 0;
  // How messages move, for reports: "shared address space" (threads), "MPI-3 shared-memory
  // window" or "MPI point-to-point" (mpi).
  virtual const char* channel() const = 0;
  // Starts one all-reduce call: messages until the next begin() carry `h`.
  virtual void begin(const CallHeader& h) = 0;
  virtual Status step(const Step& s, const Config& segmenting) = 0;
  virtual Status barrier() = 0;
  // How long one wait may last before it becomes an error on this rank (default 60 s, or
  // PERFCAL_ALLREDUCE_TIMEOUT_S).
  void set_timeout(double seconds) { timeout_s_ = seconds; }
  double timeout_s() const { return timeout_s_; }

 protected:
  Communicator();
  double timeout_s_;
};

// Ranks as threads of this process. The calling thread of run() is rank 0; ranks - 1
// worker threads wait between runs (spin briefly, then sleep on a futex).
class ThreadTeam {
 public:
  static Status create(int ranks, std::unique_ptr<ThreadTeam>* out);
  ~ThreadTeam();
  int size() const;
  // Runs fn(communicator of rank r) on every rank r and waits for all. Returns the first
  // failure (the root cause, not the other ranks' "aborted"), Ok when every rank succeeded.
  // A rank that fails aborts the others' waits at once.
  Status run(const std::function<Status(Communicator&)>& fn);
  // Per-rank statuses of the last run().
  const std::vector<Status>& statuses() const;
  void set_timeout(double seconds);

  struct Impl;

 private:
  explicit ThreadTeam(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// MPI_COMM_WORLD (duplicated) as a communicator. MPI must already be initialised (with
// MPI_THREAD_FUNNELED or more). Unsupported when perfcal was built without MPI.
Status mpi_world_communicator(std::unique_ptr<Communicator>* out);

// Per rank: the buffers and the communicator the call runs on.
struct Operands {
  const void* send = nullptr;
  void* recv = nullptr;
  Communicator* comm = nullptr;
};

using Variant = perfcal::Variant<Problem, Operands>;
using Registry = perfcal::Registry<Variant>;

// Registered algorithm names (ring, recursive_doubling, ...), in registration order.
const std::vector<std::string>& algorithm_names();
// allreduce/<transport>/<algorithm>/<dtype>
std::string variant_name(Transport t, const std::string& algorithm, Dtype d);

// Count, dtype, op, ranks in range; the message names the offending field.
Status validate(const Problem& p);
// The one validity check of a (config, problem) for an algorithm; every constraint with its
// reason in the message.
Status can_implement(const Config& c, const Problem& p, const std::string& algorithm);
Config default_config(const Problem& p, const std::string& algorithm);

// Bandwidth as nccl-tests defines it (docs/ALLREDUCE.md "Bandwidth"): bytes are one rank's
// vector, seconds the time of one call.
double algbw_gbps(double bytes, double seconds);
double busbw_gbps(double algbw_gbps, int ranks);

// Crafted inputs: small integers whose every partial sum is exact in f32, f64 and bf16
// (|value| <= max(1, min(8, 256 / ranks)), so any sum over ranks stays within bf16's 8-bit
// significand up to 256 ranks); never all zero. Element i of rank r, as a double.
double crafted_value(int64_t i, int rank, int ranks, uint64_t seed);
// Writes rank r's crafted vector in `dtype`.
void fill_crafted(Dtype dtype, void* x, int64_t count, int rank, int ranks, uint64_t seed);
// Element i of a `dtype` vector as double.
double load(Dtype dtype, const void* x, int64_t i);

// The float64 reference, the most obvious code in the folder: out[i] = op over ranks of
// inputs[r][i], for inputs in `p.dtype`.
void reference(const Problem& p, const std::vector<const void*>& inputs, double* out);
// Expected element i for the crafted inputs of `seed` (no input buffers needed, so very large
// vectors can be checked).
double crafted_reference(const Problem& p, int64_t i, uint64_t seed);
// Elements of `got` (p.dtype) that differ from the crafted reference; exact comparison.
int64_t count_wrong_crafted(const Problem& p, const void* got, uint64_t seed);

}  // namespace perfcal::allreduce

template <>
perfcal::allreduce::Registry& perfcal::allreduce::Registry::instance();
