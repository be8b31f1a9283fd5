#include "allreduce/mpi/shm_channels.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace perfcal::allreduce::mpi {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kLine = 64;
// Each rank's part of the window holds p channels of kSlots slots: at most this many bytes,
// so 64 ranks on one node still fit in a few hundred MiB of /dev/shm.
constexpr std::size_t kRegionBudget = 32u << 20;
constexpr std::size_t kMaxSlotBytes = 512u << 10;  // the default chunk_bytes: one slot each
constexpr std::size_t kMinSlotBytes = 4u << 10;

char* align_up(char* p) {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  return p + ((kLine - a % kLine) % kLine);
}

struct SlotHeader {
  uint32_t hash;
  uint32_t bytes;
};

}  // namespace

struct ShmChannels::Channel {
  alignas(kLine) std::atomic<uint64_t> seq;  // segments published by the sender
  alignas(kLine) std::atomic<uint64_t> ack;  // segments consumed by the receiver
  alignas(kLine) SlotHeader header[kSlots];
};
static_assert(std::atomic<uint64_t>::is_always_lock_free, "cross-process atomics need lock-free");
static constexpr std::size_t kChannelBytes = 256;

// Channel (src -> dst) lives in src's part of the window: [channel header][kSlots slots].
ShmChannels::Channel& ShmChannels::channel(int src, int dst) const {
  char* p = base_[src] + static_cast<std::size_t>(dst) * (kChannelBytes + kSlots * slot_bytes_);
  return *reinterpret_cast<Channel*>(p);
}
char* ShmChannels::slot(int src, int dst, uint64_t g) const {
  return reinterpret_cast<char*>(&channel(src, dst)) + kChannelBytes + (g % kSlots) * slot_bytes_;
}

Status ShmChannels::attach(MPI_Comm comm, ShmChannels** out) {
  // One window per process, made by the first communicator (collectively: every rank calls
  // mpi_world_communicator the same number of times) and reset by each later one.
  static std::unique_ptr<ShmChannels> instance;
  static bool decided = false;
  *out = nullptr;
  if (!decided) {
    decided = true;
    PERFCAL_RETURN_IF_ERROR(create(comm, &instance));
  }
  if (!instance) return Status::Ok();
  instance->reset(comm);
  *out = instance.get();
  return Status::Ok();
}

// A communicator that failed may have left segments unconsumed: start every channel afresh.
// Nobody is inside a step here (all ranks are in the collective that makes a communicator).
void ShmChannels::reset(MPI_Comm comm) {
  MPI_Barrier(comm);
  for (int r = 0; r < size_; ++r) {
    channel(rank_, r).seq.store(0, std::memory_order_relaxed);
    channel(r, rank_).ack.store(0, std::memory_order_relaxed);
  }
  std::fill(sent_.begin(), sent_.end(), 0);
  std::fill(got_.begin(), got_.end(), 0);
  MPI_Barrier(comm);
}

Status ShmChannels::create(MPI_Comm comm, std::unique_ptr<ShmChannels>* out) {
  static_assert(sizeof(Channel) <= kChannelBytes);
  out->reset();
  int size = 1, rank = 0;
  MPI_Comm_size(comm, &size);
  MPI_Comm_rank(comm, &rank);
  const char* env = std::getenv("PERFCAL_MPI_SHM");
  int want = (size > 1 && !(env && std::strcmp(env, "0") == 0)) ? 1 : 0;
  MPI_Comm node = MPI_COMM_NULL;
  if (want && MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node) !=
                  MPI_SUCCESS)
    want = 0;
  int node_size = 0;
  if (node != MPI_COMM_NULL) MPI_Comm_size(node, &node_size);
  if (node_size != size) want = 0;  // ranks on several nodes: point-to-point for all
  // Every rank must agree before the collective allocation.
  int all = 0;
  MPI_Allreduce(&want, &all, 1, MPI_INT, MPI_MIN, comm);
  if (!all) {
    if (node != MPI_COMM_NULL) MPI_Comm_free(&node);
    return Status::Ok();
  }
  std::unique_ptr<ShmChannels> c(new ShmChannels());
  c->rank_ = rank, c->size_ = size;
  std::size_t slot = kRegionBudget / (static_cast<std::size_t>(size) * kSlots);
  slot = std::min(kMaxSlotBytes, std::max(kMinSlotBytes, slot / kMinSlotBytes * kMinSlotBytes));
  c->slot_bytes_ = slot;
  c->region_bytes_ = static_cast<std::size_t>(size) * (kChannelBytes + kSlots * slot);
  MPI_Info info;
  MPI_Info_create(&info);
  // Each rank's part on its own pages, first touched (and so placed) by its owner.
  MPI_Info_set(info, "alloc_shared_noncontig", "true");
  void* base = nullptr;
  // Open MPI returns parts that are only 8-byte aligned (a header precedes them): allocate
  // a line more and align up. Mappings are page-aligned, so the aligned address is the same
  // byte in every process's view.
  int ok = MPI_Win_allocate_shared(static_cast<MPI_Aint>(c->region_bytes_ + kLine), 1, info,
                                   node, &base, &c->win_) == MPI_SUCCESS;
  MPI_Info_free(&info);
  c->base_.assign(size, nullptr);
  for (int r = 0; ok && r < size; ++r) {
    MPI_Aint bytes = 0;
    int disp = 0;
    void* p = nullptr;
    // Node ranks were split with key = rank, so node rank r is communicator rank r.
    if (MPI_Win_shared_query(c->win_, r, &bytes, &disp, &p) != MPI_SUCCESS ||
        static_cast<std::size_t>(bytes) < c->region_bytes_ + kLine)
      ok = 0;
    c->base_[r] = align_up(static_cast<char*>(p));
  }
  if (ok) std::memset(c->base_[rank], 0, c->region_bytes_);
  MPI_Comm_free(&node);
  MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, comm);
  if (!ok) {
    if (c->win_ != MPI_WIN_NULL) MPI_Win_free(&c->win_);
    return Status::Ok();
  }
  MPI_Barrier(comm);  // every part zeroed before anyone publishes
  c->sent_.assign(size, 0);
  c->got_.assign(size, 0);
  *out = std::move(c);
  return Status::Ok();
}

ShmChannels::~ShmChannels() {
  // Deliberately not MPI_Win_free: it synchronises the ranks, and a rank whose peer failed
  // or left early would hang in it. There is one ShmChannels per process (attach); the
  // mapping goes away with the process.
}

Status ShmChannels::step(const Step& s, const Config& cfg, uint32_t hash, double timeout_s,
                         const CallHeader& header) {
  const std::size_t chunk =
      std::max<std::size_t>(1, std::min<std::size_t>(cfg.chunk_bytes, slot_bytes_));
  const uint64_t depth = static_cast<uint64_t>(std::clamp(cfg.pipeline_depth, 1, kSlots));
  const int64_t nsend =
      s.dst < 0 ? 0 : std::max<int64_t>(1, (s.send_bytes + chunk - 1) / chunk);
  const int64_t nrecv =
      s.src < 0 ? 0 : std::max<int64_t>(1, (s.recv_bytes + chunk - 1) / chunk);
  if (s.dst >= size_ || s.src >= size_)
    return Status::Invalid("step names a rank beyond the communicator's " + std::to_string(size_));
  // The receive overwrites what the send reads: combine segment i only once segment i was
  // copied into the window.
  const bool aliased = s.dst >= 0 && s.src >= 0 && s.send == s.out && s.send_bytes > 0;
  Channel* out = s.dst >= 0 ? &channel(rank_, s.dst) : nullptr;
  Channel* in = s.src >= 0 ? &channel(s.src, rank_) : nullptr;
  auto len_of = [chunk](std::size_t total, int64_t i) {
    const std::size_t off = static_cast<std::size_t>(i) * chunk;
    return std::min(chunk, total - std::min(total, off));
  };
  int64_t sdone = 0, rdone = 0;
  auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  for (unsigned spin = 1; sdone < nsend || rdone < nrecv; ++spin) {
    bool progress = false;
    while (sdone < nsend) {
      const uint64_t g = sent_[s.dst];
      if (g - out->ack.load(std::memory_order_acquire) >= depth) break;  // ring full
      const std::size_t len = len_of(s.send_bytes, sdone);
      if (len) std::memcpy(slot(rank_, s.dst, g), static_cast<const char*>(s.send) + sdone * chunk, len);
      out->header[g % kSlots] = {hash, static_cast<uint32_t>(len)};
      out->seq.store(g + 1, std::memory_order_release);
      sent_[s.dst] = g + 1;
      ++sdone, progress = true;
    }
    while (rdone < nrecv && !(aliased && sdone <= rdone)) {
      const uint64_t g = got_[s.src];
      if (in->seq.load(std::memory_order_acquire) <= g) break;  // not yet published
      const SlotHeader h = in->header[g % kSlots];
      const std::size_t len = len_of(s.recv_bytes, rdone);
      if (h.hash != hash)
        return Status::Invalid("mismatched all-reduce calls: rank " + std::to_string(s.src) +
                               " sent a segment of a different call than rank " +
                               std::to_string(rank_) + "'s " + describe(header) +
                               " (count, dtype, op or algorithm differ)");
      if (h.bytes != len)
        return Status::Invalid("rank " + std::to_string(s.src) + " sent " +
                               std::to_string(h.bytes) + " bytes, rank " + std::to_string(rank_) +
                               " expected " + std::to_string(len) + " in " + describe(header));
      if (len) {
        const char* data = slot(s.src, rank_, g);
        const std::size_t off = static_cast<std::size_t>(rdone) * chunk;
        char* dst = static_cast<char*>(s.out) + off;
        if (!s.reducer) {
          std::memcpy(dst, data, len);
        } else {
          const char* local = static_cast<const char*>(s.local) + off;
          const std::size_t n = len / s.reducer->elem_bytes;
          if (s.incoming_first)
            (*s.reducer)(data, local, dst, n);
          else
            (*s.reducer)(local, data, dst, n);
        }
      }
      in->ack.store(g + 1, std::memory_order_release);
      got_[s.src] = g + 1;
      ++rdone, progress = true;
    }
    if (progress) {
      spin = 0;
      deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
      continue;
    }
    // Poll a few rounds, then yield: with more ranks than cores the peer needs this core.
    if (spin >= 64) std::this_thread::yield();
    if (spin % 128 == 0 && Clock::now() > deadline)
      return Status::Internal("rank " + std::to_string(rank_) + " timed out after " +
                              std::to_string(timeout_s) + " s waiting for rank " +
                              std::to_string(rdone < nrecv ? s.src : s.dst) + " in " +
                              describe(header));
  }
  return Status::Ok();
}

}  // namespace perfcal::allreduce::mpi
