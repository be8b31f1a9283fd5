// perfcal's fused attention variants (the kernels are in flash_impl.h and the ISA folders):
//
//   attention/cpu/flash/fwd/f32    attention/cpu/flash/fwd/bf16
//   attention/cpu/flash/bwd/f32    attention/cpu/flash/bwd/bf16
//
// One variant per (pass, dtype); each picks its ISA tier at plan time (AVX-512, then AVX2,
// then portable; PERFCAL_ISA=avx2|portable lowers it). Config: FlashConfig {br, bc, threads,
// compute}.
// Run one through the bench: bench_attention --benchmark_filter=attention/cpu/flash/fwd/f32
#include <omp.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "attention/attention.h"
#include "attention/flash_impl.h"
#include "attention/flash_kernels.h"
#include "core/aligned_buffer.h"
#include "core/cpu_info.h"
#include "gemm/ukernel.h"

namespace perfcal::attention {

void to_json(Json& j, const FlashConfig& c) {
  j = Json{{"br", c.br}, {"bc", c.bc}, {"threads", c.threads}, {"compute", c.compute}};
}
void from_json(const Json& j, FlashConfig& c) {
  FlashConfig d;
  c.br = j.value("br", d.br);
  c.bc = j.value("bc", d.bc);
  c.threads = j.value("threads", d.threads);
  c.compute = j.value("compute", d.compute);
}

namespace detail {

FlashScratch flash_scratch(const Problem& p, int br, int bc, int threads) {
  return flash_scratch_impl(p, br, bc, threads);
}

namespace {
const RowOps& row_ops() {
  switch (best_isa()) {
    case Isa::avx512:
      return row_ops_avx512();
    case Isa::avx2:
      return row_ops_avx2();
    default:
      return row_ops_portable();
  }
}
}  // namespace

void softmax_rows(float* S, int64_t rows, int64_t ld, int64_t width, const int64_t* n_valid,
                  float scale, float* lse, int threads) {
  const RowOps& ops = row_ops();
  const float s2 = scale * kLog2e;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t r = 0; r < rows; ++r) {
    float* row = S + r * ld;
    const int64_t n = n_valid ? n_valid[r] : width;
    std::fill(row + n, row + width, 0.0f);
    if (n == 0) {
      lse[r] = -std::numeric_limits<float>::infinity();
      continue;
    }
    const float mx = ops.max_scaled(row, n, s2);
    const float sum = ops.exp2_row(row, n, s2, mx);
    ops.scale(row, n, 1.0f / sum);
    lse[r] = (mx + std::log2(sum)) * kLn2;
  }
}

void probs_from_lse_rows(float* S, int64_t rows, int64_t ld, int64_t width, const int64_t* n_valid,
                         float scale, const float* lse, int threads) {
  const RowOps& ops = row_ops();
  const float s2 = scale * kLog2e;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t r = 0; r < rows; ++r) {
    float* row = S + r * ld;
    const int64_t n = n_valid ? n_valid[r] : width;
    std::fill(row + n, row + width, 0.0f);
    if (n > 0) ops.exp2_row(row, n, s2, lse[r] * kLog2e);
  }
}

void ds_rows(const float* P, float* dP, int64_t rows, int64_t ld, int64_t width, const float* Drow,
             float scale, int threads) {
  const RowOps& ops = row_ops();
#pragma omp parallel num_threads(threads)
  {
    std::vector<float> d(width);
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      std::fill(d.begin(), d.end(), Drow[r]);
      ops.ds_row(P + r * ld, dP + r * ld, d.data(), width, scale);
    }
  }
}

}  // namespace detail

namespace {

class FlashVariant final : public Variant {
 public:
  FlashVariant(Pass pass, Dtype dtype) : pass_(pass) {
    info_.name = std::string("attention/cpu/flash/") + to_string(pass) + "/" + to_string(dtype);
    info_.backend = "cpu";
    info_.dtype = dtype;
    info_.baseline = false;
    info_.description =
        std::string("fused FlashAttention-2 style ") +
        (pass == Pass::fwd ? "forward (online softmax)" : "backward (P recomputed from LSE)") +
        ", AVX-512/AVX2/portable, OpenMP";
  }
  const VariantInfo& info() const override { return info_; }

  Json default_config(const Problem& p) const override {
    FlashConfig c;
    // 64 x 64 tiles: S (16 KiB) plus a 64-row K or V tile of head_dim 128 (32 KiB) sit in a
    // 48 KiB L1 alongside the micro-kernel's stream.
    c.br = 64;
    c.bc = 64;
    // Forward: 192 keys per tile where the tiles fit L2 (a third of the online-softmax
    // rescales and tile switches). Zen 5, exhaustive over br 64/96 x bc 64/192, 1 and 2
    // threads: f32 1.00-1.06x (seq 512-4096, head_dim 64/128, causal, GQA), bf16 1.06-1.09x;
    // 128 keys 0.97-1.01x (K^T rows 512 B apart share L1 sets). Backward: every tile within 2% of
    // 64 x 64, which stays.
    const std::size_t l2 = cpu_info().cache_bytes(2, std::size_t{1} << 20);
    if (pass_ == Pass::fwd && tile_bytes(c.br, 192, p.head_dim) <= l2) c.bc = 192;
    c.threads = std::max(1, cpu_info().cores);
    // bf16: widen where this core's vdpbf16ps delivers fewer FLOP/s than its fp32 FMA (the
    // same measurement the GEMM's default uses; about half on this KVM Sapphire Rapids).
    if (p.dtype == Dtype::bf16 && best_isa() == Isa::avx512 && cpu_info().features.avx512_bf16) {
      static const double ratio = gemm::ukr::avx512_dpbf16_over_fma();
      if (ratio < 0.9) c.compute = "widen";
    }
    return c;
  }

  SearchSpace search_space(const Problem& p) const override {
    SearchSpace s = {{"br", {16, 32, 64, 96, 128, 192, 256}},
                     {"bc", {16, 32, 64, 96, 128, 192, 256}},
                     {"threads", {1, std::max(1, cpu_info().cores)}}};
    if (p.dtype == Dtype::bf16) s.push_back({"compute", {"native", "widen"}});
    return s;
  }

  Status can_implement(const Json& config, const Problem& p) const override {
    PERFCAL_RETURN_IF_ERROR(validate(p));
    if (p.pass != pass_) return Status::Unsupported(name() + " runs the other pass");
    if (p.dtype != info_.dtype)
      return Status::Unsupported(name() + " needs dtype " + to_string(info_.dtype));
    FlashConfig c;
    PERFCAL_RETURN_IF_ERROR(parse_config(config, &c));
    // "widen" is a bf16 choice: fp32 inputs are fp32 already.
    if (c.compute != "native" && (c.compute != "widen" || p.dtype != Dtype::bf16))
      return Status::Invalid("compute must be \"native\" (or \"widen\" for bf16)");
    // Threads: OpenMP team size; more than 1024 is certainly a typo.
    if (c.threads < 1 || c.threads > 1024) return Status::Invalid("threads must be in [1, 1024]");
    // Tiles are multiples of 16: the transposed K / Q tiles are 16-lane vectors wide, and
    // bf16 k-pairs need even tiles; 512 bounds the per-thread scratch.
    for (auto [n, v] : {std::pair{"br", c.br}, {"bc", c.bc}})
      if (v < 16 || v > 512 || v % 16 != 0)
        return Status::Invalid(std::string(n) + " must be a multiple of 16 in [16, 512]");
    // The tiles one thread reuses must fit its L2: forward re-reads the K and V tiles once
    // per 6-row register block of the Br query rows, backward re-reads the K/V tile and its
    // dK/dV accumulators once per query tile. Spilling them to L3 would make the kernel
    // bandwidth-bound.
    const std::size_t tiles = tile_bytes(c.br, c.bc, p.head_dim);
    const std::size_t l2 = cpu_info().cache_bytes(2, std::size_t{1} << 20);
    if (tiles > l2)
      return Status::Unsupported("tiles (" + std::to_string(tiles) + " bytes) do not fit the " +
                                 std::to_string(l2) + "-byte L2; lower br/bc");
    const int64_t Dp = detail::round_up(p.head_dim, 16);
    // The workspace must be allocatable: refuse beyond 2^46 bytes instead of overflowing.
    const double ws = 4.0 * double(Dp + 2) * 2.0 *
                          double(std::max(p.seq_q, p.seq_kv) + std::max(c.br, c.bc)) * 4 +
                      4.0 * c.threads * double(p.seq_q + c.br) * Dp;
    if (ws > std::ldexp(1.0, 46)) return Status::OutOfMemory("workspace would exceed 64 TiB");
    return Status::Ok();
  }

  Status make_plan(const Problem& p, const Json& config,
                   std::unique_ptr<Plan>* out) const override {
    PERFCAL_RETURN_IF_ERROR(can_implement(config, p));
    FlashConfig c;
    PERFCAL_RETURN_IF_ERROR(parse_config(config, &c));
    auto plan = std::make_unique<FlashPlan>();
    plan->p = p;
    plan->c = c;
    plan->scratch = detail::flash_scratch(p, c.br, c.bc, c.threads);
    if (!plan->buf.reset(std::size_t(plan->scratch.total_floats())))
      return Status::OutOfMemory("cannot allocate " +
                                 std::to_string(plan->scratch.total_floats() * 4) +
                                 " bytes of attention workspace");
    const Isa isa = best_isa();
    plan->fn = pass_ == Pass::fwd ? (isa == Isa::avx512 ? &detail::flash_forward_avx512
                                     : isa == Isa::avx2 ? &detail::flash_forward_avx2
                                                        : &detail::flash_forward_portable)
                                  : (isa == Isa::avx512 ? &detail::flash_backward_avx512
                                     : isa == Isa::avx2 ? &detail::flash_backward_avx2
                                                        : &detail::flash_backward_portable);
    *out = std::move(plan);
    return Status::Ok();
  }

 private:
  // Bytes of the tiles one thread reuses (can_implement: they must fit its L2).
  std::size_t tile_bytes(int64_t br, int64_t bc, int64_t head_dim) const {
    const int64_t Dp = detail::round_up(head_dim, 16);
    const int64_t floats = pass_ == Pass::fwd ? 2 * br * Dp + 2 * bc * Dp + 2 * br * bc
                                              : 5 * bc * Dp + 4 * bc * br + 4 * br * Dp;
    return std::size_t(floats) * 4;
  }

  struct FlashPlan final : Plan {
    Problem p;
    FlashConfig c;
    detail::FlashScratch scratch;
    AlignedBuffer<float> buf;
    Status (*fn)(const detail::FlashArgs&) = nullptr;

    Status run(const Operands& ops) override {
      if (!ops.q || !ops.k || !ops.v || !ops.o || !ops.lse)
        return Status::Invalid("q, k, v, o and lse must be non-null");
      if (p.pass == Pass::bwd && (!ops.d_o || !ops.dq || !ops.dk || !ops.dv))
        return Status::Invalid("backward needs d_o, dq, dk and dv");
      detail::FlashArgs a;
      a.p = &p;
      a.ops = &ops;
      a.br = c.br;
      a.bc = c.bc;
      a.threads = c.threads;
      a.widen = c.compute == "widen";
      a.shared = buf.data();
      a.per_thread = buf.data() + scratch.shared_floats;
      a.per_thread_floats = scratch.per_thread_floats;
      return fn(a);
    }
    std::size_t workspace_bytes() const override { return buf.size() * sizeof(float); }
  };

  Pass pass_;
  VariantInfo info_;
};

const Registrar kFwdF32{std::make_unique<FlashVariant>(Pass::fwd, Dtype::f32)};
const Registrar kFwdBf16{std::make_unique<FlashVariant>(Pass::fwd, Dtype::bf16)};
const Registrar kBwdF32{std::make_unique<FlashVariant>(Pass::bwd, Dtype::f32)};
const Registrar kBwdBf16{std::make_unique<FlashVariant>(Pass::bwd, Dtype::bf16)};

}  // namespace
}  // namespace perfcal::attention
