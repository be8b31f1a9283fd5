// Same-node fast path of the MPI transport: one MPI-3 shared-memory window
// (MPI_Win_allocate_shared on the node communicator) holds, for every ordered pair of ranks
// (src, dst), a ring of `slots` segment buffers that src fills and dst drains. A message
// costs one copy into the window by the sender and one read by the receiver, which reduces
// straight out of it into its output: no MPI message, no intermediate copy out of the
// window (Open MPI's shared-memory BTL without CMA, i.e. in containers, copies in and out).
//
// Protocol per channel (sequence numbers count segments since the window was created and
// survive calls): the sender waits until fewer than `depth` segments are unconsumed, copies
// segment g into slot g % slots, writes its header (call hash, bytes), then publishes
// seq = g + 1 (release). The receiver waits for seq > g (acquire), checks the header
// against its own call (mismatched calls become a clear error, as on the other
// transports), reduces or copies, then publishes ack = g + 1. seq is written only by the
// sender, ack only by the receiver, each on its own cache line.
//
// Used when every rank of the communicator shares one node (else the transport stays on
// point-to-point messages) and PERFCAL_MPI_SHM is not 0.
#pragma once
#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "allreduce/allreduce.h"

namespace perfcal::allreduce::mpi {

class ShmChannels {
 public:
  // Collective over `comm` (a duplicate of MPI_COMM_WORLD): the process's channels, made on
  // the first call and reset on later ones. *out is null when the ranks span several nodes,
  // PERFCAL_MPI_SHM=0, or the window cannot be allocated on some rank: every rank then
  // agrees to use point-to-point messages.
  static Status attach(MPI_Comm comm, ShmChannels** out);
  ~ShmChannels();

  // One Step (allreduce.h) over the window. `hash` identifies the call (CallHeader::hash),
  // `header` names it in error messages.
  Status step(const Step& s, const Config& cfg, uint32_t hash, double timeout_s,
              const CallHeader& header);

  std::size_t slot_bytes() const { return slot_bytes_; }
  int slots() const { return kSlots; }

 private:
  static constexpr int kSlots = 4;
  struct Channel;
  ShmChannels() = default;
  static Status create(MPI_Comm comm, std::unique_ptr<ShmChannels>* out);
  void reset(MPI_Comm comm);
  Channel& channel(int src, int dst) const;
  char* slot(int src, int dst, uint64_t g) const;

  MPI_Win win_ = MPI_WIN_NULL;
  int rank_ = 0, size_ = 1;
  std::size_t slot_bytes_ = 0;
  std::size_t region_bytes_ = 0;     // one rank's part of the window
  std::vector<char*> base_;          // every rank's part, mapped in this process
  std::vector<uint64_t> sent_, got_;  // segments this rank sent to / received from each peer
};

}  // namespace perfcal::allreduce::mpi
