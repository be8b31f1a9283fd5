// The fused (FlashAttention-2 style) forward and backward drivers, written once and compiled
// per ISA: kernels/attention/avx512/flash_avx512.cpp, avx2/flash_avx2.cpp and
// flash_portable.cpp each define an `Ops` struct (micro-GEMM, exp2 rows, bf16 rounding) and
// instantiate run_forward<Ops> / run_backward<Ops>. Only this header's includers see it.
//
// Compute layouts. Every matrix product is C[M x N] (+)= A[M x K] * B[K x N] through
// Ops::mm_f32 / Ops::mm_bf16, with
//   A read by broadcast at A[m * a_sm + k * a_sk]   (any strides: rows, or a transposed tile)
//   B packed k-major, N contiguous:  f32  B[k * ldb + n]
//                                    bf16 B[(k/2) * 2 ldb + 2 n + (k & 1)]  (k-pairs, the
//                                         operand order of vdpbf16ps)
// so a zmm of B holds 16 columns and one broadcast of A feeds NV of them.
//
// Forward, per (batch, kv head): K^T and V are packed once into shared buffers
//   KT [nkb][D2][Bc]  (per key block, keys contiguous)   Vn [skvP][Dp]  (head_dim contiguous)
// then threads take (head of the group, Br-row query tile) items:
//   S[Br x Bc]  = Qtile * KT[kb]                 (scale * log2 e folded into exp2)
//   online softmax on S rows (running max m, sum l; rescale O rows by exp2(m_old - m_new))
//   O[Br x D]  += P[Br x Bc] * Vn[j0:j0+Bc, :]   (bf16: P rounded to bf16, l summed from the
//                                                 rounded values so O stays normalised)
// KT is blocked so a micro-GEMM's B operand is one contiguous D2 x Bc panel: with the keys
// of the whole sequence on one row (stride skvP) its rows were 8 KiB apart at seq 2048 and
// all fell into the same L1 sets, so the panel never stayed in L1 (likewise QT and dOT of
// the backward, blocked per Br query tile).
// Nothing seq_q x seq_kv is ever stored: per-thread scratch is O(Br*Bc + (Br+Bc)*D).
//
// Backward, per (batch, head): Q and dO are packed once (both k-major forms), D_i = <dO_i,
// O_i> and lse*log2 e are precomputed; threads take Bc-key tiles (so dK/dV of a tile have one
// owner and need no atomics) and loop over the query tiles that see them:
//   S^T = Ktile * Q^T,  P^T = exp2(S^T - lse),  dV += P^T dO,  dP^T = Vtile * dO^T,
//   dS^T = P^T o (dP^T - D) * scale,  dK += dS^T Q,  dQ_thread += dS Ktile
// dQ goes to a per-thread [seq_q x Dp] buffer, summed into the output after the key loop.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "attention/flash_kernels.h"

namespace perfcal::attention::detail {

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

template <class CT>
constexpr bool kIsBf16 = std::is_same_v<CT, uint16_t>;

// Reads element idx of a dtype tensor as float.
inline float ld(const void* x, bool bf16, int64_t idx) {
  return bf16 ? bf16_to_float(static_cast<const uint16_t*>(x)[idx])
              : static_cast<const float*>(x)[idx];
}
// Compute-type value of element idx: bf16 bits kept as they are (no rounding: the input is
// already bf16), f32 (or bf16 widened for an f32 compute path) as float.
template <class CT>
inline CT ld_ct(const void* x, bool bf16, int64_t idx) {
  if constexpr (kIsBf16<CT>)
    return static_cast<const uint16_t*>(x)[idx];
  else
    return ld(x, bf16, idx);
}

// A-operand rows: dst[r * ldd + c] for r < rows, c < cols; columns up to round_up(cols, 2)
// zero so bf16 pairs never read garbage.
template <class CT>
void pack_a(const void* src, bool bf16, int64_t base, int64_t s_r, int64_t s_c, int64_t rows,
            int64_t cols, CT* dst, int64_t ldd) {
  for (int64_t r = 0; r < rows; ++r) {
    CT* d = dst + r * ldd;
    const int64_t o = base + r * s_r;
    for (int64_t c = 0; c < cols; ++c) d[c] = ld_ct<CT>(src, bf16, o + c * s_c);
    if (cols & 1) d[cols] = CT(0);
  }
}

// B operand with K = source columns, N = source rows (a transposed tile): f32 dst[c * ldn + r];
// bf16 pairs dst[(c/2) * 2 ldn + 2 r + (c & 1)], an odd last column padded with zero.
template <class CT>
void pack_bt(const void* src, bool bf16, int64_t base, int64_t s_r, int64_t s_c, int64_t rows,
             int64_t cols, CT* dst, int64_t ldn) {
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t o = base + r * s_r;
    if constexpr (kIsBf16<CT>) {
      for (int64_t c = 0; c < cols; ++c)
        dst[(c >> 1) * 2 * ldn + 2 * r + (c & 1)] = ld_ct<CT>(src, bf16, o + c * s_c);
      if (cols & 1) dst[(cols >> 1) * 2 * ldn + 2 * r + 1] = 0;
    } else {
      for (int64_t c = 0; c < cols; ++c) dst[c * ldn + r] = ld_ct<CT>(src, bf16, o + c * s_c);
    }
  }
}

// B operand with K = source rows, N = source columns (natural layout): f32 dst[r * ldd + c];
// bf16 pairs dst[(r/2) * 2 ldd + 2 c + (r & 1)], an odd last row padded with zero.
template <class CT>
void pack_bn(const void* src, bool bf16, int64_t base, int64_t s_r, int64_t s_c, int64_t rows,
             int64_t cols, CT* dst, int64_t ldd) {
  if constexpr (kIsBf16<CT>) {
    const int64_t rows2 = rows + (rows & 1);
    for (int64_t r = 0; r < rows2; ++r) {
      CT* d = dst + (r >> 1) * 2 * ldd + (r & 1);
      const int64_t o = base + r * s_r;
      for (int64_t c = 0; c < cols; ++c)
        d[2 * c] = r < rows ? ld_ct<CT>(src, bf16, o + c * s_c) : 0;
    }
  } else {
    pack_a<CT>(src, bf16, base, s_r, s_c, rows, cols, dst, ldd);
  }
}

// C (+)= A * B with A in rows form (pairs along k contiguous for bf16).
template <class Ops, class CT>
inline void mm_rows(int64_t M, int64_t N, int64_t K, const CT* A, int64_t lda, const CT* B,
                    int64_t ldb, float* C, int64_t ldc, bool acc) {
  if (M <= 0 || N <= 0) return;
  if constexpr (kIsBf16<CT>)
    Ops::mm_bf16(M, N, (K + 1) / 2, A, lda, 2, B, ldb, C, ldc, acc);
  else
    Ops::mm_f32(M, N, K, A, lda, 1, B, ldb, C, ldc, acc);
}

// Float offsets of 64-byte aligned regions carved out of one scratch block.
struct Carver {
  float* base;
  int64_t used = 0;
  template <class T>
  T* take(int64_t floats) {
    T* p = reinterpret_cast<T*>(base + used);
    used += round_up(std::max<int64_t>(floats, 1), 16);
    return p;
  }
};

inline FlashScratch flash_scratch_impl(const Problem& p, int br, int bc, int threads) {
  const int64_t D = p.head_dim, Dp = round_up(D, 16), D2 = round_up(D, 2);
  const int64_t sqP = round_up(std::max<int64_t>(p.seq_q, 1), br);
  const int64_t skvP = round_up(std::max<int64_t>(p.seq_kv, 1), bc);
  auto r16 = [](int64_t x) { return round_up(std::max<int64_t>(x, 1), 16); };
  FlashScratch s;
  if (p.pass == Pass::fwd) {
    s.shared_floats = r16(D2 * skvP) + r16(skvP * Dp);
    s.per_thread_floats = r16(br * Dp) + r16(br * bc) + r16(br * bc) + r16(br * Dp) + 2 * r16(br);
  } else {
    s.shared_floats = 2 * r16(D2 * sqP) + 2 * r16(sqP * Dp) + 2 * r16(sqP);
    s.per_thread_floats =
        3 * r16(bc * Dp) + 5 * r16(bc * br) + r16((bc + 1) * br) + 2 * r16(bc * Dp) + r16(sqP * Dp);
  }
  s.threads = threads;
  return s;
}

template <class Ops, class CT>
Status forward(const FlashArgs& a) {
  const Problem& p = *a.p;
  const Operands& op = *a.ops;
  const bool bf16 = p.dtype == Dtype::bf16;
  const int64_t D = p.head_dim, Dp = round_up(D, 16), D2 = round_up(D, 2);
  const int64_t Br = a.br, Bc = a.bc, sq = p.seq_q, skv = p.seq_kv, g = p.group();
  const int64_t skvP = round_up(std::max<int64_t>(skv, 1), Bc);
  const int64_t nqb = (sq + Br - 1) / Br, nkb = (skv + Bc - 1) / Bc;
  const float scale2 = p.scale * kLog2e;
  const float ninf = -std::numeric_limits<float>::infinity();
  Carver shared{a.shared};
  CT* KT = shared.take<CT>(D2 * skvP);
  CT* Vn = shared.take<CT>(skvP * Dp);

  for (int64_t b = 0; b < p.batch; ++b)
    for (int64_t kvh = 0; kvh < p.kv_heads; ++kvh) {
      const int64_t kbase = b * p.k.b + kvh * p.k.h, vbase = b * p.v.b + kvh * p.v.h;
#pragma omp parallel num_threads(a.threads)
      {
#pragma omp for schedule(static)
        for (int64_t kb = 0; kb < nkb; ++kb) {
          const int64_t j0 = kb * Bc, nc = std::min(Bc, skv - j0);
          pack_bt<CT>(op.k, bf16, kbase + j0 * p.k.s, p.k.s, p.k.d, nc, D, KT + kb * D2 * Bc, Bc);
          pack_bn<CT>(op.v, bf16, vbase + j0 * p.v.s, p.v.s, p.v.d, nc, D, Vn + j0 * Dp, Dp);
        }
        Carver mine{a.per_thread + omp_get_thread_num() * a.per_thread_floats};
        CT* Qp = mine.take<CT>(Br * Dp);
        float* S = mine.take<float>(Br * Bc);
        CT* Pb = mine.take<CT>(Br * Bc);
        float* Oacc = mine.take<float>(Br * Dp);
        float* m = mine.take<float>(Br);
        float* l = mine.take<float>(Br);
        // Later query tiles of a causal problem carry more keys: hand them out first.
#pragma omp for schedule(dynamic, 1)
        for (int64_t w = 0; w < g * nqb; ++w) {
          const int64_t hh = w / nqb, qb = p.causal ? nqb - 1 - w % nqb : w % nqb;
          const int64_t h = kvh * g + hh, i0 = qb * Br, mr = std::min(Br, sq - i0);
          const int64_t qbase = b * p.q.b + h * p.q.h + i0 * p.q.s;
          pack_a<CT>(op.q, bf16, qbase, p.q.s, p.q.d, mr, D, Qp, Dp);
          std::fill(m, m + mr, ninf);
          std::fill(l, l + mr, 0.0f);
          std::fill(Oacc, Oacc + mr * Dp, 0.0f);
          const int64_t kend = p.key_end(i0 + mr - 1);
          for (int64_t j0 = 0; j0 < kend; j0 += Bc) {
            const int64_t nc = std::min(Bc, kend - j0), ncP = nc + (nc & 1);
            mm_rows<Ops, CT>(mr, nc, D, Qp, Dp, KT + (j0 / Bc) * D2 * Bc, Bc, S, Bc, false);
            for (int64_t r = 0; r < mr; ++r) {
              float* row = S + r * Bc;
              const int64_t nv = std::clamp<int64_t>(p.key_end(i0 + r) - j0, 0, nc);
              float sum = 0, m_new = m[r];
              if (nv > 0) {
                m_new = std::max(m[r], Ops::max_scaled(row, nv, scale2));
                if constexpr (kIsBf16<CT>)
                  sum = Ops::exp2_row_bf16(row, Pb + r * Bc, nv, scale2, m_new);
                else
                  sum = Ops::exp2_row(row, nv, scale2, m_new);
              }
              // Masked keys of this row (causal diagonal tile) and the bf16 pair pad are 0.
              if constexpr (kIsBf16<CT>)
                std::fill(Pb + r * Bc + nv, Pb + r * Bc + ncP, 0);
              else
                std::fill(row + nv, row + nc, 0.0f);
              if (nv == 0) continue;
              // m[r] == -inf (first keys of this row) gives alpha = 0: nothing to rescale.
              const float alpha = std::exp2(m[r] - m_new);
              if (alpha != 1.0f) Ops::scale(Oacc + r * Dp, D, alpha);
              l[r] = l[r] * alpha + sum;
              m[r] = m_new;
            }
            if constexpr (kIsBf16<CT>)
              mm_rows<Ops, CT>(mr, D, nc, Pb, Bc, Vn + j0 * Dp, Dp, Oacc, Dp, true);
            else
              mm_rows<Ops, CT>(mr, D, nc, S, Bc, Vn + j0 * Dp, Dp, Oacc, Dp, true);
          }
          for (int64_t r = 0; r < mr; ++r) {
            const int64_t i = i0 + r;
            const float inv = l[r] > 0 ? 1.0f / l[r] : 0.0f;
            float* o = op.o + b * p.o.b + h * p.o.h + i * p.o.s;
            for (int64_t d = 0; d < D; ++d) o[d * p.o.d] = Oacc[r * Dp + d] * inv;
            op.lse[(b * p.heads + h) * sq + i] = l[r] > 0 ? (m[r] + std::log2(l[r])) * kLn2 : ninf;
          }
        }
      }
    }
  return Status::Ok();
}

template <class Ops, class CT>
Status backward(const FlashArgs& a) {
  const Problem& p = *a.p;
  const Operands& op = *a.ops;
  const bool bf16 = p.dtype == Dtype::bf16;
  const int64_t D = p.head_dim, Dp = round_up(D, 16), D2 = round_up(D, 2);
  const int64_t Br = a.br, Bc = a.bc, sq = p.seq_q, skv = p.seq_kv, g = p.group();
  const int64_t sqP = round_up(std::max<int64_t>(sq, 1), Br);
  const int64_t nqb = (sq + Br - 1) / Br, nkb = (skv + Bc - 1) / Bc;
  const int64_t off = skv - sq;  // causal: row i sees key j iff j <= i + off
  const float scale2 = p.scale * kLog2e;
  const float inf = std::numeric_limits<float>::infinity();
  Carver shared{a.shared};
  CT* QT = shared.take<CT>(D2 * sqP);
  CT* dOT = shared.take<CT>(D2 * sqP);
  CT* Qn = shared.take<CT>(sqP * Dp);
  CT* dOn = shared.take<CT>(sqP * Dp);
  float* Dv = shared.take<float>(sqP);
  float* L2 = shared.take<float>(sqP);

  for (int64_t b = 0; b < p.batch; ++b)
    for (int64_t h = 0; h < p.heads; ++h) {
      const int64_t kvh = h / g;
      const bool first_of_group = h % g == 0;
      const int64_t qbase = b * p.q.b + h * p.q.h, obase = b * p.o.b + h * p.o.h;
      const int64_t kbase = b * p.k.b + kvh * p.k.h, vbase = b * p.v.b + kvh * p.v.h;
      const float* lse = op.lse + (b * p.heads + h) * sq;
#pragma omp parallel num_threads(a.threads)
      {
        const int nthreads = omp_get_num_threads();
        Carver mine{a.per_thread + omp_get_thread_num() * a.per_thread_floats};
        CT* Kr = mine.take<CT>(Bc * Dp);
        CT* Kn = mine.take<CT>(Bc * Dp);
        CT* Vr = mine.take<CT>(Bc * Dp);
        float* St = mine.take<float>(Bc * Br);
        float* dPt = mine.take<float>(Bc * Br);
        CT* Pt16 = mine.take<CT>(Bc * Br);
        CT* dSt16 = mine.take<CT>(Bc * Br);
        CT* dS16i = mine.take<CT>((Bc + 1) * Br);
        float* dKacc = mine.take<float>(Bc * Dp);
        float* dVacc = mine.take<float>(Bc * Dp);
        float* dQbuf = mine.take<float>(sqP * Dp);
        std::fill(dQbuf, dQbuf + sq * Dp, 0.0f);
#pragma omp for schedule(static)
        for (int64_t qb = 0; qb < nqb; ++qb) {
          const int64_t i0 = qb * Br, mr = std::min(Br, sq - i0);
          pack_bt<CT>(op.q, bf16, qbase + i0 * p.q.s, p.q.s, p.q.d, mr, D, QT + qb * D2 * Br, Br);
          pack_bt<CT>(op.d_o, bf16, obase + i0 * p.o.s, p.o.s, p.o.d, mr, D, dOT + qb * D2 * Br,
                      Br);
          pack_bn<CT>(op.q, bf16, qbase + i0 * p.q.s, p.q.s, p.q.d, mr, D, Qn + i0 * Dp, Dp);
          pack_bn<CT>(op.d_o, bf16, obase + i0 * p.o.s, p.o.s, p.o.d, mr, D, dOn + i0 * Dp, Dp);
          for (int64_t i = i0; i < i0 + mr; ++i) {
            float acc = 0;
            for (int64_t d = 0; d < D; ++d) {
              const int64_t idx = obase + i * p.o.s + d * p.o.d;
              acc += ld(op.d_o, bf16, idx) * op.o[idx];
            }
            Dv[i] = acc;
            // A row that saw no key has lse = -inf: +inf here makes every P of it exp2(-inf) = 0.
            L2[i] = std::isinf(lse[i]) && lse[i] < 0 ? inf : lse[i] * kLog2e;
          }
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t kb = 0; kb < nkb; ++kb) {
          const int64_t j0 = kb * Bc, nc = std::min(Bc, skv - j0);
          pack_a<CT>(op.k, bf16, kbase + j0 * p.k.s, p.k.s, p.k.d, nc, D, Kr, Dp);
          pack_bn<CT>(op.k, bf16, kbase + j0 * p.k.s, p.k.s, p.k.d, nc, D, Kn, Dp);
          pack_a<CT>(op.v, bf16, vbase + j0 * p.v.s, p.v.s, p.v.d, nc, D, Vr, Dp);
          std::fill(dKacc, dKacc + nc * Dp, 0.0f);
          std::fill(dVacc, dVacc + nc * Dp, 0.0f);
          // Causal: the first query that sees key j0 is j0 - off.
          const int64_t qfirst = p.causal ? std::max<int64_t>(0, j0 - off) : 0;
          for (int64_t qb = qfirst / Br; qb < nqb; ++qb) {
            const int64_t i0 = qb * Br, mr = std::min(Br, sq - i0), mrP = mr + (mr & 1);
            // S^T[nc x mr] = Ktile * Q^T, then P^T in place.
            mm_rows<Ops, CT>(nc, mr, D, Kr, Dp, QT + qb * D2 * Br, Br, St, Br, false);
            for (int64_t r = 0; r < nc; ++r) {
              float* row = St + r * Br;
              const int64_t c0 = p.causal ? std::clamp<int64_t>(j0 + r - off - i0, 0, mr) : 0;
              Ops::exp2_row_vec(row, mr, scale2, L2 + i0);
              std::fill(row, row + c0, 0.0f);
              std::fill(row + mr, row + mrP, 0.0f);
              if constexpr (kIsBf16<CT>) Ops::to_bf16(row, Pt16 + r * Br, mrP);
            }
            const CT* Pt =
                kIsBf16<CT> ? reinterpret_cast<const CT*>(Pt16) : reinterpret_cast<const CT*>(St);
            // dV[nc x D] += P^T dO
            mm_rows<Ops, CT>(nc, D, mr, Pt, Br, dOn + i0 * Dp, Dp, dVacc, Dp, true);
            // dP^T[nc x mr] = Vtile * dO^T, then dS^T = P^T o (dP^T - D) * scale in place.
            mm_rows<Ops, CT>(nc, mr, D, Vr, Dp, dOT + qb * D2 * Br, Br, dPt, Br, false);
            for (int64_t r = 0; r < nc; ++r) {
              float* row = dPt + r * Br;
              Ops::ds_row(St + r * Br, row, Dv + i0, mr, p.scale);
              std::fill(row + mr, row + mrP, 0.0f);
              if constexpr (kIsBf16<CT>) Ops::to_bf16(row, dSt16 + r * Br, mrP);
            }
            if constexpr (kIsBf16<CT>) {
              // dS with pairs of keys interleaved: the A operand of dQ = dS * Ktile.
              for (int64_t r = 0; r < nc; r += 2)
                Ops::interleave_bf16(dPt + r * Br, r + 1 < nc ? dPt + (r + 1) * Br : nullptr,
                                     dS16i + r * Br, mr);
            }
            const CT* dSt =
                kIsBf16<CT> ? reinterpret_cast<const CT*>(dSt16) : reinterpret_cast<const CT*>(dPt);
            // dK[nc x D] += dS^T Q
            mm_rows<Ops, CT>(nc, D, mr, dSt, Br, Qn + i0 * Dp, Dp, dKacc, Dp, true);
            // dQ[mr x D] += dS Ktile, A = dS read down the columns of dS^T.
            if constexpr (kIsBf16<CT>)
              Ops::mm_bf16(mr, D, (nc + 1) / 2, dS16i, 2, 2 * Br, Kn, Dp, dQbuf + i0 * Dp, Dp,
                           true);
            else
              Ops::mm_f32(mr, D, nc, dPt, 1, Br, Kn, Dp, dQbuf + i0 * Dp, Dp, true);
          }
          for (int64_t r = 0; r < nc; ++r) {
            float* dk = op.dk + kbase + (j0 + r) * p.k.s;
            float* dv = op.dv + vbase + (j0 + r) * p.v.s;
            const float* ks = dKacc + r * Dp;
            const float* vs = dVacc + r * Dp;
            if (first_of_group) {
              for (int64_t d = 0; d < D; ++d) dk[d * p.k.d] = ks[d], dv[d * p.v.d] = vs[d];
            } else {
              for (int64_t d = 0; d < D; ++d) dk[d * p.k.d] += ks[d], dv[d * p.v.d] += vs[d];
            }
          }
        }
        // Implicit barrier above: every thread's dQ buffer is final. Sum them row by row.
        const int64_t dq_off =
            (dQbuf - a.per_thread) - int64_t(omp_get_thread_num()) * a.per_thread_floats;
#pragma omp for schedule(static)
        for (int64_t i = 0; i < sq; ++i) {
          float* dq = op.dq + qbase + i * p.q.s;
          for (int64_t d = 0; d < D; ++d) {
            float acc = 0;
            for (int t = 0; t < nthreads; ++t)
              acc += a.per_thread[t * a.per_thread_floats + dq_off + i * Dp + d];
            dq[d * p.q.d] = acc;
          }
        }
      }
    }
  return Status::Ok();
}

// The scratch sizes above must cover what the drivers carve.
template <class Ops>
Status run_forward(const FlashArgs& a) {
  if (a.p->dtype == Dtype::bf16 && Ops::kBf16Dot && !a.widen) return forward<Ops, uint16_t>(a);
  return forward<Ops, float>(a);
}
template <class Ops>
Status run_backward(const FlashArgs& a) {
  if (a.p->dtype == Dtype::bf16 && Ops::kBf16Dot && !a.widen) return backward<Ops, uint16_t>(a);
  return backward<Ops, float>(a);
}

}  // namespace perfcal::attention::detail
