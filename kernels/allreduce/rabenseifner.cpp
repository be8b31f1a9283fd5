// Rabenseifner all-reduce: recursive halving reduce-scatter, then recursive doubling
// all-gather. Each rank moves 2(p-1)/p of the vector like the ring, but in 2 log2(p) steps
// instead of 2(p - 1): the large-vector algorithm when p is large or latency matters.
//
// On the power-of-two core (a non-power-of-two p folds first), the vector is cut into p2
// blocks. Halving step with distance d = p2/2, p2/4, ..., 1: partner v XOR d; the rank whose
// bit d is clear keeps the lower half of its current window and sends the upper half, the
// partner the reverse; the kept half becomes recv = lower rank's op higher rank's. After
// log2(p2) steps virtual rank v owns block v, fully reduced. The doubling steps
// (d = 1, 2, ..., p2/2) swap owned windows (copies) until every rank has the whole vector.
#include "allreduce/algorithm.h"

namespace perfcal::allreduce::detail {
namespace {

Status rabenseifner(const Context& c) {
  if (c.size == 1) {
    c.copy_input();
    return Status::Ok();
  }
  const Fold f(c.rank, c.size);
  PERFCAL_RETURN_IF_ERROR(fold_in(c, f));
  if (f.virt >= 0) {
    const Blocks blk{c.problem->count, f.p2};
    const char* input = c.rank < 2 * f.rem ? c.recv : c.send;
    int lo = 0, hi = f.p2;  // window of blocks this rank is responsible for
    for (int d = f.p2 / 2; d >= 1; d /= 2) {
      const int partner = f.real(f.virt ^ d);
      const int mid = (lo + hi) / 2;
      const bool keep_low = (f.virt & d) == 0;
      const int keep_lo = keep_low ? lo : mid, keep_hi = keep_low ? mid : hi;
      const int send_lo = keep_low ? mid : lo, send_hi = keep_low ? hi : mid;
      Step st;
      st.send = input + blk.begin(send_lo) * c.elem;
      st.send_bytes = (blk.begin(send_hi) - blk.begin(send_lo)) * c.elem;
      st.dst = partner;
      st.src = partner;
      st.recv_bytes = (blk.begin(keep_hi) - blk.begin(keep_lo)) * c.elem;
      st.out = c.recv + blk.begin(keep_lo) * c.elem;
      st.local = input + blk.begin(keep_lo) * c.elem;
      st.reducer = c.reducer;
      st.incoming_first = partner < c.rank;
      PERFCAL_RETURN_IF_ERROR(c.step(st));
      input = c.recv;
      lo = keep_lo, hi = keep_hi;
    }
    for (int d = 1; d < f.p2; d *= 2) {
      const int partner = f.real(f.virt ^ d);
      // The partner's window is the sibling of ours at this level.
      const int width = hi - lo;
      const int plo = (f.virt & d) ? lo - width : hi, phi = plo + width;
      Step st;
      st.send = c.recv + blk.begin(lo) * c.elem;
      st.send_bytes = (blk.begin(hi) - blk.begin(lo)) * c.elem;
      st.dst = partner;
      st.src = partner;
      st.recv_bytes = (blk.begin(phi) - blk.begin(plo)) * c.elem;
      st.out = c.recv + blk.begin(plo) * c.elem;
      PERFCAL_RETURN_IF_ERROR(c.step(st));
      lo = std::min(lo, plo), hi = std::max(hi, phi);
    }
  }
  return fold_out(c, f);
}

}  // namespace

static const AlgorithmRegistrar kRegister{
    {"rabenseifner",
     "Rabenseifner: recursive halving reduce-scatter + recursive doubling all-gather",
     &rabenseifner}};

}  // namespace perfcal::allreduce::detail
