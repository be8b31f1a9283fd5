// Recursive doubling all-reduce: log2(p) exchanges of the whole vector with partner
// r XOR 2^k, each followed by recv = lower rank's vector op higher rank's vector (the same
// expression on both partners, so results are bit-identical). Fewest steps of all, so the
// choice for small (latency-bound) vectors; each rank moves n log2(p) bytes, so not for
// large ones. A non-power-of-two p folds onto its largest power of two first (Fold).
// The exchange reads and overwrites the same buffer on both sides; the transport stages the
// outgoing copy (Step contract).
#include "allreduce/algorithm.h"

namespace perfcal::allreduce::detail {
namespace {

Status recursive_doubling(const Context& c) {
  if (c.size == 1) {
    c.copy_input();
    return Status::Ok();
  }
  const Fold f(c.rank, c.size);
  PERFCAL_RETURN_IF_ERROR(fold_in(c, f));
  if (f.virt >= 0) {
    const std::size_t bytes = static_cast<std::size_t>(c.problem->count) * c.elem;
    // Folded odd ranks already hold a partial result in recv; the rest start from send.
    const char* input = c.rank < 2 * f.rem ? c.recv : c.send;
    for (int mask = 1; mask < f.p2; mask <<= 1) {
      const int partner = f.real(f.virt ^ mask);
      Step st;
      st.send = input, st.send_bytes = bytes, st.dst = partner;
      st.src = partner, st.recv_bytes = bytes, st.out = c.recv, st.local = input;
      st.reducer = c.reducer;
      st.incoming_first = partner < c.rank;
      PERFCAL_RETURN_IF_ERROR(c.step(st));
      input = c.recv;
    }
  }
  return fold_out(c, f);
}

}  // namespace

static const AlgorithmRegistrar kRegister{
    {"recursive_doubling", "recursive doubling: log2(p) whole-vector exchanges, for small vectors",
     &recursive_doubling}};

}  // namespace perfcal::allreduce::detail
