// The all-reduce C API (kernels/include/perfcal/allreduce.h): arguments -> Problem, then the
// registered allreduce/threads/<algorithm>/<dtype> variant with its segmenting config (a
// tuned one for the nearest (bytes per rank, ranks) bucket when a profile is loaded, see
// kernels/core/tuned.h, else the algorithm's default), run by every rank of the team's
// ThreadTeam. Every failure becomes a status code plus a thread-local message; nothing
// throws across the C boundary.
#include <exception>
#include <string>

#include "allreduce/allreduce.h"
#include "core/tuned.h"
#include "perfcal/allreduce.h"

struct perfcal_allreduce_team {
  std::unique_ptr<perfcal::allreduce::ThreadTeam> team;
};

namespace {

using perfcal::Status;
using perfcal::StatusCode;
using namespace perfcal::allreduce;

thread_local std::string g_last_error;

int code_of(const Status& s) {
  g_last_error = s.message();
  switch (s.code()) {
    case StatusCode::kOk:
      return PERFCAL_AR_OK;
    case StatusCode::kInvalidArgument:
      return PERFCAL_AR_INVALID_ARGUMENT;
    case StatusCode::kUnsupported:
      return PERFCAL_AR_UNSUPPORTED;
    case StatusCode::kOutOfMemory:
      return PERFCAL_AR_OUT_OF_MEMORY;
    case StatusCode::kInternal:
      return PERFCAL_AR_INTERNAL;
  }
  return PERFCAL_AR_INTERNAL;
}

// The config selection point. A tuned config is used only when the algorithm accepts it for
// this problem here; no profile loaded costs one atomic load.
perfcal::Json select_config(const Variant& v, const Problem& p) {
  if (perfcal::tuned::active())
    if (auto j = perfcal::tuned::lookup(v.name(), p.bytes(), p.ranks, 1)) {
      Config c;
      if (perfcal::parse_config(*j, &c).ok()) {
        perfcal::Json cfg;
        to_json(cfg, c);
        if (v.can_implement(cfg, p).ok()) return cfg;
      }
    }
  return v.default_config(p);
}

int run(perfcal_allreduce_team* t, const void* const* send, void* const* recv, int64_t count,
        int dtype, int op, const char* algorithm) {
  if (!t || !t->team) return code_of(Status::Invalid("team is null"));
  if (!send || !recv) return code_of(Status::Invalid("send or recv array is null"));
  Problem p;
  p.count = count;
  if (dtype == PERFCAL_AR_F32)
    p.dtype = perfcal::Dtype::f32;
  else if (dtype == PERFCAL_AR_BF16)
    p.dtype = perfcal::Dtype::bf16;
  else if (dtype == PERFCAL_AR_F64)
    p.dtype = perfcal::Dtype::f64;
  else
    return code_of(
        Status::Invalid("dtype must be PERFCAL_AR_F32, PERFCAL_AR_BF16 or PERFCAL_AR_F64"));
  if (op < PERFCAL_AR_SUM || op > PERFCAL_AR_MIN)
    return code_of(Status::Invalid("op must be PERFCAL_AR_SUM, PERFCAL_AR_MAX or PERFCAL_AR_MIN"));
  p.op = static_cast<Op>(op);
  p.transport = Transport::threads;
  p.ranks = t->team->size();
  p.in_place = send[0] == recv[0];
  for (int r = 0; r < p.ranks; ++r) {
    if (count > 0 && (!send[r] || !recv[r]))
      return code_of(Status::Invalid("send[" + std::to_string(r) + "] or recv[" +
                                     std::to_string(r) + "] is null"));
    if ((send[r] == recv[r]) != p.in_place)
      return code_of(Status::Invalid("in-place on some ranks but not on others"));
  }
  std::string algo = algorithm && *algorithm ? algorithm : "auto";
  if (algo == "auto")
    algo = p.count * int64_t(size_of(p.dtype)) <= 64 * 1024 ? "recursive_doubling" : "ring";
  const Variant* v = Registry::instance().find(variant_name(Transport::threads, algo, p.dtype));
  if (!v) return code_of(Status::Invalid("unknown algorithm \"" + algo + "\""));
  std::unique_ptr<Variant::Plan> plan;
  Status s = v->make_plan(p, select_config(*v, p), &plan);
  if (!s.ok()) return code_of(s);
  s = t->team->run([&](Communicator& c) {
    Operands ops{send[c.rank()], recv[c.rank()], &c};
    return plan->run(ops);
  });
  return code_of(s);
}

}  // namespace

extern "C" {

int perfcal_allreduce_team_create(int ranks, perfcal_allreduce_team** team) {
  try {
    if (!team) return code_of(Status::Invalid("team is null"));
    *team = nullptr;
    auto t = std::make_unique<perfcal_allreduce_team>();
    Status s = ThreadTeam::create(ranks, &t->team);
    if (!s.ok()) return code_of(s);
    *team = t.release();
    return code_of(Status::Ok());
  } catch (const std::bad_alloc&) {
    return code_of(Status::OutOfMemory("out of memory"));
  } catch (const std::exception& e) {
    return code_of(Status::Internal(e.what()));
  }
}

void perfcal_allreduce_team_destroy(perfcal_allreduce_team* team) { delete team; }

int perfcal_allreduce_team_set_timeout(perfcal_allreduce_team* team, double seconds) {
  if (!team || !team->team) return code_of(Status::Invalid("team is null"));
  if (!(seconds > 0)) return code_of(Status::Invalid("timeout must be > 0 seconds"));
  team->team->set_timeout(seconds);
  return code_of(Status::Ok());
}

int perfcal_allreduce(perfcal_allreduce_team* team, const void* const* send, void* const* recv,
                      int64_t count, int dtype, int op, const char* algorithm) {
  try {
    return run(team, send, recv, count, dtype, op, algorithm);
  } catch (const std::bad_alloc&) {
    return code_of(Status::OutOfMemory("out of memory"));
  } catch (const std::exception& e) {
    return code_of(Status::Internal(e.what()));
  }
}

const char* perfcal_allreduce_status_string(int status) {
  switch (status) {
    case PERFCAL_AR_OK:
      return "ok";
    case PERFCAL_AR_INVALID_ARGUMENT:
      return "invalid argument";
    case PERFCAL_AR_UNSUPPORTED:
      return "unsupported";
    case PERFCAL_AR_OUT_OF_MEMORY:
      return "out of memory";
    case PERFCAL_AR_INTERNAL:
      return "internal error";
  }
  return "unknown status";
}

const char* perfcal_allreduce_last_error(void) { return g_last_error.c_str(); }

}  // extern "C"
