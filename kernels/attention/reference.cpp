// Float64 reference for the attention contract in attention.h, plus the contract's helpers
// (validation, cost, element counts). Deliberately the obvious loops: materialise a score
// row, subtract its max, exponentiate, normalise.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "attention/attention.h"

// The family's one registry instance. Specialized in perfcal, the template's namespace, as
// the standard requires (GCC also accepts it inside the family's namespace; clang does not).
namespace perfcal {
template <>
attention::Registry& attention::Registry::instance() {
  static attention::Registry r;
  return r;
}
}  // namespace perfcal

namespace perfcal::attention {

Problem Problem::dense(Pass pass, Dtype dtype, int64_t batch, int64_t heads, int64_t kv_heads,
                       int64_t seq_q, int64_t seq_kv, int64_t head_dim, bool causal,
                       Layout layout) {
  Problem p;
  p.pass = pass;
  p.dtype = dtype;
  p.batch = batch;
  p.heads = heads;
  p.kv_heads = kv_heads;
  p.seq_q = seq_q;
  p.seq_kv = seq_kv;
  p.head_dim = head_dim;
  p.causal = causal;
  p.scale = head_dim > 0 ? float(1.0 / std::sqrt(double(head_dim))) : 1.0f;
  auto make = [&](int64_t nh, int64_t s) {
    Strides st;
    st.d = 1;
    if (layout == Layout::bhsd) {
      st.s = head_dim;
      st.h = s * head_dim;
      st.b = nh * s * head_dim;
    } else {
      st.h = head_dim;
      st.s = nh * head_dim;
      st.b = s * nh * head_dim;
    }
    return st;
  };
  p.q = make(heads, seq_q);
  p.o = p.q;
  p.k = make(kv_heads, seq_kv);
  p.v = p.k;
  return p;
}

namespace {
int64_t span(const Strides& s, int64_t nb, int64_t nh, int64_t ns, int64_t nd) {
  if (nb == 0 || nh == 0 || ns == 0 || nd == 0) return 0;
  return (nb - 1) * s.b + (nh - 1) * s.h + (ns - 1) * s.s + (nd - 1) * s.d + 1;
}
int64_t at(const Strides& s, int64_t b, int64_t h, int64_t i, int64_t d) {
  return b * s.b + h * s.h + i * s.s + d * s.d;
}
}  // namespace

int64_t q_elements(const Problem& p) { return span(p.q, p.batch, p.heads, p.seq_q, p.head_dim); }
int64_t kv_elements(const Problem& p, const Strides& s) {
  return span(s, p.batch, p.kv_heads, p.seq_kv, p.head_dim);
}
int64_t o_elements(const Problem& p) { return span(p.o, p.batch, p.heads, p.seq_q, p.head_dim); }
int64_t lse_elements(const Problem& p) { return p.batch * p.heads * p.seq_q; }

Status validate(const Problem& p) {
  if (p.dtype != Dtype::f32 && p.dtype != Dtype::bf16)
    return Status::Unsupported(std::string("attention dtype ") + to_string(p.dtype));
  if (p.batch < 0) return Status::Invalid("batch must be >= 0");
  if (p.heads < 1) return Status::Invalid("heads must be >= 1");
  if (p.kv_heads < 1) return Status::Invalid("kv_heads must be >= 1");
  if (p.heads % p.kv_heads != 0)
    return Status::Invalid("heads (" + std::to_string(p.heads) +
                           ") must be a multiple of kv_heads (" + std::to_string(p.kv_heads) +
                           ") for grouped-query attention");
  if (p.seq_q < 0) return Status::Invalid("seq_q must be >= 0");
  if (p.seq_kv < 0) return Status::Invalid("seq_kv must be >= 0");
  if (p.head_dim < 1) return Status::Invalid("head_dim must be >= 1");
  if (!std::isfinite(p.scale) || p.scale == 0.0f)
    return Status::Invalid("scale must be finite and non-zero");
  // Every product below stays under 2^60, so element indices and byte counts (x 8) fit int64.
  const int64_t limit = int64_t{1} << 60;
  for (int64_t n : {p.batch, p.heads, p.seq_q, p.seq_kv, p.head_dim})
    if (n > (int64_t{1} << 40)) return Status::Invalid("a size exceeds 2^40");
  if (p.batch * p.heads > limit / std::max<int64_t>(1, p.seq_q))
    return Status::Invalid("batch * heads * seq_q overflows 64-bit element counts");
  const struct {
    const char* name;
    const Strides* s;
    int64_t nh, ns;
  } tensors[] = {{"q", &p.q, p.heads, p.seq_q},
                 {"k", &p.k, p.kv_heads, p.seq_kv},
                 {"v", &p.v, p.kv_heads, p.seq_kv},
                 {"o", &p.o, p.heads, p.seq_q}};
  for (const auto& t : tensors) {
    const Strides& s = *t.s;
    if (s.b < 0 || s.h < 0 || s.s < 0 || s.d < 0)
      return Status::Invalid(std::string("negative stride in ") + t.name);
    // Each term (extent - 1) * stride must fit, and so must their sum.
    int64_t total = 0;
    for (auto [n, st] : {std::pair{p.batch, s.b}, {t.nh, s.h}, {t.ns, s.s}, {p.head_dim, s.d}}) {
      if (n > 1 && st > limit / (n - 1))
        return Status::Invalid(std::string("strides of ") + t.name + " overflow 64-bit indices");
      total += n > 1 ? (n - 1) * st : 0;
      if (total > limit)
        return Status::Invalid(std::string("strides of ") + t.name + " overflow 64-bit indices");
    }
    // A zero stride along a dimension longer than 1 would make distinct elements alias;
    // legal for inputs in BLAS terms, but outputs would race, so refuse it everywhere.
    if ((p.head_dim > 1 && s.d == 0) || (t.ns > 1 && s.s == 0))
      return Status::Invalid(std::string("zero seq or dim stride in ") + t.name);
  }
  return Status::Ok();
}

double flops(const Problem& p) {
  double f = 4.0 * double(p.batch) * double(p.heads) * double(p.seq_q) * double(p.seq_kv) *
             double(p.head_dim);
  if (p.causal) f *= 0.5;
  return p.pass == Pass::fwd ? f : 2.5 * f;
}

double min_bytes(const Problem& p) {
  double es = double(size_of(p.dtype));
  double nq = double(p.batch) * p.heads * p.seq_q * p.head_dim;
  double nkv = double(p.batch) * p.kv_heads * p.seq_kv * p.head_dim;
  double nl = double(p.batch) * p.heads * p.seq_q;
  if (p.pass == Pass::fwd) return es * (nq + 2 * nkv) + 4.0 * (nq + nl);
  // Read Q, K, V, dO (dtype), O and LSE (fp32); write dQ, dK, dV (fp32).
  return es * (2 * nq + 2 * nkv) + 4.0 * (nq + nl) + 4.0 * (nq + 2 * nkv);
}

double load(Dtype dtype, const void* x, int64_t idx) {
  if (dtype == Dtype::bf16) return bf16_to_float(static_cast<const uint16_t*>(x)[idx]);
  return static_cast<const float*>(x)[idx];
}

namespace {
// Scores of row i of head (b, h) against keys [0, end), scaled.
void score_row(const Problem& p, const void* q, const void* k, int64_t b, int64_t h, int64_t i,
               int64_t end, std::vector<double>* s) {
  const int64_t kvh = h / p.group();
  s->assign(end, 0.0);
  for (int64_t j = 0; j < end; ++j) {
    double acc = 0;
    for (int64_t d = 0; d < p.head_dim; ++d)
      acc += load(p.dtype, q, at(p.q, b, h, i, d)) * load(p.dtype, k, at(p.k, b, kvh, j, d));
    (*s)[j] = double(p.scale) * acc;
  }
}

// Probabilities of a row (normalised) and its log-sum-exp; empty rows give lse = -inf.
double softmax_row(std::vector<double>* s) {
  if (s->empty()) return -std::numeric_limits<double>::infinity();
  double mx = -std::numeric_limits<double>::infinity();
  for (double x : *s) mx = std::max(mx, x);
  double sum = 0;
  for (double& x : *s) sum += (x = std::exp(x - mx));
  for (double& x : *s) x /= sum;
  return mx + std::log(sum);
}
}  // namespace

void reference_forward_row(const Problem& p, const void* q, const void* k, const void* v, int64_t b,
                           int64_t h, int64_t i, double* o_row, double* lse) {
  std::vector<double> s;
  const int64_t end = p.key_end(i), kvh = h / p.group();
  score_row(p, q, k, b, h, i, end, &s);
  *lse = softmax_row(&s);
  for (int64_t d = 0; d < p.head_dim; ++d) {
    double acc = 0;
    for (int64_t j = 0; j < end; ++j) acc += s[j] * load(p.dtype, v, at(p.v, b, kvh, j, d));
    o_row[d] = acc;
  }
}

void reference_forward(const Problem& p, const void* q, const void* k, const void* v, double* o,
                       double* lse) {
  const int64_t D = p.head_dim;
  for (int64_t b = 0; b < p.batch; ++b)
    for (int64_t h = 0; h < p.heads; ++h)
      for (int64_t i = 0; i < p.seq_q; ++i) {
        int64_t row = (b * p.heads + h) * p.seq_q + i;
        reference_forward_row(p, q, k, v, b, h, i, o + row * D, lse + row);
      }
}

void reference_backward(const Problem& p, const void* q, const void* k, const void* v,
                        const void* d_o, double* dq, double* dk, double* dv) {
  const int64_t D = p.head_dim, g = p.group();
  std::fill(dq, dq + p.batch * p.heads * p.seq_q * D, 0.0);
  std::fill(dk, dk + p.batch * p.kv_heads * p.seq_kv * D, 0.0);
  std::fill(dv, dv + p.batch * p.kv_heads * p.seq_kv * D, 0.0);
  std::vector<double> s, o(D), dp;
  for (int64_t b = 0; b < p.batch; ++b)
    for (int64_t h = 0; h < p.heads; ++h)
      for (int64_t i = 0; i < p.seq_q; ++i) {
        const int64_t kvh = h / g, end = p.key_end(i);
        score_row(p, q, k, b, h, i, end, &s);
        softmax_row(&s);  // s now holds P_i
        auto dO = [&](int64_t d) { return load(p.dtype, d_o, at(p.o, b, h, i, d)); };
        auto V = [&](int64_t j, int64_t d) { return load(p.dtype, v, at(p.v, b, kvh, j, d)); };
        // O_i = P_i V, D_i = <dO_i, O_i>, dP_ij = <dO_i, V_j>.
        for (int64_t d = 0; d < D; ++d) {
          o[d] = 0;
          for (int64_t j = 0; j < end; ++j) o[d] += s[j] * V(j, d);
        }
        double Di = 0;
        for (int64_t d = 0; d < D; ++d) Di += dO(d) * o[d];
        double* dq_row = dq + ((b * p.heads + h) * p.seq_q + i) * D;
        for (int64_t j = 0; j < end; ++j) {
          double dpj = 0;
          for (int64_t d = 0; d < D; ++d) dpj += dO(d) * V(j, d);
          const double ds = s[j] * (dpj - Di) * double(p.scale);
          double* dk_row = dk + ((b * p.kv_heads + kvh) * p.seq_kv + j) * D;
          double* dv_row = dv + ((b * p.kv_heads + kvh) * p.seq_kv + j) * D;
          for (int64_t d = 0; d < D; ++d) {
            dq_row[d] += ds * load(p.dtype, k, at(p.k, b, kvh, j, d));
            dk_row[d] += ds * load(p.dtype, q, at(p.q, b, h, i, d));
            dv_row[d] += s[j] * dO(d);
          }
        }
      }
}

namespace {
// ds_ij * (1 / scale) = P_ij (dP_ij - D_i) with P from the given LSE; 0 for masked keys.
double ds_given_lse(const Problem& p, const Operands& in, int64_t b, int64_t h, int64_t i,
                    int64_t j, double* pij) {
  *pij = 0;
  if (j >= p.key_end(i)) return 0;
  const float lse = in.lse[(b * p.heads + h) * p.seq_q + i];
  if (std::isinf(lse)) return 0;
  const int64_t kvh = h / p.group();
  double s = 0, dp = 0, D = 0;
  for (int64_t d = 0; d < p.head_dim; ++d) {
    const double dO = load(p.dtype, in.d_o, at(p.o, b, h, i, d));
    s += load(p.dtype, in.q, at(p.q, b, h, i, d)) * load(p.dtype, in.k, at(p.k, b, kvh, j, d));
    dp += dO * load(p.dtype, in.v, at(p.v, b, kvh, j, d));
    D += dO * double(in.o[at(p.o, b, h, i, d)]);
  }
  *pij = std::exp(double(p.scale) * s - double(lse));
  return *pij * (dp - D);
}
}  // namespace

void reference_backward_dq_row(const Problem& p, const Operands& in, int64_t b, int64_t h,
                               int64_t i, double* dq_row) {
  const int64_t kvh = h / p.group();
  std::fill(dq_row, dq_row + p.head_dim, 0.0);
  for (int64_t j = 0; j < p.key_end(i); ++j) {
    double pij;
    const double ds = ds_given_lse(p, in, b, h, i, j, &pij) * double(p.scale);
    for (int64_t d = 0; d < p.head_dim; ++d)
      dq_row[d] += ds * load(p.dtype, in.k, at(p.k, b, kvh, j, d));
  }
}

void reference_backward_dkv_row(const Problem& p, const Operands& in, int64_t b, int64_t kvh,
                                int64_t j, double* dk_row, double* dv_row) {
  std::fill(dk_row, dk_row + p.head_dim, 0.0);
  std::fill(dv_row, dv_row + p.head_dim, 0.0);
  for (int64_t h = kvh * p.group(); h < (kvh + 1) * p.group(); ++h)
    for (int64_t i = 0; i < p.seq_q; ++i) {
      double pij;
      const double ds = ds_given_lse(p, in, b, h, i, j, &pij) * double(p.scale);
      if (pij == 0) continue;
      for (int64_t d = 0; d < p.head_dim; ++d) {
        dk_row[d] += ds * load(p.dtype, in.q, at(p.q, b, h, i, d));
        dv_row[d] += pij * load(p.dtype, in.d_o, at(p.o, b, h, i, d));
      }
    }
}

}  // namespace perfcal::attention
