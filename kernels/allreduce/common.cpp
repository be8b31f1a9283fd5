// The contract's helpers (names, config JSON, validation, the one can_implement) and the
// generic registered variant that runs an algorithm function on a communicator. Algorithm
// files register through AlgorithmRegistrar (algorithm.h); nothing here lists them.
#include <climits>
#include <cstdlib>
#include <cstring>

#include "allreduce/algorithm.h"

namespace perfcal::allreduce {

const char* to_string(Op op) {
  switch (op) {
    case Op::sum:
      return "sum";
    case Op::max:
      return "max";
    case Op::min:
      return "min";
  }
  return "?";
}

const char* to_string(Transport t) { return t == Transport::mpi ? "mpi" : "threads"; }

bool parse_op(std::string_view s, Op* out) {
  for (Op o : {Op::sum, Op::max, Op::min})
    if (s == to_string(o)) {
      *out = o;
      return true;
    }
  return false;
}

void to_json(Json& j, const Config& c) {
  j = Json{{"chunk_bytes", c.chunk_bytes}, {"pipeline_depth", c.pipeline_depth}};
}

void from_json(const Json& j, Config& c) {
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "chunk_bytes" && it.key() != "pipeline_depth")
      throw std::invalid_argument("unknown all-reduce config field \"" + it.key() + "\"");
  c.chunk_bytes = j.value("chunk_bytes", Config{}.chunk_bytes);
  c.pipeline_depth = j.value("pipeline_depth", Config{}.pipeline_depth);
}

bool CallHeader::operator==(const CallHeader& o) const {
  return count == o.count && dtype == o.dtype && op == o.op &&
         std::strcmp(algorithm, o.algorithm) == 0;
}

uint32_t CallHeader::hash() const {
  uint32_t h = 2166136261u;
  auto mix = [&h](const void* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
      h = (h ^ static_cast<const unsigned char*>(p)[i]) * 16777619u;
  };
  mix(&count, sizeof count);
  const int d = static_cast<int>(dtype), o = static_cast<int>(op);
  mix(&d, sizeof d);
  mix(&o, sizeof o);
  mix(algorithm, std::strlen(algorithm));
  return h;
}

std::string describe(const CallHeader& h) {
  return std::string(h.algorithm) + " of " + std::to_string(h.count) + " " +
         perfcal::to_string(h.dtype) + " " + to_string(h.op);
}

Communicator::Communicator() : timeout_s_(60.0) {
  if (const char* e = std::getenv("PERFCAL_ALLREDUCE_TIMEOUT_S")) {
    const double v = std::atof(e);
    if (v > 0) timeout_s_ = v;
  }
}

std::string variant_name(Transport t, const std::string& algorithm, Dtype d) {
  return std::string("allreduce/") + to_string(t) + "/" + algorithm + "/" + perfcal::to_string(d);
}

std::vector<std::string>& algorithm_list() {
  static std::vector<std::string> v;
  return v;
}
const std::vector<std::string>& algorithm_names() { return algorithm_list(); }

Status validate(const Problem& p) {
  if (p.dtype != Dtype::f32 && p.dtype != Dtype::f64 && p.dtype != Dtype::bf16)
    return Status::Unsupported(std::string("all-reduce dtype ") + perfcal::to_string(p.dtype) +
                               " (f32, f64, bf16 have reduction kernels)");
  if (p.op != Op::sum && p.op != Op::max && p.op != Op::min)
    return Status::Invalid("op must be sum, max or min");
  if (p.count < 0) return Status::Invalid("count must be >= 0");
  // Byte offsets are int64 everywhere; 2^60 bytes leaves room for offset arithmetic.
  if (p.count > (int64_t{1} << 60) / static_cast<int64_t>(size_of(p.dtype)))
    return Status::Invalid("count * element size overflows 64-bit byte offsets");
  if (p.ranks < 1) return Status::Invalid("ranks must be >= 1");
  return Status::Ok();
}

Status can_implement(const Config& c, const Problem& p, const std::string& algorithm) {
  PERFCAL_RETURN_IF_ERROR(validate(p));
  // Ranks of the threads transport are OS threads of one process with a ranks^2 mailbox;
  // beyond 256 the crafted inputs also stop being exact in bf16.
  if (p.transport == Transport::threads && p.ranks > 256)
    return Status::Unsupported("threads transport supports at most 256 ranks");
  // A segment must hold whole elements of every dtype and start cache-line aligned inside
  // the vector; anything below a line only adds per-message overhead.
  if (c.chunk_bytes < 64 || c.chunk_bytes % 64 != 0)
    return Status::Invalid("chunk_bytes must be a positive multiple of 64");
  // MPI message sizes are int, and each rank stages pipeline_depth chunks.
  if (c.chunk_bytes > (int64_t{1} << 30)) return Status::Invalid("chunk_bytes must be <= 1 GiB");
  // Staging memory and the request arrays grow with the depth; 16 already hides latency.
  if (c.pipeline_depth < 1 || c.pipeline_depth > 16)
    return Status::Invalid("pipeline_depth must be in [1, 16]");
  // MPI_Allreduce takes an int count.
  if (algorithm == "mpi_allreduce" && p.count > INT_MAX)
    return Status::Unsupported("MPI_Allreduce takes an int count (at most 2^31 - 1 elements)");
  if (algorithm == "mpi_allreduce" && p.transport != Transport::mpi)
    return Status::Unsupported("mpi_allreduce runs on the mpi transport only");
  return Status::Ok();
}

Config default_config(const Problem& p, const std::string& algorithm) {
  Config c;
  // MPI over shared memory: 512 KiB segments, two in flight, keep the copy-in/copy-out of
  // Open MPI's vader BTL overlapped with the reduction (measured best of 64 KiB..4 MiB x 1..4
  // on this machine's 2-rank runs; docs/ALLREDUCE.md).
  c.chunk_bytes = 512 * 1024;
  c.pipeline_depth = 2;
  // The tree pipelines its levels in chunks: smaller chunks shorten the fill of log2(p)
  // levels, larger ones cut per-message overhead; 64 KiB is the middle for p <= 8.
  if (algorithm == "tree") c.chunk_bytes = 64 * 1024;
  (void)p;
  return c;
}

namespace detail {

Status fold_in(const Context& c, const Fold& f) {
  if (c.rank >= 2 * f.rem) return Status::Ok();
  const std::size_t bytes = static_cast<std::size_t>(c.problem->count) * c.elem;
  Step s;
  if (c.rank % 2 == 0) {
    s.send = c.send, s.send_bytes = bytes, s.dst = c.rank + 1;
  } else {
    s.src = c.rank - 1, s.recv_bytes = bytes, s.out = c.recv, s.local = c.send;
    s.reducer = c.reducer, s.incoming_first = true;  // the lower rank's operand first
  }
  return c.step(s);
}

Status fold_out(const Context& c, const Fold& f) {
  if (c.rank >= 2 * f.rem) return Status::Ok();
  const std::size_t bytes = static_cast<std::size_t>(c.problem->count) * c.elem;
  Step s;
  if (c.rank % 2 == 1)
    s.send = c.recv, s.send_bytes = bytes, s.dst = c.rank - 1;
  else
    s.src = c.rank + 1, s.recv_bytes = bytes, s.out = c.recv;
  return c.step(s);
}

namespace {

class AlgorithmVariant final : public Variant {
 public:
  AlgorithmVariant(const Algorithm& a, Transport t, Dtype d) : algo_(a), transport_(t) {
    info_.name = variant_name(t, a.name, d);
    info_.backend = to_string(t);
    info_.dtype = d;
    info_.baseline = a.baseline;
    info_.description = a.description;
  }
  const VariantInfo& info() const override { return info_; }

  Json default_config(const Problem& p) const override {
    return Json(allreduce::default_config(p, algo_.name));
  }

  SearchSpace search_space(const Problem& p) const override {
    (void)p;
    // Threads ranks read each other's buffers directly: only the tree's chunking has an
    // effect there. MPI_Allreduce picks its own segmentation.
    if (algo_.baseline) return {};
    if (transport_ == Transport::threads && std::strcmp(algo_.name, "tree") != 0) return {};
    SearchSpace s;
    s.push_back({"chunk_bytes",
                 {Json(16 << 10), Json(64 << 10), Json(256 << 10), Json(1 << 20), Json(4 << 20)}});
    if (transport_ == Transport::mpi) s.push_back({"pipeline_depth", {Json(1), Json(2), Json(4)}});
    return s;
  }

  Status can_implement(const Json& config, const Problem& p) const override {
    Config c;
    PERFCAL_RETURN_IF_ERROR(parse_config(config, &c));
    if (p.transport != transport_)
      return Status::Invalid(std::string("problem transport ") + to_string(p.transport) +
                             " but variant " + info_.name);
    if (p.dtype != info_.dtype)
      return Status::Invalid(std::string("problem dtype ") + perfcal::to_string(p.dtype) +
                             " but variant " + info_.name);
    return allreduce::can_implement(c, p, algo_.name);
  }

  Status make_plan(const Problem& p, const Json& config,
                   std::unique_ptr<Plan>* out) const override {
    PERFCAL_RETURN_IF_ERROR(can_implement(config, p));
    Config c;
    PERFCAL_RETURN_IF_ERROR(parse_config(config, &c));
    Reducer r = make_reducer(p.dtype, p.op);
    if (!r.fn) return Status::Unsupported("no reduction kernel for this dtype/op");
    *out = std::make_unique<AlgorithmPlan>(algo_, p, c, r);
    return Status::Ok();
  }

 private:
  // Immutable after creation: every rank of a thread team may run() it at once.
  class AlgorithmPlan final : public Plan {
   public:
    AlgorithmPlan(const Algorithm& a, const Problem& p, const Config& c, const Reducer& r)
        : algo_(a), p_(p), c_(c), r_(r) {}
    Status run(const Operands& ops) override {
      if (!ops.comm) return Status::Invalid("operands have no communicator");
      if (ops.comm->size() != p_.ranks)
        return Status::Invalid("communicator has " + std::to_string(ops.comm->size()) +
                               " ranks, problem " + std::to_string(p_.ranks));
      if (ops.comm->transport() != p_.transport)
        return Status::Invalid(std::string("communicator transport ") +
                               to_string(ops.comm->transport()) + ", problem " +
                               to_string(p_.transport));
      const std::size_t bytes = static_cast<std::size_t>(p_.count) * r_.elem_bytes;
      if (bytes > 0 && (!ops.send || !ops.recv)) return Status::Invalid("send or recv is null");
      if (p_.in_place && ops.send != ops.recv)
        return Status::Invalid("in_place problem but send != recv");
      if (!p_.in_place && ops.send != ops.recv && bytes > 0) {
        const char* s = static_cast<const char*>(ops.send);
        const char* d = static_cast<const char*>(ops.recv);
        if (s < d + bytes && d < s + bytes)
          return Status::Invalid("send and recv overlap partially");
      }
      ops.comm->begin(CallHeader{p_.count, p_.dtype, p_.op, algo_.name});
      Context ctx;
      ctx.problem = &p_;
      ctx.config = &c_;
      ctx.reducer = &r_;
      ctx.send = static_cast<const char*>(ops.send);
      ctx.recv = static_cast<char*>(ops.recv);
      ctx.comm = ops.comm;
      ctx.elem = r_.elem_bytes;
      ctx.rank = ops.comm->rank();
      ctx.size = ops.comm->size();
      return algo_.fn(ctx);
    }

   private:
    Algorithm algo_;
    Problem p_;
    Config c_;
    Reducer r_;
  };

  VariantInfo info_;
  Algorithm algo_;
  Transport transport_;
};

}  // namespace

AlgorithmRegistrar::AlgorithmRegistrar(const Algorithm& a) {
  algorithm_list().push_back(a.name);
  for (Transport t : {Transport::threads, Transport::mpi}) {
    if (!(a.transports & (1u << static_cast<unsigned>(t)))) continue;
#ifndef PERFCAL_HAVE_MPI
    if (t == Transport::mpi) continue;  // built without MPI: nothing could run it
#endif
    for (Dtype d : {Dtype::f32, Dtype::bf16, Dtype::f64})
      Registry::instance().add(std::make_unique<AlgorithmVariant>(a, t, d));
  }
}

}  // namespace detail

#ifndef PERFCAL_HAVE_MPI
Status mpi_world_communicator(std::unique_ptr<Communicator>* out) {
  out->reset();
  return Status::Unsupported("perfcal was built without MPI");
}
#endif

}  // namespace perfcal::allreduce
