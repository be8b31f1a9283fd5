// Ring all-reduce: reduce-scatter then all-gather around the ring r -> r + 1, 2(p - 1) steps
// of one block (count / p elements) each; every rank sends and receives 2(p-1)/p of the
// vector, the bandwidth-optimal amount, which is why busbw is defined by this algorithm.
//
// Reduce-scatter step s (0 <= s < p - 1) on rank r: send block (r - s) to r + 1, receive
// block (r - s - 1) from r - 1 and combine it with this rank's own input block into recv.
// Step 0 sends the input straight from `send`, and the combine reads `send` as its local
// operand, so out of place needs no initial copy. After p - 1 steps rank r holds the final
// block (r + 1); all-gather then forwards finished blocks around the ring (copies). Each
// block's final value is computed once, so every rank ends bit-identical.
// Segments of chunk_bytes, pipeline_depth in flight, come from the transport's step().
#include "allreduce/algorithm.h"

namespace perfcal::allreduce::detail {
namespace {

Status ring(const Context& c) {
  const int p = c.size, r = c.rank;
  if (p == 1) {
    c.copy_input();
    return Status::Ok();
  }
  const Blocks blk{c.problem->count, p};
  const int next = (r + 1) % p, prev = (r + p - 1) % p;
  auto mod = [p](int x) { return ((x % p) + p) % p; };
  for (int s = 0; s < p - 1; ++s) {
    const int sb = mod(r - s), rb = mod(r - s - 1);
    Step st;
    st.send = (s == 0 ? c.send : c.recv) + blk.begin(sb) * c.elem;
    st.send_bytes = blk.len(sb) * c.elem;
    st.dst = next;
    st.src = prev;
    st.recv_bytes = blk.len(rb) * c.elem;
    st.out = c.recv + blk.begin(rb) * c.elem;
    st.local = c.send + blk.begin(rb) * c.elem;
    st.reducer = c.reducer;
    PERFCAL_RETURN_IF_ERROR(c.step(st));
  }
  for (int s = 0; s < p - 1; ++s) {
    const int sb = mod(r + 1 - s), rb = mod(r - s);
    Step st;
    st.send = c.recv + blk.begin(sb) * c.elem;
    st.send_bytes = blk.len(sb) * c.elem;
    st.dst = next;
    st.src = prev;
    st.recv_bytes = blk.len(rb) * c.elem;
    st.out = c.recv + blk.begin(rb) * c.elem;
    PERFCAL_RETURN_IF_ERROR(c.step(st));
  }
  return Status::Ok();
}

}  // namespace

static const AlgorithmRegistrar kRegister{
    {"ring", "ring reduce-scatter + all-gather, bandwidth-optimal for large vectors", &ring}};

}  // namespace perfcal::allreduce::detail
