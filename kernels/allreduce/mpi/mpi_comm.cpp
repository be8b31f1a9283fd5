// The MPI transport: every Step becomes non-blocking point-to-point messages on a private
// duplicate of MPI_COMM_WORLD (errors returned, not fatal). A message is cut into segments
// of chunk_bytes with pipeline_depth of them in flight in each direction; a reducing
// receive lands in a staging ring of pipeline_depth chunks and is combined segment by
// segment as it completes, overlapping the reduction with the next segments' transfer.
//
// Every message carries the call's CallHeader hash as its MPI tag and is received with
// MPI_ANY_TAG, then its tag and size are checked: ranks calling with different counts,
// dtypes, ops or algorithms get a clear error instead of a silently wrong reduction (at no
// cost: no extra message). Waits poll with MPI_Test and give up after timeout_s without
// progress, so a rank that never arrives turns into an error on the others (a rank that
// dies is reported by mpirun, which then ends the job).
//
// When every rank shares one node, steps go through an MPI-3 shared-memory window instead
// (shm_channels.h: one copy in, the receiver reduces straight out of it), with the same
// header checks and timeouts.
#include "allreduce/mpi/mpi_comm.h"

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "allreduce/mpi/shm_channels.h"
#include "core/aligned_buffer.h"

namespace perfcal::allreduce::mpi {

using Clock = std::chrono::steady_clock;

class MpiComm final : public Communicator {
 public:
  MpiComm(MPI_Comm c, ShmChannels* shm) : comm_(c), shm_(shm) {
    MPI_Comm_rank(c, &rank_);
    MPI_Comm_size(c, &size_);
  }
  ~MpiComm() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  Transport transport() const override { return Transport::mpi; }
  const char* channel() const override {
    return shm_ ? "MPI-3 shared-memory window" : "MPI point-to-point";
  }
  void begin(const CallHeader& h) override {
    header_ = h;
    tag_ = static_cast<int>(h.hash() & 0x7fff);  // MPI guarantees tags up to 32767
  }

  Status step(const Step& s, const Config& cfg) override {
    if (!failed_.ok()) return failed_;
    if (shm_) {
      Status st = shm_->step(s, cfg, header_.hash(), timeout_s(), header_);
      return st.ok() ? st : poison(st);
    }
    const std::size_t chunk = static_cast<std::size_t>(cfg.chunk_bytes);
    const int depth = cfg.pipeline_depth;
    const int64_t nsend = s.dst < 0 ? 0 : std::max<int64_t>(1, (s.send_bytes + chunk - 1) / chunk);
    const int64_t nrecv = s.src < 0 ? 0 : std::max<int64_t>(1, (s.recv_bytes + chunk - 1) / chunk);
    const bool reduce = s.src >= 0 && s.reducer;
    // The receive overwrites what the send still reads: combine segment i only after send
    // segment i completed.
    const bool aliased = s.dst >= 0 && s.src >= 0 && s.send == s.out && s.send_bytes > 0;
    if (reduce) {
      const std::size_t need = chunk * static_cast<std::size_t>(depth);
      if (staging_.size() < need && !staging_.reset(need))
        return poison(Status::OutOfMemory("MPI staging of " + std::to_string(need) + " bytes"));
    }
    rreq_.assign(depth, MPI_REQUEST_NULL);
    sreq_.assign(depth, MPI_REQUEST_NULL);
    int64_t rposted = 0, rdone = 0, sposted = 0, sdone = 0;
    auto seg = [chunk](std::size_t total, int64_t i, std::size_t* off) {
      *off = static_cast<std::size_t>(i) * chunk;
      return static_cast<int>(std::min(chunk, total - std::min(total, *off)));
    };
    auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s());
    for (unsigned polls = 0; rdone < nrecv || sdone < nsend; ++polls) {
      bool progress = false;
      while (rposted < nrecv && rposted - rdone < depth) {
        std::size_t off;
        const int len = seg(s.recv_bytes, rposted, &off);
        void* buf =
            reduce ? staging_.data() + (rposted % depth) * chunk : static_cast<char*>(s.out) + off;
        if (int e =
                MPI_Irecv(buf, len, MPI_BYTE, s.src, MPI_ANY_TAG, comm_, &rreq_[rposted % depth]))
          return poison(mpi_error("MPI_Irecv", e));
        ++rposted;
      }
      while (sposted < nsend && sposted - sdone < depth) {
        std::size_t off;
        const int len = seg(s.send_bytes, sposted, &off);
        if (int e = MPI_Isend(static_cast<const char*>(s.send) + off, len, MPI_BYTE, s.dst, tag_,
                              comm_, &sreq_[sposted % depth]))
          return poison(mpi_error("MPI_Isend", e));
        ++sposted;
      }
      if (sdone < nsend) {
        int flag = 0;
        if (int e = MPI_Test(&sreq_[sdone % depth], &flag, MPI_STATUS_IGNORE))
          return poison(mpi_error("MPI_Test", e));
        if (flag) ++sdone, progress = true;
      }
      if (rdone < nrecv && !(aliased && sdone <= rdone)) {
        int flag = 0;
        MPI_Status st;
        if (int e = MPI_Test(&rreq_[rdone % depth], &flag, &st))
          return poison(mpi_error("MPI_Test", e, s.src));
        if (flag) {
          std::size_t off;
          const int len = seg(s.recv_bytes, rdone, &off);
          int got = -1;
          MPI_Get_count(&st, MPI_BYTE, &got);
          if (st.MPI_TAG != tag_)
            return poison(Status::Invalid(
                "mismatched all-reduce calls: rank " + std::to_string(s.src) +
                " sent a message of a different call than rank " + std::to_string(rank_) + "'s " +
                describe(header_) + " (count, dtype, op or algorithm differ)"));
          if (got != len)
            return poison(Status::Invalid("rank " + std::to_string(s.src) + " sent " +
                                          std::to_string(got) + " bytes, rank " +
                                          std::to_string(rank_) + " expected " +
                                          std::to_string(len) + " in " + describe(header_)));
          if (reduce && len > 0) {
            const char* in = staging_.data() + (rdone % depth) * chunk;
            const char* local = static_cast<const char*>(s.local) + off;
            char* out = static_cast<char*>(s.out) + off;
            const std::size_t n = static_cast<std::size_t>(len) / s.reducer->elem_bytes;
            if (s.incoming_first)
              (*s.reducer)(in, local, out, n);
            else
              (*s.reducer)(local, in, out, n);
          }
          ++rdone, progress = true;
        }
      }
      if (progress) {
        deadline = Clock::now() + std::chrono::duration<double>(timeout_s());
      } else if (polls % 64 == 0 && Clock::now() > deadline) {
        return poison(Status::Internal("rank " + std::to_string(rank_) + " timed out after " +
                                       std::to_string(timeout_s()) + " s waiting for rank " +
                                       std::to_string(rdone < nrecv ? s.src : s.dst) + " in " +
                                       describe(header_)));
      }
    }
    return Status::Ok();
  }

  Status barrier() override {
    if (!failed_.ok()) return failed_;
    MPI_Request req;
    if (int e = MPI_Ibarrier(comm_, &req)) return poison(mpi_error("MPI_Ibarrier", e));
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s());
    for (unsigned polls = 0;; ++polls) {
      int flag = 0;
      if (int e = MPI_Test(&req, &flag, MPI_STATUS_IGNORE)) return poison(mpi_error("MPI_Test", e));
      if (flag) return Status::Ok();
      if (polls % 64 == 0 && Clock::now() > deadline)
        return poison(Status::Internal("rank " + std::to_string(rank_) + " timed out after " +
                                       std::to_string(timeout_s()) + " s in a barrier"));
    }
  }

  MPI_Comm comm() const { return comm_; }
  const Status& failed() const { return failed_; }

  Status poison(const Status& s) {
    if (failed_.ok()) {
      failed_ = s;
      // Outstanding receives would match later messages; cancel them. Sends are left to finish.
      for (auto& r : rreq_)
        if (r != MPI_REQUEST_NULL) {
          MPI_Cancel(&r);
          MPI_Request_free(&r);
        }
      for (auto& r : sreq_)
        if (r != MPI_REQUEST_NULL) MPI_Request_free(&r);
    }
    return s;
  }

 private:
  Status mpi_error(const char* what, int code, int peer = -1) const {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(code, text, &len);
    return Status::Internal(std::string(what) + " failed on rank " + std::to_string(rank_) +
                            (peer >= 0 ? " (peer " + std::to_string(peer) + ")" : std::string()) +
                            ": " + std::string(text, len) + " in " + describe(header_));
  }

  MPI_Comm comm_;
  ShmChannels* shm_;  // the process's same-node channels, or null: point-to-point
  int rank_ = 0, size_ = 1;
  CallHeader header_;
  int tag_ = 0;
  AlignedBuffer<char> staging_;
  std::vector<MPI_Request> rreq_, sreq_;
  Status failed_;
};

MpiComm* as_mpi(Communicator* c) { return dynamic_cast<MpiComm*>(c); }
MPI_Comm native(const MpiComm& c) { return c.comm(); }
Status poison(MpiComm& c, const Status& s) { return c.poison(s); }
Status poisoned(const MpiComm& c) { return c.failed(); }

}  // namespace perfcal::allreduce::mpi

namespace perfcal::allreduce {

Status mpi_world_communicator(std::unique_ptr<Communicator>* out) {
  int init = 0, finalized = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&finalized);
  if (!init || finalized)
    return Status::Invalid("MPI is not initialised (call MPI_Init_thread first)");
  MPI_Comm dup;
  if (MPI_Comm_dup(MPI_COMM_WORLD, &dup) != MPI_SUCCESS)
    return Status::Internal("MPI_Comm_dup failed");
  MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN);
  mpi::ShmChannels* shm = nullptr;
  PERFCAL_RETURN_IF_ERROR(mpi::ShmChannels::attach(dup, &shm));
  *out = std::make_unique<mpi::MpiComm>(dup, shm);
  return Status::Ok();
}

}  // namespace perfcal::allreduce
