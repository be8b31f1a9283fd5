/* perfcal attention C API: fused (FlashAttention-2 style) scaled dot-product attention on
 * the CPU, forward and backward, fp32 or bf16 inputs. Link perfcal::kernels.
 *
 * Tensors (element strides per dimension, so BHSD and BSHD layouts both work in place):
 *   Q, O, dO, dQ  [batch, heads,    seq_q,  head_dim]  strides q_strides (Q, dQ), o_strides (O, dO)
 *   K, dK         [batch, kv_heads, seq_kv, head_dim]  strides k_strides
 *   V, dV         [batch, kv_heads, seq_kv, head_dim]  strides v_strides
 *   LSE           [batch, heads, seq_q] dense fp32 (natural log of each row's softmax sum)
 * Strides are in elements, ordered {batch, head, seq, dim}. Q, K, V and dO hold `dtype`
 * elements (PERFCAL_ATTN_BF16: uint16_t bf16 bit patterns); O, LSE, dQ, dK, dV are fp32.
 * heads must be a multiple of kv_heads (grouped-query attention: head h reads kv head
 * h / (heads / kv_heads)). causal != 0 masks bottom-right aligned: row i sees key j iff
 * j <= i + seq_kv - seq_q; rows that see no key give O = 0, LSE = -inf and zero gradients.
 * scale == 0 means 1/sqrt(head_dim). threads == 0 uses every core. Outputs must not alias
 * inputs.
 *
 * Every function returns PERFCAL_ATTN_OK (0) or an error code, never aborts on bad input;
 * perfcal_attention_last_error() gives the calling thread's last message.
 *
 * Example (BHSD fp32, non-causal):
 *   perfcal_attention_desc d = {0};
 *   d.batch = 1; d.heads = d.kv_heads = 8; d.seq_q = d.seq_kv = 1024; d.head_dim = 128;
 *   int64_t s[4] = {8 * 1024 * 128, 1024 * 128, 128, 1};   (same for q, k, v, o)
 *   ... copy s into d.q_strides etc.; d.dtype = PERFCAL_ATTN_F32;
 *   int rc = perfcal_attention_forward(&d, q, k, v, o, lse);
 */
#ifndef PERFCAL_ATTENTION_H_
#define PERFCAL_ATTENTION_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  PERFCAL_ATTN_OK = 0,
  PERFCAL_ATTN_INVALID_ARGUMENT = 1, /* malformed descriptor or null pointer */
  PERFCAL_ATTN_UNSUPPORTED = 2,      /* valid, but no kernel can run it here */
  PERFCAL_ATTN_OUT_OF_MEMORY = 3,    /* workspace allocation failed */
  PERFCAL_ATTN_INTERNAL = 4
};

enum { PERFCAL_ATTN_F32 = 0, PERFCAL_ATTN_BF16 = 1 };

typedef struct perfcal_attention_desc {
  int64_t batch, heads, kv_heads, seq_q, seq_kv, head_dim;
  int64_t q_strides[4], k_strides[4], v_strides[4], o_strides[4]; /* {batch, head, seq, dim} */
  int dtype;   /* PERFCAL_ATTN_F32 or PERFCAL_ATTN_BF16 */
  int causal;  /* 0 or 1 */
  float scale; /* 0: 1/sqrt(head_dim) */
  int threads; /* 0: all cores */
} perfcal_attention_desc;

/* O = softmax(scale Q K^T + mask) V and LSE. */
int perfcal_attention_forward(const perfcal_attention_desc* desc, const void* q, const void* k,
                              const void* v, float* o, float* lse);

/* dQ, dK, dV from dO, given the forward's O and LSE (recomputes the probabilities). */
int perfcal_attention_backward(const perfcal_attention_desc* desc, const void* q, const void* k,
                               const void* v, const float* o, const float* lse, const void* d_o,
                               float* dq, float* dk, float* dv);

/* Static name of a status code; the calling thread's last error message ("" after success). */
const char* perfcal_attention_status_string(int status);
const char* perfcal_attention_last_error(void);

#ifdef __cplusplus
} /* extern "C" */

#include <string>

namespace perfcal {

// The config perfcal_attention_forward (backward = 0) or perfcal_attention_backward
// (backward = 1) would run for `desc`, as JSON text ({"br", "bc", "threads", "compute"}):
// the tuned config for the nearest (seq_q, seq_kv, head_dim) bucket when a profile is loaded
// and it is valid here (perfcal/tuning.h), else the built-in default. "" when the descriptor
// is invalid (the reason in perfcal_attention_last_error()).
std::string attention_config_for(const perfcal_attention_desc* desc, int backward);

}  // namespace perfcal
#endif

#endif /* PERFCAL_ATTENTION_H_ */
