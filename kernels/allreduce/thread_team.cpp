// The threads transport: ranks are threads of one process, and a message is a rendezvous
// in a mailbox slot per (sender, receiver) pair. The sender publishes a pointer to its data
// (no copy); the receiver copies or reduces straight out of the sender's buffer, then acks;
// the sender returns from its step only after the ack, so its buffer stays valid and
// unchanged while read. One copy fewer than any message-passing transport, which is why
// this transport's busbw can approach the memory bandwidth bound (docs/ALLREDUCE.md).
//
// Waits poll briefly, then yield, checking every 128 rounds for an abort by
// another rank, for a peer that already returned from the team's function, and for the
// timeout; each turns into a Status on this rank and an abort of the others, so a rank that
// fails or never arrives cannot hang the team. Idle workers sleep on a futex between runs.
#include <immintrin.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include "allreduce/allreduce.h"
#include "core/aligned_buffer.h"

namespace perfcal::allreduce {
namespace threads_detail {

// One direction of one pair. seq and ack sit on separate cache lines: the sender writes seq,
// the receiver writes ack, and neither should invalidate the other's line.
struct alignas(64) Slot {
  std::atomic<uint64_t> seq{0};
  const void* ptr = nullptr;
  std::size_t bytes = 0;
  CallHeader header;
  alignas(64) std::atomic<uint64_t> ack{0};
};

struct alignas(64) Flag {
  std::atomic<bool> v{false};
};

class ThreadComm;

}  // namespace threads_detail
using threads_detail::Flag;
using threads_detail::Slot;
using threads_detail::ThreadComm;

struct ThreadTeam::Impl {
  int p = 1;
  std::unique_ptr<Slot[]> slots;  // slot(src, dst) = slots[src * p + dst]
  std::unique_ptr<Flag[]> done;   // rank returned from this run's function
  std::vector<std::unique_ptr<ThreadComm>> comms;
  std::vector<std::thread> workers;
  std::vector<Status> statuses;

  alignas(64) std::atomic<uint64_t> generation{0};
  std::atomic<bool> quit{false};
  const std::function<Status(Communicator&)>* job = nullptr;
  alignas(64) std::atomic<int> pending{0};

  alignas(64) std::atomic<int> bar_count{0};
  std::atomic<uint64_t> bar_gen{0};

  alignas(64) std::atomic<bool> aborted{false};
  std::mutex mu;
  Status first_error;
  int first_rank = -1;

  Slot& slot(int src, int dst) { return slots[static_cast<std::size_t>(src) * p + dst]; }

  // Records the root cause (first failure wins) and releases every waiting rank.
  void fail(int rank, const Status& s) {
    {
      std::lock_guard<std::mutex> g(mu);
      if (first_rank < 0) {
        first_rank = rank;
        first_error = s;
      }
    }
    aborted.store(true, std::memory_order_release);
  }
  Status abort_status() {
    std::lock_guard<std::mutex> g(mu);
    return Status(first_error.code(), "aborted: rank " + std::to_string(first_rank) +
                                          " failed: " + first_error.message());
  }
  void finish(int rank, const Status& s) {
    statuses[rank] = s;
    if (!s.ok()) fail(rank, s);
    done[rank].v.store(true, std::memory_order_release);
  }
  void reset();
  void worker(int rank);
};

namespace threads_detail {

using Clock = std::chrono::steady_clock;

class ThreadComm final : public Communicator {
 public:
  ThreadComm(ThreadTeam::Impl* team, int rank)
      : team_(team), rank_(rank), send_seq_(team->p, 0), recv_seq_(team->p, 0) {}

  int rank() const override { return rank_; }
  int size() const override { return team_->p; }
  Transport transport() const override { return Transport::threads; }
  const char* channel() const override { return "shared address space"; }
  void begin(const CallHeader& h) override { header_ = h; }

  void reset() {
    std::fill(send_seq_.begin(), send_seq_.end(), 0);
    std::fill(recv_seq_.begin(), recv_seq_.end(), 0);
  }

  Status step(const Step& s, const Config&) override {
    if (team_->aborted.load(std::memory_order_acquire)) return team_->abort_status();
    Slot* out_slot = nullptr;
    uint64_t out_seq = 0;
    if (s.dst >= 0) {
      if (s.dst >= team_->p)
        return fail(Status::Invalid("send to rank " + std::to_string(s.dst) + " of " +
                                    std::to_string(team_->p)));
      const void* data = s.send;
      // The receiver reads while this rank overwrites the same region: send a snapshot.
      if (s.src >= 0 && s.send_bytes > 0 && s.send == s.out) {
        if (staging_.size() < s.send_bytes && !staging_.reset(s.send_bytes))
          return fail(Status::OutOfMemory("threads transport staging of " +
                                          std::to_string(s.send_bytes) + " bytes"));
        std::memcpy(staging_.data(), s.send, s.send_bytes);
        data = staging_.data();
      }
      out_slot = &team_->slot(rank_, s.dst);
      out_seq = ++send_seq_[s.dst];
      out_slot->ptr = data;
      out_slot->bytes = s.send_bytes;
      out_slot->header = header_;
      out_slot->seq.store(out_seq, std::memory_order_release);
    }
    if (s.src >= 0) {
      if (s.src >= team_->p)
        return fail(Status::Invalid("receive from rank " + std::to_string(s.src)));
      Slot& in = team_->slot(s.src, rank_);
      const uint64_t want = ++recv_seq_[s.src];
      PERFCAL_RETURN_IF_ERROR(wait([&] { return in.seq.load(std::memory_order_acquire) >= want; },
                                   s.src, "a message from"));
      if (!(in.header == header_))
        return fail(Status::Invalid("mismatched all-reduce calls: rank " + std::to_string(s.src) +
                                    " runs " + describe(in.header) + ", rank " +
                                    std::to_string(rank_) + " runs " + describe(header_)));
      if (in.bytes != s.recv_bytes)
        return fail(Status::Invalid(
            "rank " + std::to_string(s.src) + " sent " + std::to_string(in.bytes) +
            " bytes, rank " + std::to_string(rank_) + " expected " + std::to_string(s.recv_bytes)));
      if (s.recv_bytes > 0) {
        if (!s.reducer) {
          std::memcpy(s.out, in.ptr, s.recv_bytes);
        } else {
          const std::size_t n = s.recv_bytes / s.reducer->elem_bytes;
          if (s.incoming_first)
            (*s.reducer)(in.ptr, s.local, s.out, n);
          else
            (*s.reducer)(s.local, in.ptr, s.out, n);
        }
      }
      in.ack.store(want, std::memory_order_release);
    }
    if (out_slot) {
      PERFCAL_RETURN_IF_ERROR(
          wait([&] { return out_slot->ack.load(std::memory_order_acquire) >= out_seq; }, s.dst,
               "an acknowledgement from"));
    }
    return Status::Ok();
  }

  Status barrier() override {
    if (team_->aborted.load(std::memory_order_acquire)) return team_->abort_status();
    const uint64_t g = team_->bar_gen.load(std::memory_order_acquire);
    if (team_->bar_count.fetch_add(1, std::memory_order_acq_rel) + 1 == team_->p) {
      team_->bar_count.store(0, std::memory_order_relaxed);
      team_->bar_gen.store(g + 1, std::memory_order_release);
      return Status::Ok();
    }
    return wait([&] { return team_->bar_gen.load(std::memory_order_acquire) != g; }, -1,
                "the barrier after");
  }

 private:
  Status fail(const Status& s) {
    team_->fail(rank_, s);
    return s;
  }

  // peer >= 0: also fail when that rank has left the function; peer < 0 (barrier): when any has.
  template <class Ready>
  Status wait(Ready ready, int peer, const char* what) {
    if (ready()) return Status::Ok();
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s());
    for (unsigned spin = 1;; ++spin) {
      if (ready()) return Status::Ok();
      // Poll a few rounds, then yield every round: when the peer shares this core (other
      // work on the machine, or more ranks than cores) it runs at once instead of after our
      // time slice. Measured on this 2-core VM under load: 256 PAUSEs before yielding cost
      // ~10 us per step, 20000 plain polls ~30 us, 64 polls ~1.7 us.
      if (spin >= 64) std::this_thread::yield();
      if (spin % 128 != 0) continue;
      if (team_->aborted.load(std::memory_order_acquire)) return team_->abort_status();
      int gone = -1;
      for (int r = peer >= 0 ? peer : 0; r < (peer >= 0 ? peer + 1 : team_->p); ++r)
        if (r != rank_ && team_->done[r].v.load(std::memory_order_acquire)) gone = r;
      if (gone >= 0) {
        if (ready()) return Status::Ok();  // it delivered before leaving
        return fail(Status::Internal("rank " + std::to_string(rank_) + " waited for " + what +
                                     " rank " + std::to_string(gone) + " in " + describe(header_) +
                                     ", but that rank already returned"));
      }
      if (Clock::now() > deadline)
        return fail(Status::Internal(
            "rank " + std::to_string(rank_) + " timed out after " + std::to_string(timeout_s()) +
            " s waiting for " + what +
            (peer >= 0 ? " rank " + std::to_string(peer) : std::string(" all ranks")) + " in " +
            describe(header_)));
    }
  }

  ThreadTeam::Impl* team_;
  int rank_;
  std::vector<uint64_t> send_seq_, recv_seq_;
  CallHeader header_;
  AlignedBuffer<char> staging_;
};

}  // namespace threads_detail

void ThreadTeam::Impl::reset() {
  for (int i = 0; i < p * p; ++i) {
    slots[i].seq.store(0, std::memory_order_relaxed);
    slots[i].ack.store(0, std::memory_order_relaxed);
  }
  for (auto& c : comms) c->reset();
  bar_count.store(0);
  aborted.store(false);
  first_rank = -1;
  first_error = Status::Ok();
}

void ThreadTeam::Impl::worker(int rank) {
  uint64_t seen = 0;
  for (;;) {
    for (int spin = 0; generation.load(std::memory_order_acquire) == seen; ++spin) {
      if (spin < 2000)
        _mm_pause();
      else
        generation.wait(seen, std::memory_order_acquire);  // futex sleep between runs
    }
    seen = generation.load(std::memory_order_acquire);
    if (quit.load(std::memory_order_acquire)) return;
    Status s;
    try {
      s = (*job)(*comms[rank]);
    } catch (const std::exception& e) {
      s = Status::Internal(std::string("exception on rank ") + std::to_string(rank) + ": " +
                           e.what());
    }
    finish(rank, s);
    pending.fetch_sub(1, std::memory_order_acq_rel);
  }
}

ThreadTeam::ThreadTeam(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Status ThreadTeam::create(int ranks, std::unique_ptr<ThreadTeam>* out) {
  if (ranks < 1 || ranks > 256) return Status::Invalid("thread team ranks must be in [1, 256]");
  auto impl = std::make_unique<Impl>();
  impl->p = ranks;
  impl->slots = std::make_unique<Slot[]>(static_cast<std::size_t>(ranks) * ranks);
  impl->done = std::make_unique<Flag[]>(ranks);
  impl->statuses.assign(ranks, Status::Ok());
  for (int r = 0; r < ranks; ++r)
    impl->comms.push_back(std::make_unique<ThreadComm>(impl.get(), r));
  Impl* raw = impl.get();
  std::unique_ptr<ThreadTeam> team(new ThreadTeam(std::move(impl)));
  try {
    for (int r = 1; r < ranks; ++r) raw->workers.emplace_back([raw, r] { raw->worker(r); });
  } catch (const std::exception& e) {
    return Status::Internal(std::string("cannot start rank threads: ") +
                            e.what());  // ~ThreadTeam joins
  }
  *out = std::move(team);
  return Status::Ok();
}

ThreadTeam::~ThreadTeam() {
  impl_->quit.store(true, std::memory_order_release);
  impl_->generation.fetch_add(1, std::memory_order_acq_rel);
  impl_->generation.notify_all();
  for (auto& t : impl_->workers) t.join();
}

int ThreadTeam::size() const { return impl_->p; }

const std::vector<Status>& ThreadTeam::statuses() const { return impl_->statuses; }

void ThreadTeam::set_timeout(double seconds) {
  for (auto& c : impl_->comms) c->set_timeout(seconds);
}

Status ThreadTeam::run(const std::function<Status(Communicator&)>& fn) {
  Impl& t = *impl_;
  if (t.aborted.load()) t.reset();  // the last run failed: sequence numbers are out of step
  for (int r = 0; r < t.p; ++r) {
    t.done[r].v.store(false, std::memory_order_relaxed);
    t.statuses[r] = Status::Ok();
  }
  t.job = &fn;
  t.pending.store(t.p - 1, std::memory_order_relaxed);
  t.generation.fetch_add(1, std::memory_order_acq_rel);
  t.generation.notify_all();
  Status s0;
  try {
    s0 = fn(*t.comms[0]);
  } catch (const std::exception& e) {
    s0 = Status::Internal(std::string("exception on rank 0: ") + e.what());
  }
  t.finish(0, s0);
  for (unsigned spin = 0; t.pending.load(std::memory_order_acquire) != 0; ++spin)
    if (spin >= 64) std::this_thread::yield();  // no PAUSE: see ThreadComm::wait
  std::lock_guard<std::mutex> g(t.mu);
  return t.first_rank < 0 ? Status::Ok() : t.first_error;
}

}  // namespace perfcal::allreduce
