#include "model/attention_cpu_model.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <queue>
#include <string>
#include <vector>

namespace perfcal::model {
namespace {

double ceil_div(double a, double b) { return std::ceil(a / b); }

// As in gemm_cpu_model.cpp: 1 while `need` fits `have`, falling towards `floor` as the
// overflow grows to the cache size again.
double fit(double need, double have, double floor) {
  if (need <= have) return 1.0;
  const double over = std::min(1.0, (need - have) / have);
  return 1.0 - (1.0 - floor) * over;
}

// Cycles the busiest of `workers` threads spends when they take `items` (cycles each) in
// order, each item to the first free thread (OpenMP schedule(dynamic, 1)).
double dynamic_schedule(const std::vector<double>& items, int workers) {
  if (workers <= 1 || items.size() <= 1) {
    double sum = 0;
    for (double c : items) sum += c;
    return workers <= 1 ? sum : (items.empty() ? 0 : items[0]);
  }
  std::priority_queue<double, std::vector<double>, std::greater<double>> free_at;
  for (int t = 0; t < workers; ++t) free_at.push(0);
  double end = 0;
  for (double c : items) {
    const double t = free_at.top() + c;
    free_at.pop();
    free_at.push(t);
    end = std::max(end, t);
  }
  return end;
}

struct Core {
  double lanes, units, in_flight, l1, l2;
  int es;  // bytes of a packed compute element (bf16 native 2, else 4)
};

// Cycles of one tile GEMM C[rows x n] (+)= A[rows x kd] B[kd x n] in the family's
// micro-kernel: 6-row register blocks, up to 4 vectors of n per call, A broadcast per k.
double gemm_cycles(const Core& c, double rows, double n, double kd, bool accumulate,
                   double* eff_out = nullptr) {
  if (rows <= 0 || n <= 0 || kd <= 0) return 0;
  const double blocks = ceil_div(rows, 6), vec = ceil_div(n, c.lanes);
  const double nvb = std::min(vec, 4.0);
  // 6 x nvb accumulators must keep latency x units FMAs in flight.
  const double eff_reg = std::min(1.0, 6 * nvb / c.in_flight);
  // Per k step: 6 broadcasts + nvb loads (two load ports) feed 6 nvb FMAs (two FMA ports).
  const double eff_loads = std::min(1.0, 6 * nvb / (6 + nvb));
  // The B panel (K^T or V tile, kd x n) stays in L1 while the 6-row A blocks stream by.
  const double eff_l1 = fit((kd * n + 2 * 6 * kd) * c.es, c.l1, 0.7);
  const double eff = eff_reg * eff_loads * eff_l1;
  if (eff_out) *eff_out = eff;
  const double fma = blocks * 6 * vec * kd / c.units;
  // C tile: stored once (S), or loaded and stored (accumulators); ~20 cycles per call.
  const double c_tile = blocks * 6 * vec * (accumulate ? 1.0 : 0.5);
  return fma / eff + c_tile + 20 * blocks * ceil_div(vec, 4);
}

// exp2 row (max, exp, sum): ~8 cycles per vector of elements.
constexpr double kExpCyclesPerVector = 8;
// Scalar packing (transposes, bf16 pairs): ~1 cycle per element.
constexpr double kPackCyclesPerElement = 1;

}  // namespace

AttentionPrediction predict_attention_cpu(const Json& config, const AttentionShape& s,
                                          const CpuMachine& mc) {
  AttentionPrediction p;
  const double inf = std::numeric_limits<double>::infinity();
  auto geti = [&](const char* key, int fallback) {
    return config.contains(key) && config[key].is_number_integer() ? config[key].get<int>()
                                                                   : fallback;
  };
  const int br = geti("br", 64), bc = geti("bc", 64), threads = geti("threads", 1);
  const std::string compute = config.value("compute", std::string("native"));
  if (br <= 0 || bc <= 0 || threads <= 0 || s.head_dim <= 0 || s.heads <= 0 || s.kv_heads <= 0 ||
      s.heads % s.kv_heads != 0 || s.seq_q < 0 || s.seq_kv < 0 || s.batch < 0) {
    p.seconds = inf;
    return p;
  }
  const bool bf16 = s.elem_bytes == 2, native = bf16 && compute == "native";
  Core c;
  c.lanes = mc.simd_lanes_f32;
  c.units = mc.fma_units;
  c.in_flight = mc.fma_latency * mc.fma_units;
  c.l1 = mc.l1;
  c.l2 = mc.l2;
  // bf16 native multiplies pairs (vdpbf16ps): half the bytes per panel; its FLOP rate is
  // taken as fp32's (the ratio varies by core, the tuner measures both choices).
  c.es = native ? 2 : 4;
  // peak = units x lanes x 2 FLOP x clock.
  const double ghz = mc.peak_gflops_core / (2.0 * c.units * c.lanes);
  const double cycle_s = 1e-9 / std::max(ghz, 1e-3);
  const int cores = std::max(1, mc.cores);
  const int workers = std::min(threads, cores);
  // More threads than cores time-share the cores.
  const double share = double(threads) / double(workers);

  const int64_t sq = s.seq_q, skv = s.seq_kv;
  const double D = double(s.head_dim), Dp = ceil_div(D, 16) * 16;
  const int64_t off = skv - sq;
  auto key_end = [&](int64_t i) -> int64_t {
    if (!s.causal) return skv;
    return std::clamp<int64_t>(i + off + 1, 0, skv);
  };
  // K and V (forward) or Q and dO (backward) of a region, as packed: re-read per item from
  // L2 when they fit in half of it, else from L3 (~16 B/cycle per core) or memory.
  const double l3_total = mc.l3_share * cores;
  auto stream_cycles = [&](double region_bytes, double bytes) {
    if (region_bytes <= mc.l2 / 2) return 0.0;
    const double bpc =
        region_bytes <= l3_total ? 16.0 : mc.mem_gbps * 1e9 * cycle_s / double(workers);
    return bytes / std::max(bpc, 0.1);
  };

  double busiest = 0, ideal = 0, compute_cycles = 0, memory_cycles = 0, overhead_cycles = 0;
  double useful = 0, computed = 0, eff_sum = 0, eff_n = 0;
  double regions = 0;
  std::vector<double> items;
  if (!s.backward) {
    // One region per (batch, kv head); items (head of the group, query tile).
    const int64_t g = s.heads / s.kv_heads, nqb = (sq + br - 1) / br;
    regions = double(s.batch) * double(s.kv_heads);
    const double region_bytes = 2.0 * double(skv) * Dp * c.es;
    auto tile = [&](double rows, double w) {
      double e = 1;
      const double cyc = gemm_cycles(c, rows, w, D, false, &e) +  // S = Q K^T
                         gemm_cycles(c, rows, Dp, w, true) +      // O += P V
                         rows * ceil_div(w, c.lanes) * kExpCyclesPerVector + rows * Dp / c.lanes +
                         10 * rows +                                  // O rescale
                         (native ? rows * ceil_div(w, c.lanes) : 0);  // P to bf16
      eff_sum += e, eff_n += 1;
      return cyc;
    };
    std::vector<double> per_qb(std::size_t(nqb), 0);
    for (int64_t qb = 0; qb < nqb; ++qb) {
      const int64_t i0 = qb * br, rows = std::min<int64_t>(br, sq - i0);
      const int64_t kend = key_end(i0 + rows - 1);
      const int64_t full = kend / bc, rem = kend % bc;
      double cyc = rows * D * kPackCyclesPerElement / 4 + rows * Dp / c.lanes;  // Q pack, O out
      if (full > 0) cyc += double(full) * tile(double(rows), bc);
      if (rem > 0) cyc += tile(double(rows), double(rem));
      const double mem = stream_cycles(region_bytes, 2.0 * double(kend) * Dp * c.es);
      compute_cycles += cyc * double(g);
      memory_cycles += mem * double(g);
      per_qb[std::size_t(qb)] = std::max(cyc, mem);
      // Useful work: the keys each row really sees; computed: whole tiles of rows.
      for (int64_t i = i0; i < i0 + rows; ++i) useful += double(key_end(i));
      computed += double(rows) * double(kend);
    }
    items.reserve(std::size_t(g * nqb));
    for (int64_t w = 0; w < g * nqb; ++w)
      items.push_back(per_qb[std::size_t(s.causal ? nqb - 1 - w % nqb : w % nqb)]);
    // K^T and V packed by all threads (static schedule), then a barrier.
    overhead_cycles += 2.0 * double(skv) * D * kPackCyclesPerElement / workers;
  } else {
    // One region per (batch, head); items are key tiles over the query tiles that see them.
    const int64_t nkb = (skv + bc - 1) / bc, nqb = (sq + br - 1) / br;
    regions = double(s.batch) * double(s.heads);
    const double region_bytes = 4.0 * double(sq) * Dp * c.es;
    auto pair = [&](double w, double rows) {
      double e = 1;
      const double cyc = gemm_cycles(c, w, rows, D, false, &e) +  // S^T = K Q^T
                         gemm_cycles(c, w, Dp, rows, true) +      // dV += P^T dO
                         gemm_cycles(c, w, rows, D, false) +      // dP^T = V dO^T
                         gemm_cycles(c, w, Dp, rows, true) +      // dK += dS^T Q
                         gemm_cycles(c, rows, Dp, w, true) +      // dQ_thread += dS K
                         w * ceil_div(rows, c.lanes) * (kExpCyclesPerVector + 3) +
                         (native ? 2 * w * ceil_div(rows, c.lanes) : 0);
      eff_sum += e, eff_n += 1;
      return cyc;
    };
    items.reserve(std::size_t(nkb));
    for (int64_t kb = 0; kb < nkb; ++kb) {
      const int64_t j0 = kb * bc, w = std::min<int64_t>(bc, skv - j0);
      const int64_t qfirst = s.causal ? std::max<int64_t>(0, j0 - off) : 0;
      double cyc = 3 * w * D * kPackCyclesPerElement / 4 + 2 * w * Dp / c.lanes;  // K, V pack
      // Query tiles qfirst / br .. nqb - 1: all of br rows but perhaps the last.
      const int64_t q0 = qfirst / br, last_rows = sq - (nqb - 1) * br;
      const int64_t n_full = std::max<int64_t>(0, nqb - q0 - (last_rows < br ? 1 : 0));
      if (n_full > 0) cyc += double(n_full) * pair(double(w), double(br));
      if (q0 < nqb && last_rows < br) cyc += pair(double(w), double(last_rows));
      const double rows_read = q0 < nqb ? double(sq - q0 * br) : 0.0;
      computed += rows_read * double(w);
      const double mem = stream_cycles(region_bytes, 4.0 * rows_read * Dp * c.es);
      compute_cycles += cyc;
      memory_cycles += mem;
      items.push_back(std::max(cyc, mem));
    }
    for (int64_t i = 0; i < sq; ++i) useful += double(key_end(i));
    // Q, dO packed (two forms each) and D_i by all threads; the per-thread dQ buffers
    // (threads x seq_q x Dp) zeroed and summed into the output.
    overhead_cycles += 4.0 * double(sq) * D * kPackCyclesPerElement / workers +
                       2.0 * double(threads) * double(sq) * Dp / c.lanes / workers;
  }
  // The tiles one thread reuses (the sizes can_implement bounds by L2) in half of L2, so the
  // K/V (Q/dO) stream and the next tile pass through without evicting them.
  const double tile_bytes = 4.0 * (s.backward ? 5.0 * bc * Dp + 4.0 * bc * br + 4.0 * br * Dp
                                              : 2.0 * br * Dp + 2.0 * bc * Dp + 2.0 * br * bc);
  p.eff_cache = fit(tile_bytes, mc.l2 / 2, 0.8);
  for (double& x : items) x /= p.eff_cache;
  compute_cycles /= p.eff_cache;
  busiest = dynamic_schedule(items, workers);
  for (double x : items) ideal += x;
  ideal /= workers;
  p.eff_balance = busiest > 0 ? ideal / busiest : 1;
  p.eff_ukernel = eff_n > 0 ? eff_sum / eff_n : 1;
  p.waste = computed > 0 ? std::max(0.0, 1.0 - useful / computed) : 0;

  // Fork/join: ~5 us per parallel region with a team, plus the barrier after packing.
  const double fork_s = threads > 1 ? 6e-6 : 0.5e-6;
  p.compute_s = regions * compute_cycles / workers * share * cycle_s;
  p.memory_s = regions * memory_cycles / workers * share * cycle_s;
  p.overhead_s = regions * (overhead_cycles * share * cycle_s + fork_s);
  p.seconds = regions * busiest * share * cycle_s + p.overhead_s;
  return p;
}

namespace {

class AttentionCpuModel : public CostModel {
 public:
  AttentionCpuModel(AttentionShape s, CpuMachine m) : s_(s), m_(m) {}
  std::string name() const override { return "attention-cpu-tiles"; }
  double predict_seconds(const Json& config) const override {
    return predict_attention_cpu(config, s_, m_).seconds;
  }

 private:
  AttentionShape s_;
  CpuMachine m_;
};

}  // namespace

std::unique_ptr<CostModel> attention_cpu_model(const AttentionShape& shape,
                                               const CpuMachine& machine) {
  return std::make_unique<AttentionCpuModel>(shape, machine);
}

}  // namespace perfcal::model
