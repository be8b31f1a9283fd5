// Attention inputs and sampled verification (see attention_check.h).
#include "attention_check.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "harness.h"

namespace perfcal::bench {

using attention::Pass;
using attention::Problem;

bool make_attention_inputs(const Problem& p, uint64_t seed, AttentionInputs* in) {
  const int64_t nq = attention::q_elements(p), nk = attention::kv_elements(p, p.k),
                nv = attention::kv_elements(p, p.v), no = attention::o_elements(p);
  const bool b16 = p.dtype == Dtype::bf16;
  bool ok = true;
  if (b16) {
    ok &= in->q16.reset(nq) && in->k16.reset(nk) && in->v16.reset(nv) && in->do16.reset(no);
    if (!ok) return false;
    fill_uniform_bf16(in->q16.data(), nq, seed);
    fill_uniform_bf16(in->k16.data(), nk, seed + 1);
    fill_uniform_bf16(in->v16.data(), nv, seed + 2);
    fill_uniform_bf16(in->do16.data(), no, seed + 3);
    in->ops.q = in->q16.data(), in->ops.k = in->k16.data(), in->ops.v = in->v16.data();
    in->ops.d_o = in->do16.data();
  } else {
    ok &= in->q32.reset(nq) && in->k32.reset(nk) && in->v32.reset(nv) && in->do32.reset(no);
    if (!ok) return false;
    fill_uniform(in->q32.data(), nq, seed);
    fill_uniform(in->k32.data(), nk, seed + 1);
    fill_uniform(in->v32.data(), nv, seed + 2);
    fill_uniform(in->do32.data(), no, seed + 3);
    in->ops.q = in->q32.data(), in->ops.k = in->k32.data(), in->ops.v = in->v32.data();
    in->ops.d_o = in->do32.data();
  }
  ok &= in->o.reset(no) && in->lse.reset(attention::lse_elements(p));
  if (p.pass == Pass::bwd) ok &= in->dq.reset(nq) && in->dk.reset(nk) && in->dv.reset(nv);
  in->ops.o = in->o.data(), in->ops.lse = in->lse.data();
  in->ops.dq = in->dq.data(), in->ops.dk = in->dk.data(), in->ops.dv = in->dv.data();
  return ok;
}

double attention_tolerance(const Problem& p) {
  if (p.dtype == Dtype::bf16) return 2e-2;
  return 64 * 1.19e-7 * std::sqrt(double(std::max(p.seq_kv, p.head_dim)));
}

std::vector<int64_t> attention_sample_rows(int64_t n, uint64_t seed) {
  std::vector<int64_t> r;
  if (n == 0) return r;
  r = {0, n - 1, n / 2};
  std::mt19937_64 rng(seed);
  for (int t = 0; t < 4; ++t) r.push_back(int64_t(rng() % uint64_t(n)));
  std::sort(r.begin(), r.end());
  r.erase(std::unique(r.begin(), r.end()), r.end());
  return r;
}

namespace {

// Accumulates max |got - ref| and max |ref| over sampled rows.
struct Err {
  double err = 0, ref = 0;
  bool finite = true;
  void add(const double* ref_row, const float* got, int64_t stride, int64_t n) {
    for (int64_t d = 0; d < n; ++d) {
      const double g = got[d * stride];
      if (!std::isfinite(g)) finite = false;
      err = std::max(err, std::abs(g - ref_row[d]));
      ref = std::max(ref, std::abs(ref_row[d]));
    }
  }
  double rel() const { return finite ? err / std::max(ref, 1e-30) : INFINITY; }
};

}  // namespace

double verify_attention(const Problem& p, const attention::Operands& ops, uint64_t seed) {
  const int64_t D = p.head_dim;
  std::vector<double> a(D), b(D);
  Err e;
  double lse_err = 0;
  for (int64_t bb : {int64_t{0}, p.batch - 1})
    for (int64_t h : {int64_t{0}, p.heads - 1}) {
      for (int64_t i : attention_sample_rows(p.seq_q, seed + h)) {
        if (p.pass == Pass::fwd) {
          double lse;
          attention::reference_forward_row(p, ops.q, ops.k, ops.v, bb, h, i, a.data(), &lse);
          e.add(a.data(), ops.o + bb * p.o.b + h * p.o.h + i * p.o.s, p.o.d, D);
          const float got = ops.lse[(bb * p.heads + h) * p.seq_q + i];
          // A row that sees no key must give LSE = -inf exactly; any other NaN/Inf fails.
          if (std::isfinite(lse))
            lse_err = std::max(lse_err, std::isfinite(got)
                                            ? std::abs(got - lse) / std::max(1.0, std::abs(lse))
                                            : INFINITY);
          else if (!(std::isinf(got) && got < 0))
            lse_err = INFINITY;
        } else {
          attention::reference_backward_dq_row(p, ops, bb, h, i, a.data());
          e.add(a.data(), ops.dq + bb * p.q.b + h * p.q.h + i * p.q.s, p.q.d, D);
        }
      }
      if (p.pass == Pass::bwd) {
        const int64_t kvh = h / p.group();
        for (int64_t j : attention_sample_rows(p.seq_kv, seed + 100 + h)) {
          attention::reference_backward_dkv_row(p, ops, bb, kvh, j, a.data(), b.data());
          e.add(a.data(), ops.dk + bb * p.k.b + kvh * p.k.h + j * p.k.s, p.k.d, D);
          e.add(b.data(), ops.dv + bb * p.v.b + kvh * p.v.h + j * p.v.s, p.v.d, D);
        }
      }
    }
  return std::max(e.rel(), lse_err);
}

}  // namespace perfcal::bench
