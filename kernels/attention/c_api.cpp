// The attention C API (kernels/include/perfcal/attention.h): descriptor -> Problem, then the
// registered fused variant attention/cpu/flash/<pass>/<dtype> with the config select_config
// picks: a tuned one for the nearest (seq_q, seq_kv, head_dim) bucket when a profile is
// loaded (perfcal_load_profile / PERFCAL_PROFILE, kernels/core/tuned.h), else the variant's
// default; the descriptor's thread count wins either way. Every failure becomes a status code
// plus a thread-local message; nothing throws across the C boundary.
#include <algorithm>
#include <cmath>
#include <exception>
#include <string>

#include "attention/attention.h"
#include "core/tuned.h"
#include "perfcal/attention.h"

namespace {

using perfcal::Status;
using perfcal::StatusCode;
using namespace perfcal::attention;

thread_local std::string g_last_error;

int code_of(const Status& s) {
  g_last_error = s.message();
  switch (s.code()) {
    case StatusCode::kOk:
      return PERFCAL_ATTN_OK;
    case StatusCode::kInvalidArgument:
      return PERFCAL_ATTN_INVALID_ARGUMENT;
    case StatusCode::kUnsupported:
      return PERFCAL_ATTN_UNSUPPORTED;
    case StatusCode::kOutOfMemory:
      return PERFCAL_ATTN_OUT_OF_MEMORY;
    case StatusCode::kInternal:
      return PERFCAL_ATTN_INTERNAL;
  }
  return PERFCAL_ATTN_INTERNAL;
}

Status to_problem(const perfcal_attention_desc* d, Pass pass, Problem* p) {
  if (!d) return Status::Invalid("descriptor is null");
  if (d->dtype != PERFCAL_ATTN_F32 && d->dtype != PERFCAL_ATTN_BF16)
    return Status::Invalid("dtype must be PERFCAL_ATTN_F32 or PERFCAL_ATTN_BF16");
  if (d->causal != 0 && d->causal != 1) return Status::Invalid("causal must be 0 or 1");
  if (d->threads < 0) return Status::Invalid("threads must be >= 0");
  p->pass = pass;
  p->dtype = d->dtype == PERFCAL_ATTN_BF16 ? perfcal::Dtype::bf16 : perfcal::Dtype::f32;
  p->batch = d->batch, p->heads = d->heads, p->kv_heads = d->kv_heads;
  p->seq_q = d->seq_q, p->seq_kv = d->seq_kv, p->head_dim = d->head_dim;
  p->causal = d->causal == 1;
  p->scale =
      d->scale == 0.0f && d->head_dim > 0 ? float(1.0 / std::sqrt(double(d->head_dim))) : d->scale;
  auto st = [](const int64_t* s) { return Strides{s[0], s[1], s[2], s[3]}; };
  p->q = st(d->q_strides), p->k = st(d->k_strides), p->v = st(d->v_strides);
  p->o = st(d->o_strides);
  return validate(*p);
}

// The one selection point. A tuned config is used only when this variant accepts it for
// this problem here (it may come from another machine of the same ISA tier, or a bucket
// with other tile limits); its thread count never exceeds the default's (every core), and
// an explicit descriptor count wins. No profile loaded: one atomic load, then the default.
perfcal::Json select_config(const Variant& v, const Problem& p, int threads) {
  perfcal::Json def = v.default_config(p);
  if (perfcal::tuned::active()) {
    if (auto j = perfcal::tuned::lookup(v.name(), p.seq_q, p.seq_kv, p.head_dim)) {
      FlashConfig c, d;
      if (perfcal::parse_config(*j, &c).ok() && perfcal::parse_config(def, &d).ok()) {
        c.threads = threads > 0 ? threads : std::min(c.threads, d.threads);
        perfcal::Json cfg;
        to_json(cfg, c);
        if (v.can_implement(cfg, p).ok()) return cfg;
      }
    }
  }
  if (threads > 0) def["threads"] = threads;
  return def;
}

const Variant* find_variant(const Problem& p, Status* s) {
  const std::string name =
      std::string("attention/cpu/flash/") + to_string(p.pass) + "/" + perfcal::to_string(p.dtype);
  const Variant* v = Registry::instance().find(name);
  if (!v) *s = Status::Unsupported(name + " is not registered");
  return v;
}

int run(const perfcal_attention_desc* d, Pass pass, const Operands& ops) {
  try {
    Problem p;
    Status s = to_problem(d, pass, &p);
    if (!s.ok()) return code_of(s);
    const Variant* v = find_variant(p, &s);
    if (!v) return code_of(s);
    const perfcal::Json cfg = select_config(*v, p, d->threads);
    std::unique_ptr<Variant::Plan> plan;
    s = v->make_plan(p, cfg, &plan);
    if (s.ok()) s = plan->run(ops);
    return code_of(s);
  } catch (const std::bad_alloc&) {
    return code_of(Status::OutOfMemory("allocation failed"));
  } catch (const std::exception& e) {
    return code_of(Status::Internal(e.what()));
  }
}

}  // namespace

std::string perfcal::attention_config_for(const perfcal_attention_desc* desc, int backward) {
  try {
    // Qualified: inside namespace perfcal, a bare Variant would name perfcal::Variant<P, O>.
    attention::Problem p;
    Status s = to_problem(desc, backward ? attention::Pass::bwd : attention::Pass::fwd, &p);
    const attention::Variant* v = s.ok() ? find_variant(p, &s) : nullptr;
    if (!v) {
      code_of(s);
      return "";
    }
    code_of(Status::Ok());
    return select_config(*v, p, desc->threads).dump();
  } catch (const std::exception& e) {
    code_of(Status::Internal(e.what()));
    return "";
  }
}

extern "C" int perfcal_attention_forward(const perfcal_attention_desc* desc, const void* q,
                                         const void* k, const void* v, float* o, float* lse) {
  Operands ops;
  ops.q = q, ops.k = k, ops.v = v, ops.o = o, ops.lse = lse;
  return run(desc, Pass::fwd, ops);
}

extern "C" int perfcal_attention_backward(const perfcal_attention_desc* desc, const void* q,
                                          const void* k, const void* v, const float* o,
                                          const float* lse, const void* d_o, float* dq, float* dk,
                                          float* dv) {
  Operands ops;
  ops.q = q, ops.k = k, ops.v = v;
  // The backward only reads O and LSE; Operands is shared with the forward, hence non-const.
  ops.o = const_cast<float*>(o), ops.lse = const_cast<float*>(lse);
  ops.d_o = d_o, ops.dq = dq, ops.dk = dk, ops.dv = dv;
  return run(desc, Pass::bwd, ops);
}

extern "C" const char* perfcal_attention_status_string(int status) {
  switch (status) {
    case PERFCAL_ATTN_OK:
      return "ok";
    case PERFCAL_ATTN_INVALID_ARGUMENT:
      return "invalid argument";
    case PERFCAL_ATTN_UNSUPPORTED:
      return "unsupported";
    case PERFCAL_ATTN_OUT_OF_MEMORY:
      return "out of memory";
    case PERFCAL_ATTN_INTERNAL:
      return "internal error";
  }
  return "unknown status";
}

extern "C" const char* perfcal_attention_last_error(void) { return g_last_error.c_str(); }
