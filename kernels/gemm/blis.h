// The BLIS-style GEMM driver shared by perfcal's own CPU variants (gemm/cpu/{avx512,avx2,
// portable}/...): five loops around a register-blocked micro-kernel (ukernel.h), packing of
// A and B into 64-byte-aligned panels, OpenMP threading over the loop that suits the shape.
//
//   for jc in n step NC                  (loop 5; "jc": threads take column chunks dynamically)
//     for pc in k step KC                (loop 4; pack B[pc:+KC, jc:+NC] -> Bp, L3)
//       for ic in m step MC              (loop 3; "ic": threads own row ranges; pack A -> Ap, L2;
//                                         "ic_chunks": threads take row chunks dynamically,
//                                         each running loops 5-1 on its rows, own B panels)
//         for jr in NC step NR           (loop 2; "jr": threads split the B micro-panels)
//           for ir in MC step MR         (loop 1; B micro-panel stays in L1)
//             micro-kernel: C[ir:+MR, jr:+NR] (+)= alpha * Ap_ir * Bp_jr
//
// The config (CpuGemmConfig, public in <perfcal/gemm.h>) is the tuner's handle; its single
// validity check is can_implement() below.
#pragma once
#include <perfcal/gemm.h>

#include <cstddef>
#include <string>

#include "core/aligned_buffer.h"
#include "core/cpu_info.h"
#include "gemm/gemm.h"
#include "gemm/ukernel.h"

namespace perfcal {
void to_json(Json& j, const CpuGemmConfig& c);
void from_json(const Json& j, CpuGemmConfig& c);
}  // namespace perfcal

namespace perfcal::gemm {

// One family of micro-kernels: which ISA and dtype, the shapes compiled, the default shape.
struct KernelSet {
  Isa isa;
  Dtype dtype;
  const ukr::Desc* table;  // terminated by fn == nullptr
  int default_mr, default_nr;
  ukr::PackFn pack;  // ISA packing; null = the driver's portable packing
  // compute = "widen" (bf16 only): fp32 kernels over panels widened while packing.
  const ukr::Desc* widen_table;
  ukr::PackFn widen_pack;
  ukr::DotFn dot;  // algo = "dot" (fp32 only); null where none is compiled
  // stream = "direct" (fp32 only): kernels that read B in place; null where none exist.
  const ukr::Desc* direct_table = nullptr;
};

// The kernel sets compiled into this library; null when (isa, dtype) has none.
const KernelSet* kernel_set(Isa isa, Dtype dtype);
// The best kernel set this CPU runs for `dtype` (honours PERFCAL_ISA), or null.
const KernelSet* best_kernel_set(Dtype dtype);
// Whether the CPU can execute `ks` (ISA tier, plus AVX512_BF16 for bf16 at avx512).
Status kernel_set_available(const KernelSet& ks);
// The micro-kernel `c` runs (its shape, compute and stream), or null.
const ukr::Desc* find_kernel(const KernelSet& ks, const CpuGemmConfig& c);

// Analytical default blocking (Low et al. 2016, "Analytical modeling is enough for
// high-performance BLIS") from the cache sizes device discovery found. mr/nr 0 = the kernel
// set's default shape; otherwise the blocks are derived for the given shape. compute: bf16's
// compute when a config asks for one ("widen" then rules out B read in place).
CpuGemmConfig default_config(const Problem& p, const KernelSet& ks, int threads, int mr = 0,
                             int nr = 0, const std::string& compute = "");

// The one validity check: every constraint, each with its reason.
Status can_implement(const CpuGemmConfig& c, const Problem& p, const KernelSet& ks);

// Tuner candidates per field; their product is filtered by can_implement.
SearchSpace search_space(const Problem& p, const KernelSet& ks);

// Packed-panel buffers; reused across calls with the same or smaller blocking.
class Workspace {
 public:
  // Bytes needed for `c` on `p` (all threads' panels).
  static std::size_t bytes_for(const CpuGemmConfig& c, const Problem& p);
  Status reserve(std::size_t bytes);
  std::byte* data() { return buf_.data(); }
  std::size_t size() const { return buf_.size(); }

 private:
  AlignedBuffer<std::byte> buf_;
};

// Runs C = alpha op(A) op(B) + beta C with config `c` (already checked by can_implement).
Status run(const Problem& p, const Operands& ops, const CpuGemmConfig& c, const KernelSet& ks,
           Workspace* ws);

// The registry entry for one kernel set (one per file: cpu_avx512_f32.cpp, ...).
class BlisVariant : public Variant {
 public:
  BlisVariant(VariantInfo info, Isa isa, Dtype dtype)
      : info_(std::move(info)), isa_(isa), dtype_(dtype) {}
  const VariantInfo& info() const override { return info_; }
  Status available() const override;
  Json default_config(const Problem& p) const override;
  SearchSpace search_space(const Problem& p) const override;
  Status can_implement(const Json& config, const Problem& p) const override;
  Status make_plan(const Problem& p, const Json& config, std::unique_ptr<Plan>* out) const override;

 private:
  // Missing fields of a partial config ({"threads": 2}) come from the default.
  Status parse(const Json& config, const Problem& p, CpuGemmConfig* out) const;
  VariantInfo info_;
  Isa isa_;
  Dtype dtype_;
};

}  // namespace perfcal::gemm
