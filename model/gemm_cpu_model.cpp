#include "model/gemm_cpu_model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace perfcal::model {
namespace {

double ceil_div(double a, double b) { return std::ceil(a / b); }

// Penalty for a working set `need` in a cache of `have` bytes: none while it fits, then
// falling towards `floor` as the overflow grows (the data comes from the next level).
double fit(double need, double have, double floor) {
  if (need <= have) return 1.0;
  const double over = std::min(1.0, (need - have) / have);
  return 1.0 - (1.0 - floor) * over;
}

}  // namespace

GemmPrediction predict_gemm_cpu(const Json& c, const GemmShape& s, const CpuMachine& mc) {
  GemmPrediction p;
  const double inf = std::numeric_limits<double>::infinity();
  auto geti = [&](const char* key, int fallback) {
    return c.contains(key) && c[key].is_number() ? c[key].get<int>() : fallback;
  };
  const double mr = geti("mr", 16), nr = geti("nr", 8);
  const double mcb = geti("mc", 256), kc = geti("kc", 256), nc = geti("nc", 4096);
  const int threads = std::max(1, geti("threads", 1));
  const std::string loop = c.value("parallel_loop", std::string("ic"));
  const int prefetch = geti("prefetch", 0);
  const std::string stream = c.value("stream", std::string("none"));
  if (mr <= 0 || nr <= 0 || mcb <= 0 || kc <= 0 || nc <= 0 || s.m <= 0 || s.n <= 0 || s.k <= 0) {
    p.seconds = inf;
    return p;
  }
  const double m = double(s.m), n = double(s.n), k = double(s.k), es = s.elem_bytes;
  if (c.value("algo", std::string("blis")) == "dot") {
    // Dot products: the large operand read once from memory; rows x up to 4 columns of
    // accumulators per 16-lane step, (rows + columns) loads per rows x columns FMAs.
    const double rows = std::min(m, n), big = std::max(m, n);
    const double cols = rows <= 4 ? 4 : rows <= 8 ? 2 : 1;
    p.eff_loads = std::min(1.0, rows * cols / (rows + cols));
    p.eff_register = std::min(1.0, rows * cols / (mc.fma_latency * mc.fma_units));
    p.compute_s =
        2 * m * n * k /
        (mc.peak_gflops_core * 1e9 * threads * std::max(p.eff_loads * p.eff_register, 1e-3));
    p.memory_s = big * k * es / (mc.mem_gbps * 1e9 * std::min(1.0, double(threads) / mc.cores));
    p.overhead_s = threads > 1 ? 5e-6 : 0;
    p.seconds = std::max(p.compute_s, p.memory_s) + p.overhead_s;
    return p;
  }
  // Effective blocks never exceed the problem (blis.cpp blocks_for).
  const double mb = std::min(mcb, ceil_div(m, mr) * mr), kb = std::min(kc, k),
               nb = std::min(nc, ceil_div(n, nr) * nr);
  // One vector holds simd_lanes_f32 rows either way (native bf16: rows x a (k, k+1) pair,
  // for twice the FLOPs per instruction at bf16_rate of the FMA's FLOP rate).
  const double lanes = mc.simd_lanes_f32;
  const bool dpbf16 = es == 2 && c.value("compute", std::string("native")) == "native";
  const double peak = mc.peak_gflops_core * (dpbf16 ? mc.bf16_rate : 1.0);

  // Register blocking: accumulators (vectors) must keep latency x units FMAs in flight.
  const double acc = std::ceil(mr / lanes) * nr;
  const double in_flight = mc.fma_latency * mc.fma_units;
  p.eff_register = std::min(1.0, acc / in_flight);
  // The tile, the A vectors of one k step and a broadcast register must fit the file;
  // beyond it the compiler spills accumulators to the stack every k step.
  if (acc + std::ceil(mr / lanes) + 1 > mc.vector_registers) p.eff_register *= 0.5;
  // Load/FMA balance: two load ports feed two FMA ports.
  const double loads = std::ceil(mr / lanes) + nr;
  p.eff_loads = std::min(1.0, acc / loads);
  // One C tile load + store per micro-kernel call (2 * acc vector ops, ~1 per cycle) against
  // kb * acc / units FMA cycles.
  const double fma_cycles = kb * acc / mc.fma_units;
  p.eff_call = fma_cycles / (fma_cycles + 2 * acc + 20);

  // Cache fit. L1: the B micro-panel (kb x nr) stays while A micro-panels stream through
  // it from L2; it may take about half of L1 (Low et al. 2016: the other ways hold the A
  // lines in flight and the C tile), beyond which its own lines get evicted.
  // "direct" B has no panel: its kb x nr column segments are reused from L1 across the row
  // tiles when they fit, and otherwise stream again from L2 in order (a milder loss).
  const bool direct = stream == "direct";
  p.eff_cache = ceil_div(mb, mr) <= 1 ? 1.0 : fit(kb * nr * es, mc.l1 / 2, direct ? 0.9 : 0.8);
  // L2: the packed A block, using half of L2 so B panels and C lines can pass through.
  p.eff_cache *= fit(mb * kb * es, mc.l2 / 2, 0.7);
  // L3 share: the packed B panel (kb x nb).
  p.eff_cache *= fit(kb * nb * es, mc.l3_share, 0.85);
  // Software prefetch: a small distance helps A streaming a little, a large one evicts.
  if (prefetch > 0) p.eff_cache *= prefetch <= 16 ? 1.01 : 0.98;

  // Edge tiles: full tiles are computed.
  const double padded = ceil_div(m, mr) * mr * ceil_div(n, nr) * nr;
  p.eff_edge = m * n / padded;

  // Load balance of the split loop: the busiest thread's share of micro-tiles.
  const double tiles_m = ceil_div(m, mr), tiles_n = ceil_div(n, nr);
  double busiest = 1.0 / threads;
  if (threads > 1) {
    if (loop == "ic" || loop == "ic_chunks")
      busiest = ceil_div(tiles_m, threads) / tiles_m;
    else if (loop == "jc")
      busiest = ceil_div(tiles_n, threads) / tiles_n;
    else
      busiest = ceil_div(ceil_div(nb, nr), threads) / ceil_div(nb, nr);  // jr in an nc block
  }
  p.eff_balance = (1.0 / threads) / busiest;

  const double flops = 2 * m * n * k;
  const double eff =
      p.eff_register * p.eff_loads * p.eff_call * p.eff_cache * p.eff_edge * p.eff_balance;
  p.compute_s = flops / (peak * 1e9 * threads * std::max(eff, 1e-3));

  // Memory traffic, in two kinds. Packing is a phase of its own (the driver packs, then
  // computes), so its time adds to the FMAs' instead of hiding under them: B read from
  // memory and written into panels once; A read and written once per nc block (and per
  // thread chunk for "jc"). On skinny problems this is most of the time (M = 1: packing B is
  // 2 k n bytes of traffic for 2 k n FLOPs).
  const double bw = mc.mem_gbps * 1e9 * std::min(1.0, double(threads) / mc.cores);
  const double n_blocks = ceil_div(n, nb), k_blocks = ceil_div(k, kb);
  const double a_copies = loop == "jc" ? std::max(n_blocks, double(threads)) : n_blocks;
  // "ic_chunks" mirrors it: B packed once per thread's row chunk.
  const double b_copies = loop == "ic_chunks" ? double(threads) : 1.0;
  double pack_bytes = 2 * k * n * es * b_copies + 2 * m * k * es * a_copies;
  // Streamed while the FMAs run (prefetched, so it only costs where it exceeds them): C read
  // and written once per kc block, and the packed B panel read back once per ic block,
  // which is cheap while the panel just written still sits in L2 (3/4 of it: A lines pass
  // through) and comes from L3 or memory otherwise.
  double stream_bytes = 2 * 4 * m * n * k_blocks;
  // "stream": B's source is prefetched under the previous panel's FMAs, so its read moves
  // from the packing phase to the streamed traffic (the panel writes stay).
  if (stream == "b") pack_bytes -= k * n * es, stream_bytes += k * n * es;
  double stream_s = 0;
  if (direct) {
    // "direct": B is never packed; the kernels read it in place once per ic block, as nr
    // column runs of kb elements. The prefetchers ramp up again at every run: runs of
    // 1 KiB (kc 256) moved B at 0.66x the rate of 16 KiB runs (m = 16, one thread).
    pack_bytes -= 2 * k * n * es;
    const double run = kb * es;
    stream_s = k * n * es * ceil_div(m, mb) / (bw * run / (run + 512));
  } else if (kb * nb * es > 0.75 * mc.l2) {
    stream_bytes += k * n * es * ceil_div(m, mb);
  }
  p.memory_s = pack_bytes / bw;
  stream_s += stream_bytes / bw;

  // Overheads: a parallel region (~5 us), two barriers per shared panel (~1 us each).
  if (threads > 1) {
    double barriers = 0;
    if (loop != "jc" && loop != "ic_chunks") barriers += 2 * n_blocks * k_blocks;
    if (loop == "jr") barriers += 2 * n_blocks * k_blocks * ceil_div(m, mb);
    p.overhead_s = 5e-6 + barriers * 1e-6;
  }
  p.seconds = p.memory_s + std::max(p.compute_s, stream_s) + p.overhead_s;
  return p;
}

namespace {

class GemmCpuModel : public CostModel {
 public:
  GemmCpuModel(GemmShape s, CpuMachine m) : s_(s), m_(m) {}
  std::string name() const override { return "gemm-cpu-blocking"; }
  double predict_seconds(const Json& config) const override {
    return predict_gemm_cpu(config, s_, m_).seconds;
  }

 private:
  GemmShape s_;
  CpuMachine m_;
};

}  // namespace

std::unique_ptr<CostModel> gemm_cpu_model(const GemmShape& shape, const CpuMachine& machine) {
  return std::make_unique<GemmCpuModel>(shape, machine);
}

}  // namespace perfcal::model
