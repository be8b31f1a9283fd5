// Attention family contract. Every attention variant, perfcal's fused kernel or the BLAS
// composition, implements exactly this operation (scaled dot-product attention, one softmax
// per query row):
//
//   forward (Pass::fwd), for every batch b, head h, query row i:
//     g   = heads / kv_heads                      (grouped-query attention: head h reads
//     kvh = h / g                                  key/value head kvh)
//     s_ij = scale * <Q[b,h,i,:], K[b,kvh,j,:]>    for the keys j row i may see
//     O[b,h,i,:]   = sum_j softmax_j(s_i) V[b,kvh,j,:]
//     LSE[b,h,i]   = log sum_j exp(s_ij)           (natural log, fp32)
//
//   backward (Pass::bwd), from dO, O and LSE of the forward:
//     P_ij = exp(s_ij - LSE_i),  D_i = <dO_i, O_i>,  dS_ij = P_ij (<dO_i, V_j> - D_i)
//     dQ_i = scale sum_j dS_ij K_j,  dK_j = scale sum_{i, heads of group} dS_ij Q_i,
//     dV_j = sum_{i, heads of group} P_ij dO_i
//
// Tensors (element strides per dimension, so BHSD and BSHD both work without copies):
//   Q, O, dO, dQ   [batch, heads,    seq_q,  head_dim]   strides p.q (Q, dQ), p.o (O, dO)
//   K, dK          [batch, kv_heads, seq_kv, head_dim]   strides p.k
//   V, dV          [batch, kv_heads, seq_kv, head_dim]   strides p.v
//   LSE            [batch, heads, seq_q], always dense (stride 1 along seq_q), fp32
// Q, K, V and dO hold `dtype` elements (f32, or bf16 as uint16 bit patterns). O, LSE, dQ, dK
// and dV are always fp32, as C is in the GEMM contract: the caller rounds if it wants bf16.
//
// Masks. Non-causal: every row sees every key. Causal is bottom-right aligned (the
// FlashAttention-2 convention): row i sees key j iff j <= i + (seq_kv - seq_q). With
// seq_q > seq_kv the first seq_q - seq_kv rows see no key at all; such rows (and every row
// when seq_kv == 0) are defined as O = 0, LSE = -inf, and contribute nothing to any gradient
// (their dQ row is 0). No NaN is produced for them.
//
// Layout drawn for BHSD (p = Problem::dense(..., Layout::bhsd)), one (b, h) slice:
//
//   Q[b,h]  seq_q x head_dim, row-major       K[b,kvh]^T  head_dim x seq_kv
//   q00 q01 .. q0D                            (the fused kernel packs Bc-key tiles of K
//   q10 q11 .. q1D                             transposed so a zmm holds 16 keys)
//
// Edge tiles (seq not a multiple of Br/Bc, head_dim not a multiple of the vector width) are
// the variant's job. Outputs must not alias inputs.
#pragma once
#include <cstdint>

#include "core/registry.h"

namespace perfcal::attention {

enum class Pass : uint8_t { fwd, bwd };
inline const char* to_string(Pass p) { return p == Pass::fwd ? "fwd" : "bwd"; }

// Element strides of a 4-D tensor [batch, head, seq, dim].
struct Strides {
  int64_t b = 0, h = 0, s = 0, d = 1;
};

enum class Layout : uint8_t { bhsd, bshd };

struct Problem {
  Pass pass = Pass::fwd;
  Dtype dtype = Dtype::f32;  // Q, K, V, dO; everything else is fp32
  int64_t batch = 1, heads = 1, kv_heads = 1;
  int64_t seq_q = 0, seq_kv = 0, head_dim = 0;
  bool causal = false;
  float scale = 0.0f;  // softmax scale; dense() sets the usual 1/sqrt(head_dim)
  Strides q, k, v, o;  // o also describes dO; q describes dQ; k dK; v dV

  // Tightly packed problem in `layout`, scale = 1/sqrt(head_dim).
  static Problem dense(Pass pass, Dtype dtype, int64_t batch, int64_t heads, int64_t kv_heads,
                       int64_t seq_q, int64_t seq_kv, int64_t head_dim, bool causal,
                       Layout layout = Layout::bhsd);
  int64_t group() const { return heads / kv_heads; }
  // Last key row i may see (exclusive bound), clamped to [0, seq_kv].
  int64_t key_end(int64_t i) const {
    if (!causal) return seq_kv;
    int64_t e = i + (seq_kv - seq_q) + 1;
    return e < 0 ? 0 : (e > seq_kv ? seq_kv : e);
  }
};

// Every pointer a pass reads or writes. Forward reads q, k, v and writes o, lse. Backward
// reads q, k, v, o, lse, d_o and writes dq, dk, dv (all three fully overwritten).
struct Operands {
  const void* q = nullptr;    // dtype, strides p.q
  const void* k = nullptr;    // dtype, strides p.k
  const void* v = nullptr;    // dtype, strides p.v
  float* o = nullptr;         // fp32, strides p.o (forward output, backward input)
  float* lse = nullptr;       // fp32 [batch, heads, seq_q] dense
  const void* d_o = nullptr;  // dtype, strides p.o
  float* dq = nullptr;        // fp32, strides p.q
  float* dk = nullptr;        // fp32, strides p.k
  float* dv = nullptr;        // fp32, strides p.v
};

using Variant = perfcal::Variant<Problem, Operands>;
using Registry = perfcal::Registry<Variant>;
using Registrar = perfcal::Registrar<Variant>;

// Sizes, GQA divisibility, strides and 64-bit element counts; the message names the
// offending argument. Variants call it first in can_implement and make_plan.
Status validate(const Problem& p);

// Roofline inputs. Forward: 4 * b * h * sq * skv * d (two GEMMs), halved when causal;
// backward: 2.5x forward (five GEMMs, the usual FlashAttention accounting).
double flops(const Problem& p);
// Read inputs once, write outputs once.
double min_bytes(const Problem& p);

// Elements spanned by a tensor (max index + 1), 0 when empty.
int64_t q_elements(const Problem& p);
int64_t kv_elements(const Problem& p, const Strides& s);
int64_t o_elements(const Problem& p);
int64_t lse_elements(const Problem& p);

// Reads element `idx` of a dtype tensor as double.
double load(Dtype dtype, const void* x, int64_t idx);

// The float64 reference: naive softmax(scale Q K^T) V with the mask, two passes per row
// (max, then exp-sum), the most obvious code in the folder. Outputs are dense BHSD
// doubles: o [b][h][sq][d], lse [b][h][sq] (-inf for rows that see no key).
void reference_forward(const Problem& p, const void* q, const void* k, const void* v, double* o,
                       double* lse);
// One query row (for sampled verification of problems too big to check in full).
void reference_forward_row(const Problem& p, const void* q, const void* k, const void* v, int64_t b,
                           int64_t h, int64_t i, double* o_row, double* lse);
// Analytic gradients, recomputing P from Q and K in float64 (it does not trust the kernel's
// O or LSE). Outputs dense: dq [b][h][sq][d], dk and dv [b][kvh][skv][d].
void reference_backward(const Problem& p, const void* q, const void* k, const void* v,
                        const void* d_o, double* dq, double* dk, double* dv);

// Sampled backward reference for problems too big for the full one. It takes the forward's
// O and LSE as given (fp32, as the backward contract does): P_ij = exp(s_ij - LSE_i),
// D_i = <dO_i, O_i>. dq_row: dQ of query row (b, h, i). dk_row / dv_row: dK and dV of key
// row (b, kvh, j), summed over the heads of the group. Cost O(seq * head_dim) per dQ row,
// O(group * seq_q * head_dim) per dK/dV row.
void reference_backward_dq_row(const Problem& p, const Operands& in, int64_t b, int64_t h,
                               int64_t i, double* dq_row);
void reference_backward_dkv_row(const Problem& p, const Operands& in, int64_t b, int64_t kvh,
                                int64_t j, double* dk_row, double* dv_row);

// The fused variant's config (perfcal/cpu/flash/*): query tile rows, key tile rows, threads,
// and for bf16 how products are computed: "native" multiplies bf16 pairs (vdpbf16ps, P
// rounded to bf16 before P V), "widen" widens the bf16 inputs to fp32 while packing and runs
// the fp32 kernels (exact products, P kept in fp32). Which is faster depends on the core.
struct FlashConfig {
  int br = 64, bc = 64, threads = 1;
  std::string compute = "native";
};
void to_json(Json& j, const FlashConfig& c);
void from_json(const Json& j, FlashConfig& c);

// The composition's config: threads handed to BLAS and to the softmax loop.
struct ComposedConfig {
  int threads = 1;
};
void to_json(Json& j, const ComposedConfig& c);
void from_json(const Json& j, ComposedConfig& c);

}  // namespace perfcal::attention

template <>
perfcal::attention::Registry& perfcal::attention::Registry::instance();
