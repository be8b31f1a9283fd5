// Tree all-reduce: binomial-tree reduce to rank 0, then binomial-tree broadcast back, both
// pipelined in chunks of chunk_bytes (the segment loop is outermost, so while a parent
// combines chunk i its children already work on chunk i + 1). 2 ceil(log2 p) steps of
// latency for a small vector, with no folding for a non-power-of-two p: the latency choice.
//
// Binomial tree: rank r's children are r + 2^k for every k below r's lowest set bit (with
// r + 2^k < p); its parent is r - (lowest set bit of r). Rank 0 roots both phases, so the
// result is computed once and copied: bit-identical on every rank. Children have higher
// ranks than their parent, so "local op incoming" keeps the lower rank's operand first.
#include "allreduce/algorithm.h"

namespace perfcal::allreduce::detail {
namespace {

Status tree(const Context& c) {
  const int p = c.size, r = c.rank;
  if (p == 1) {
    c.copy_input();
    return Status::Ok();
  }
  const int64_t count = c.problem->count;
  const int64_t chunk = std::max<int64_t>(1, c.config->chunk_bytes / static_cast<int64_t>(c.elem));
  const int64_t segments = std::max<int64_t>(1, (count + chunk - 1) / chunk);
  const int low = r == 0 ? 1 << 30 : (r & -r);  // lowest set bit; the root has none
  const int parent = r - (r == 0 ? 0 : low);
  std::vector<int> children;  // increasing distance
  for (int k = 1; k < low && r + k < p; k <<= 1) children.push_back(r + k);
  // The whole message fits one transport step per edge; the tree does its own pipelining.
  for (int64_t s = 0; s < segments; ++s) {
    const int64_t b = s * chunk, n = std::min(chunk, count - b);
    const std::size_t bytes = static_cast<std::size_t>(std::max<int64_t>(n, 0)) * c.elem;
    const char* acc = c.send + b * c.elem;  // this rank's partial for the segment so far
    for (int child : children) {
      Step st;
      st.src = child, st.recv_bytes = bytes, st.out = c.recv + b * c.elem, st.local = acc;
      st.reducer = c.reducer;
      PERFCAL_RETURN_IF_ERROR(c.step(st));
      acc = c.recv + b * c.elem;
    }
    if (r != 0) {
      Step st;
      st.send = acc, st.send_bytes = bytes, st.dst = parent;
      PERFCAL_RETURN_IF_ERROR(c.step(st));
    } else if (acc != c.recv + b * c.elem && bytes > 0) {
      std::memmove(c.recv + b * c.elem, acc, bytes);  // only when rank 0 has no child
    }
  }
  for (int64_t s = 0; s < segments; ++s) {
    const int64_t b = s * chunk, n = std::min(chunk, count - b);
    const std::size_t bytes = static_cast<std::size_t>(std::max<int64_t>(n, 0)) * c.elem;
    if (r != 0) {
      Step st;
      st.src = parent, st.recv_bytes = bytes, st.out = c.recv + b * c.elem;
      PERFCAL_RETURN_IF_ERROR(c.step(st));
    }
    for (auto it = children.rbegin(); it != children.rend(); ++it) {  // farthest subtree first
      Step st;
      st.send = c.recv + b * c.elem, st.send_bytes = bytes, st.dst = *it;
      PERFCAL_RETURN_IF_ERROR(c.step(st));
    }
  }
  return Status::Ok();
}

}  // namespace

static const AlgorithmRegistrar kRegister{
    {"tree", "binomial-tree reduce + broadcast, pipelined in chunks, for latency", &tree}};

}  // namespace perfcal::allreduce::detail
