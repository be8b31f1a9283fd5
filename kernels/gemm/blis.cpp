// The BLIS-style CPU GEMM driver (loops, packing, threading, blocking defaults, config
// validity) shared by gemm/cpu/{avx512,avx2,portable}/{f32,bf16}. See blis.h for the loop
// nest and ukernel.h for the packed layouts.
#include "gemm/blis.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "core/dtype.h"

namespace perfcal {

void to_json(Json& j, const CpuGemmConfig& c) {
  j = Json{{"mr", c.mr},
           {"nr", c.nr},
           {"mc", c.mc},
           {"kc", c.kc},
           {"nc", c.nc},
           {"threads", c.threads},
           {"parallel_loop", c.parallel_loop},
           {"prefetch", c.prefetch},
           {"stream", c.stream},
           {"compute", c.compute},
           {"algo", c.algo},
           {"broadcast", c.broadcast}};
}

void from_json(const Json& j, CpuGemmConfig& c) {
  j.at("mr").get_to(c.mr);
  j.at("nr").get_to(c.nr);
  j.at("mc").get_to(c.mc);
  j.at("kc").get_to(c.kc);
  j.at("nc").get_to(c.nc);
  j.at("threads").get_to(c.threads);
  j.at("parallel_loop").get_to(c.parallel_loop);
  j.at("prefetch").get_to(c.prefetch);
  // Absent in configs tuned before the field existed: off, as they were measured.
  c.stream = j.value("stream", std::string("none"));
  j.at("compute").get_to(c.compute);
  c.algo = j.value("algo", std::string("blis"));  // absent before the field existed
  // Absent before the field existed, when every AVX-512 kernel used the embedded form.
  c.broadcast = j.value("broadcast", std::string("embedded"));
}

}  // namespace perfcal

namespace perfcal::gemm {
namespace {

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
int64_t ceil_div(int64_t x, int64_t m) { return (x + m - 1) / m; }
std::size_t round64(std::size_t b) { return (b + 63) / 64 * 64; }

bool widened(const CpuGemmConfig& c, Dtype d) { return d == Dtype::bf16 && c.compute == "widen"; }
// k elements packed together: bf16 panels hold (k, k+1) pairs for vdpbf16ps.
int k_pack(const CpuGemmConfig& c, Dtype d) { return d == Dtype::bf16 && !widened(c, d) ? 2 : 1; }
// Bytes of one packed element (widened bf16 panels are fp32).
int64_t packed_size(const CpuGemmConfig& c, Dtype d) { return widened(c, d) ? 4 : size_of(d); }

// Function-local so it is built on first use, after the ISA files' tables are initialised.
const std::vector<KernelSet>& kernel_sets() {
  static const std::vector<KernelSet> sets = {
      {Isa::avx512, Dtype::f32, ukr::kAvx512F32, 32, 12, ukr::kAvx512PackF32, nullptr, nullptr,
       ukr::kAvx512DotF32, ukr::kAvx512F32Direct},
      {Isa::avx512, Dtype::bf16, ukr::kAvx512Bf16, 32, 12, ukr::kAvx512PackBf16, ukr::kAvx512F32,
       ukr::kAvx512PackBf16Widen, ukr::kAvx512DotBf16, ukr::kAvx512Bf16Direct},
      {Isa::avx2, Dtype::f32, ukr::kAvx2F32, 16, 6, nullptr, nullptr, nullptr, nullptr},
      {Isa::portable, Dtype::f32, ukr::kPortableF32, 8, 8, nullptr, nullptr, nullptr, nullptr},
      {Isa::portable, Dtype::bf16, ukr::kPortableBf16, 8, 8, nullptr, nullptr, nullptr, nullptr},
  };
  return sets;
}

// Effective blocks for one problem: never larger than the (rounded-up) problem, so small
// problems do not allocate or zero-fill panels sized for 4096^3.
struct Blocks {
  int64_t mc, kc, nc;  // kc padded to k_pack
};
Blocks blocks_for(const CpuGemmConfig& c, const Problem& p) {
  const int kp = k_pack(c, p.dtype);
  Blocks b;
  // Equal blocks instead of full blocks plus a sliver (k = 256 with kc = 240 would run a
  // 16-deep block that pays a whole C read/write for 6% of the work); a block may grow by
  // 1/8 over the configured size rather than adding another.
  auto balance = [](int64_t total, int64_t block, int64_t unit) {
    total = std::max<int64_t>(total, 1);
    const int64_t blocks = ceil_div(total, block + block / 8);
    return round_up(ceil_div(total, blocks), unit);
  };
  b.mc = balance(p.m, c.mc, c.mr);
  b.kc = balance(p.k, c.kc, kp);
  b.nc = std::min<int64_t>(c.nc, round_up(std::max<int64_t>(p.n, 1), c.nr));
  return b;
}

// ---- packing ------------------------------------------------------------------------
// Position of op(X)(row r, k) inside a packed panel of `width` rows (A: width MR, rows = i;
// B: width NR, rows = j), k-major, bf16 as (k, k+1) pairs.
template <int KP>
inline int64_t packed_index(int64_t k, int64_t r, int width) {
  if constexpr (KP == 1) return k * width + r;
  return (k >> 1) * 2 * width + 2 * r + (k & 1);
}

// Packs rows [r0, r0 + rows) x k [k0, k0 + kb) of op(X) into one panel of `width` rows,
// zero-filling rows past `rows` and the padding k of an odd bf16 block. `x_rk_contig` says
// whether op(X)(r, k) and op(X)(r+1, k) are adjacent in memory (A not transposed, B
// transposed); the loop order follows memory so reads stream.
template <class T, int KP>
void pack_panel(const T* x, int64_t ld, bool r_contig, int64_t r0, int64_t rows, int64_t k0,
                int64_t kb, int width, T* out) {
  const int64_t kbp = round_up(kb, KP);
  if (rows < width || kbp != kb) std::memset(out, 0, sizeof(T) * kbp * width);
  if (r_contig) {
    // element (r, k) at x[r + k * ld]
    for (int64_t k = 0; k < kb; ++k) {
      const T* src = x + r0 + (k0 + k) * ld;
      if constexpr (KP == 1) {
        T* dst = out + k * width;
        for (int64_t r = 0; r < rows; ++r) dst[r] = src[r];
      } else {
        for (int64_t r = 0; r < rows; ++r) out[packed_index<KP>(k, r, width)] = src[r];
      }
    }
  } else {
    // element (r, k) at x[k + r * ld]
    for (int64_t r = 0; r < rows; ++r) {
      const T* src = x + k0 + (r0 + r) * ld;
      for (int64_t k = 0; k < kb; ++k) out[packed_index<KP>(k, r, width)] = src[k];
    }
  }
}

// C = beta * C for the cases with no product (k == 0, alpha == 0); beta == 0 writes zeros
// without reading (reference BLAS semantics).
void scale_c(const Problem& p, float* c) {
  for (int64_t j = 0; j < p.n; ++j) {
    float* col = c + j * p.ldc;
    if (p.beta == 0.0f)
      std::fill(col, col + p.m, 0.0f);
    else if (p.beta != 1.0f)
      for (int64_t i = 0; i < p.m; ++i) col[i] *= p.beta;
  }
}

// Splits [0, total) into `parts` contiguous ranges aligned to `unit`; range `idx`.
void split_range(int64_t total, int64_t unit, int parts, int idx, int64_t* lo, int64_t* hi) {
  const int64_t units = ceil_div(total, unit);
  const int64_t base = units / parts, extra = units % parts;
  const int64_t u0 = idx * base + std::min<int64_t>(idx, extra);
  const int64_t u1 = u0 + base + (idx < extra ? 1 : 0);
  *lo = std::min(total, u0 * unit);
  *hi = std::min(total, u1 * unit);
}

enum class Loop { ic, jr, jc, ic_chunks };
Loop parse_loop(const std::string& s) {
  return s == "jr"          ? Loop::jr
         : s == "jc"        ? Loop::jc
         : s == "ic_chunks" ? Loop::ic_chunks
                            : Loop::ic;
}
// Loops whose threads each pack their own B panels (no barriers): chunks of columns or rows
// handed out dynamically (run_typed).
bool private_panels(const std::string& loop) { return loop == "jc" || loop == "ic_chunks"; }
// Whether default_config splits rows in chunks rather than columns (see there).
bool rows_chunks(const Problem& p, int threads) {
  return threads > 1 && p.n < int64_t{threads} * 1024 && p.m > p.n;
}

// Prefetch rows x cols elements at src (rows ld apart) into L2, line by line.
template <class Tin>
void prefetch_rows(const Tin* src, int64_t ld, int64_t rows, int64_t cols) {
  const int64_t bytes = cols * static_cast<int64_t>(sizeof(Tin));
  for (int64_t r = 0; r < rows; ++r) {
    const char* row = reinterpret_cast<const char*>(src + r * ld);
    for (int64_t b = 0; b < bytes; b += 64) __builtin_prefetch(row + b, 0, 2);
    __builtin_prefetch(row + bytes - 1, 0, 2);  // the last line of an unaligned row
  }
}

// The source of a panel as lines for a kernel to prefetch while it runs ("stream"):
// `groups` runs of `run` elements, `ld` elements apart, spread over `steps` kernel k steps.
template <class Tin>
ukr::Prefetch source_lines(const Tin* src, int64_t ld, int64_t groups, int64_t run, int64_t steps) {
  ukr::Prefetch f;
  f.p = reinterpret_cast<const char*>(src);
  f.stride = ld * int64_t{sizeof(Tin)};
  f.groups = static_cast<int>(groups);
  f.lines = static_cast<int>((run * int64_t{sizeof(Tin)} + 63) / 64 + 1);  // + 1: unaligned runs
  f.per_step = static_cast<int>(ceil_div(groups * f.lines, std::max<int64_t>(1, steps)));
  return f;
}

// Tin: element of A and B in memory; T: element of the packed panels (differs only for
// widened bf16, which always has an ISA pack function).
template <class Tin, class T, int KP>
void run_typed(const Problem& p, const Tin* A, const Tin* B, float* C, const CpuGemmConfig& cfg,
               ukr::Fn fn, ukr::PackFn pack, std::byte* ws, bool c_trans = false) {
  const Blocks bl = blocks_for(cfg, p);
  const int mr = cfg.mr, nr = cfg.nr;
  const Loop loop = parse_loop(cfg.parallel_loop);
  const std::size_t a_bytes = round64(sizeof(T) * bl.mc * bl.kc);
  // A thread's B buffer (Workspace::bytes_for): a kc x nc panel, or with direct B only a
  // narrow last micro-panel.
  const std::size_t b_bytes = round64(sizeof(T) * bl.kc * (cfg.stream == "direct" ? nr : bl.nc));
  const bool a_trans = p.ta == Trans::T, b_trans = p.tb == Trans::T;

  // C[m_lo:m_hi, n_lo:n_hi] by thread `tid` of `nt`; barriers only where panels are shared
  // (ic, jr), and every thread passes the same sequence of them.
  const bool private_b = private_panels(cfg.parallel_loop);
  auto block = [&](int tid, int nt, int64_t n_lo, int64_t n_hi, int64_t m_lo, int64_t m_hi) {
    const bool shared_b = nt > 1 && !private_b;
    const bool shared_a = nt > 1 && loop == Loop::jr;
    // "stream": B micro-panels packed by this thread just before their first use.
    const bool stream_b = cfg.stream == "b" && !shared_b;
    // "direct": B read in place by the kernels (not widened; B's columns contiguous in k:
    // can_implement, loop_problem).
    const bool direct_b = std::is_same_v<Tin, T> && cfg.stream == "direct";
    T* ap = reinterpret_cast<T*>(ws + (shared_a ? 0 : a_bytes * tid));
    T* bp = reinterpret_cast<T*>(ws + a_bytes * nt + (private_b ? b_bytes * tid : 0));
    if (nt > 1 && loop == Loop::ic) split_range(p.m, mr, nt, tid, &m_lo, &m_hi);

    ukr::Args args;
    args.ldc = p.ldc;
    args.c_trans = c_trans;
    args.alpha = p.alpha;
    args.prefetch = cfg.prefetch;
    for (int64_t jc = n_lo; jc < n_hi; jc += bl.nc) {
      const int64_t nb = std::min(bl.nc, n_hi - jc);
      const int64_t n_panels = ceil_div(nb, nr);
      for (int64_t pc = 0; pc < p.k; pc += bl.kc) {
        const int64_t kb = std::min(bl.kc, p.k - pc);
        const int64_t kbp = round_up(kb, KP);
        args.kc = kbp;
        // Later k blocks accumulate onto the first block's result.
        args.beta = pc == 0 ? p.beta : 1.0f;

        // B micro-panel q of this block: op(B)[pc:+kb, j0:+cols] at `src`, packed to bp.
        auto b_panel = [&](int64_t q, int64_t* j0, int64_t* cols) {
          *j0 = jc + q * nr;
          *cols = std::min<int64_t>(nr, jc + nb - *j0);
          return B + (b_trans ? *j0 + pc * p.ldb : pc + *j0 * p.ldb);
        };
        // k rows [k0, k0 + kn) of panel q (the ISA packers write any k range of a panel).
        auto pack_b = [&](int64_t q, int64_t k0 = 0, int64_t kn = -1) {
          int64_t j0, cols;
          const Tin* src = b_panel(q, &j0, &cols);
          if (pack)
            pack(src + (b_trans ? k0 * p.ldb : k0), p.ldb, b_trans, cols, kn < 0 ? kb : kn, nr,
                 bp + q * kbp * nr + k0 * nr);
          else if constexpr (std::is_same_v<Tin, T>)
            pack_panel<T, KP>(B, p.ldb, b_trans, j0, cols, pc, kb, nr, bp + q * kbp * nr);
        };
        // Panel q's source for the kernel to prefetch: kb rows of cols elements (B
        // transposed) or cols columns of kb elements; k steps are pairs for native bf16.
        auto b_source = [&](int64_t q) {
          int64_t j0, cols;
          const Tin* src = b_panel(q, &j0, &cols);
          return source_lines(src, p.ldb, b_trans ? kb : cols, b_trans ? cols : kb, kbp / KP);
        };

        // Loop 4 body: pack B[pc:+kb, jc:+nb] into NR-wide panels (streamed: in loop 2).
        // B transposed has op(B)'s k rows ldb apart: as for A below, walk k in chunks of 16
        // across all panels so each row's columns are read in order (panel by panel read
        // NR elements from each of kb pages: 0.7-0.8x the baselines at 512 x 11008 x 4096).
        const int64_t b_kstep = pack && b_trans ? 16 : kb;
        // Direct: only a last panel narrower than NR is copied (column-major, ld kbp, zero
        // columns past its width) so the kernel never reads past B's last column.
        const int64_t edge_cols = nb - (n_panels - 1) * nr;
        if (direct_b && edge_cols < nr) {
          int64_t j0, cols;
          const Tin* src = b_panel(n_panels - 1, &j0, &cols);
          std::memset(bp, 0, sizeof(T) * kbp * nr);
          for (int64_t j = 0; j < cols; ++j)
            std::memcpy(bp + j * kbp, src + j * p.ldb, sizeof(T) * kb);
        }
        for (int64_t k0 = 0; k0 < kb && !stream_b && !direct_b; k0 += b_kstep)
          for (int64_t q = shared_b ? tid : 0; q < n_panels; q += shared_b ? nt : 1)
            pack_b(q, k0, std::min(b_kstep, kb - k0));
        if (shared_b) {
#pragma omp barrier
        }

        const int64_t ic_lo = shared_a ? 0 : m_lo, ic_hi = shared_a ? p.m : m_hi;
        for (int64_t ic = ic_lo; ic < ic_hi; ic += bl.mc) {
          const int64_t mb = std::min(bl.mc, ic_hi - ic);
          const int64_t m_panels = ceil_div(mb, mr);
          // A not transposed: op(A)'s k columns are lda apart, so packing panel by panel
          // reads 2 lines from each of kb pages per panel (latency-bound, no stream for the
          // prefetcher). Walking k in chunks of 16 across all panels reads each column's mb
          // rows in order instead.
          const int64_t kstep = pack && !a_trans ? 16 : kb;
          // Each chunk also prefetches the next chunk's k rows of its panel (to L2): the rows
          // are mb elements, lda apart, so each starts cold in another page, and the packer's
          // prefetch ahead in the row runs past the block (1 KiB at mb = 256 f32). 4096 x 512
          // x 4096, one thread: 1.03x f32, 1.04x bf16. The same for B transposed (rows nb
          // wide) lost 7% at 128 x 4096 x 4096, where the row prefetch already covers them.
          for (int64_t k0 = 0; k0 < kb; k0 += kstep) {
            const int64_t kn = std::min(kstep, kb - k0);
            for (int64_t r = shared_a ? tid : 0; r < m_panels; r += shared_a ? nt : 1) {
              const int64_t i0 = ic + r * mr;
              const int64_t rows = std::min<int64_t>(mr, ic + mb - i0);
              if (k0 + kn < kb)
                prefetch_rows(A + i0 + (pc + k0 + kn) * p.lda, p.lda, std::min(kstep, kb - k0 - kn),
                              rows);
              if (pack)
                pack(A + (a_trans ? pc + i0 * p.lda : i0 + (pc + k0) * p.lda), p.lda, !a_trans,
                     rows, kn, mr, ap + r * kbp * mr + k0 * mr);
              else if constexpr (std::is_same_v<Tin, T>)
                pack_panel<T, KP>(A, p.lda, !a_trans, i0, rows, pc, kb, mr, ap + r * kbp * mr);
            }
          }
          int64_t q_lo = 0, q_hi = n_panels;
          if (shared_a) {
#pragma omp barrier
            split_range(n_panels, 1, nt, tid, &q_lo, &q_hi);
          }
          // Loops 2 and 1: the B micro-panel is reused from L1 across the ir loop.
          // Streamed: the first row block packs each B panel just before using it, while its
          // first kernel call pulls the next panel's source into L2.
          const bool first_b = stream_b && ic == ic_lo;
          for (int64_t q = q_lo; q < q_hi; ++q) {
            const int64_t j0 = jc + q * nr;
            if (first_b) pack_b(q);
            args.b = bp + q * kbp * nr;
            if (direct_b) {
              int64_t j0_, cols;
              const Tin* src = b_panel(q, &j0_, &cols);
              const bool edge = cols < nr;
              args.b = edge ? static_cast<const void*>(bp) : static_cast<const void*>(src);
              args.b_ld = edge ? kbp : p.ldb;
              args.b_odd = kb % KP != 0;  // bf16: the last pair's second k is past B
            }
            args.n = static_cast<int>(std::min<int64_t>(nr, jc + nb - j0));
            for (int64_t r = 0; r < m_panels; ++r) {
              const int64_t i0 = ic + r * mr;
              args.a = ap + r * kbp * mr;
              args.m = static_cast<int>(std::min<int64_t>(mr, ic + mb - i0));
              args.c = c_trans ? C + j0 + i0 * p.ldc : C + i0 + j0 * p.ldc;
              args.next = ukr::Prefetch{};
              if (r == 0 && q + 1 < q_hi && !direct_b)
                // Streamed, first row block: the next panel's source, packed after this call.
                // Packed: the next micro-panel itself. The B panel (kc x nc, MBs) lives in
                // L3, and at each panel switch the kernel otherwise waits on it: loops 1-2
                // alone on 4096^3 ran 1.07x with this (Zen 5, one thread).
                args.next = first_b
                                ? b_source(q + 1)
                                : source_lines(bp + (q + 1) * kbp * nr, 0, 1, kbp * nr, kbp / KP);
              fn(args);
            }
          }
          if (shared_a) {
#pragma omp barrier
          }
        }
        if (shared_b) {
#pragma omp barrier
        }
      }
    }
  };

  // "jc": columns in chunks handed out dynamically, no barriers at all. On a shared machine
  // a preempted thread then delays only its own chunk while the others take the rest
  // (static splits with barriers ran 10-100x slower under a load of 2+ per core). About 4
  // chunks per thread, whole NR panels, at most one B panel (nc) each. But every chunk packs
  // all of A again (m x k elements for 2 m k cols FLOPs), so a chunk is at least ~1024
  // columns, where that packing is a few percent of its work: 256-column chunks at
  // 2048^3 cost a quarter of the second thread's gain. Never fewer chunks than threads.
  // "ic_chunks" is the same with rows, for m >> n: every chunk packs all of B again, the
  // small operand there, where "jc" would pack all of the large A once per thread. Packing B
  // weighs more than 1024 rows amortise (11008 x 512 x 4096, A transposed, two threads:
  // 1024-row chunks 438 GF/s, 2816 440, one chunk per thread 451, static rows with shared B
  // 449, "jc" 412; 4096 rows: 388 / 440 / 448 at 1024 / 2048 / static), so one chunk per
  // thread, more only past 4096 rows each. Equal chunks (whole mc blocks made 2432 + 1664
  // rows of 4096).
  std::atomic<int64_t> next_chunk{0};
  const bool by_rows = loop == Loop::ic_chunks;
  const int64_t extent = by_rows ? p.m : p.n;
  int64_t chunk = 0;
  if (by_rows) {
    const int64_t per_thread = std::max<int64_t>(1, p.m / (int64_t{cfg.threads} * 4096));
    chunk = round_up(ceil_div(p.m, cfg.threads * per_thread), mr);
  } else {
    const int64_t amortised = round_up(1024, nr);
    chunk = std::min(
        {bl.nc, round_up(ceil_div(p.n, cfg.threads), nr),
         std::max({int64_t{4} * nr, amortised, round_up(ceil_div(p.n, 4 * cfg.threads), nr)})});
  }
  auto body = [&](int tid, int nt) {
    if (nt == 1 || !private_b) return block(tid, nt, 0, p.n, 0, p.m);
    for (;;) {
      const int64_t lo = next_chunk.fetch_add(1, std::memory_order_relaxed) * chunk;
      if (lo >= extent) break;
      const int64_t hi = std::min(extent, lo + chunk);
      if (by_rows)
        block(tid, nt, 0, p.n, lo, hi);
      else
        block(tid, nt, lo, hi, 0, p.m);
    }
  };
  if (cfg.threads <= 1) {
    body(0, 1);
    return;
  }
#pragma omp parallel num_threads(cfg.threads)
  body(omp_get_thread_num(), omp_get_num_threads());
}

// "direct" reads the large operand in place as the micro-kernels' B, whose columns must be
// contiguous in k: B itself when not transposed, or A when transposed, by computing
// C^T = op(B)^T op(A)^T with the tiles stored transposed (PyTorch's x W^T in the row-major
// API arrives as a transposed A with few columns of op(B)).
bool direct_possible(const Problem& p) { return p.tb == Trans::N || p.ta == Trans::T; }
bool direct_swaps(const Problem& p) { return p.ta == Trans::T && (p.tb == Trans::T || p.n < p.m); }
Problem swapped(const Problem& p) {
  Problem q = p;
  q.m = p.n, q.n = p.m;
  q.ta = p.tb == Trans::N ? Trans::T : Trans::N;
  q.tb = p.ta == Trans::N ? Trans::T : Trans::N;
  q.lda = p.ldb, q.ldb = p.lda;
  return q;
}
// The problem the BLIS loops run for config `c`.
Problem loop_problem(const CpuGemmConfig& c, const Problem& p) {
  return c.stream == "direct" && direct_swaps(p) ? swapped(p) : p;
}

// "dot" applies when op(A) has few rows and B's columns are contiguous in k (the large
// operand is B), or op(B) has few columns and A's rows are (the large operand is A).
bool dot_small_a(const Problem& p) { return p.m <= ukr::kDotMaxRows && p.tb == Trans::N; }
bool dot_applies(const Problem& p) {
  return dot_small_a(p) || (p.n <= ukr::kDotMaxRows && p.ta == Trans::T);
}

// Workspace of a dot run: the small operand made contiguous in k when it is not.
std::size_t dot_bytes(const Problem& p) {
  const int64_t rows = dot_small_a(p) ? p.m : p.n;
  return round64(sizeof(float) * std::size_t(rows) * std::size_t(p.k));
}

template <class Tin>
void run_dot(const Problem& p, const Tin* A, const Tin* B, float* C, const CpuGemmConfig& cfg,
             ukr::DotFn fn, std::byte* ws) {
  const bool small_a = dot_small_a(p);
  const int64_t rows = small_a ? p.m : p.n, cols = small_a ? p.n : p.m;
  // x: the small operand's k vectors (rows of op(A) or columns of op(B)), fp32 and
  // contiguous in k; y: the large one's, read in place.
  const Tin* xs = small_a ? A : B;
  const int64_t ldxs = small_a ? p.lda : p.ldb;
  const bool x_rk = small_a ? p.ta == Trans::N : p.tb == Trans::T;  // element (r, k) at r + k ld
  const float* x = nullptr;
  int64_t ldx = ldxs;
  if constexpr (std::is_same_v<Tin, float>)
    if (!x_rk) x = xs;  // fp32 rows contiguous in k: used in place
  if (!x) {
    // Stored the other way, or bf16: transposed or widened into the workspace.
    float* xt = reinterpret_cast<float*>(ws);
    auto f32 = [](Tin v) {
      if constexpr (std::is_same_v<Tin, float>)
        return v;
      else
        return bf16_to_float(v);
    };
    if (x_rk) {  // in memory order
      for (int64_t k = 0; k < p.k; ++k)
        for (int64_t r = 0; r < rows; ++r) xt[r * p.k + k] = f32(xs[r + k * ldxs]);
    } else {
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t k = 0; k < p.k; ++k) xt[r * p.k + k] = f32(xs[k + r * ldxs]);
    }
    x = xt;
    ldx = p.k;
  }
  const Tin* y = small_a ? B : A;
  const int64_t ldy = small_a ? p.ldb : p.lda;
  // out(r, s) is C(r, s) when A is the small operand, else C(s, r).
  const int64_t cr = small_a ? 1 : p.ldc, cs = small_a ? p.ldc : 1;
  // k in chunks so the small operand's chunk (rows x kc floats <= 32 KiB) stays in L1 while
  // every column of the large one streams past once; later chunks add onto the first.
  const int64_t kc = round_up(std::max<int64_t>(512, 8192 / rows), 16);
  auto body = [&](int tid, int nt) {
    int64_t s0, s1;
    split_range(cols, 16, nt, tid, &s0, &s1);
    if (s0 >= s1) return;
    for (int64_t k0 = 0; k0 < p.k; k0 += kc) {
      const ukr::DotArgs a{rows,   s0,  s1,      std::min(kc, p.k - k0),  x + k0, ldx,
                           y + k0, ldy, p.alpha, k0 == 0 ? p.beta : 1.0f, C,      cr,
                           cs};
      fn(a);
    }
  };
  if (cfg.threads <= 1) return body(0, 1);
#pragma omp parallel num_threads(cfg.threads)
  body(omp_get_thread_num(), omp_get_num_threads());
}

}  // namespace

const KernelSet* kernel_set(Isa isa, Dtype dtype) {
  for (const auto& ks : kernel_sets())
    if (ks.isa == isa && ks.dtype == dtype) return &ks;
  return nullptr;
}

Status kernel_set_available(const KernelSet& ks) {
  if (!isa_available(ks.isa))
    return Status::Unsupported(std::string("this CPU (or PERFCAL_ISA) does not offer ") +
                               to_string(ks.isa));
  if (ks.isa == Isa::avx512 && ks.dtype == Dtype::bf16 && !cpu_info().features.avx512_bf16)
    return Status::Unsupported("this CPU has no AVX512_BF16 (vdpbf16ps)");
  return Status::Ok();
}

const KernelSet* best_kernel_set(Dtype dtype) {
  for (Isa isa : {Isa::avx512, Isa::avx2, Isa::portable}) {
    const KernelSet* ks = kernel_set(isa, dtype);
    if (ks && kernel_set_available(*ks).ok()) return ks;
  }
  return nullptr;
}

const ukr::Desc* find_kernel(const KernelSet& ks, const CpuGemmConfig& c) {
  const ukr::Desc* table = c.stream == "direct"   ? ks.direct_table
                           : c.compute == "widen" ? ks.widen_table
                                                  : ks.table;
  if (!table) return nullptr;
  for (const ukr::Desc* d = table; d->fn; ++d)
    if (d->mr == c.mr && d->nr == c.nr) return d;
  return nullptr;
}

namespace {
ukr::Fn kernel_fn(const ukr::Desc& d, const CpuGemmConfig& c) {
  return c.broadcast == "embedded" ? d.embedded : d.fn;
}
}  // namespace

CpuGemmConfig default_config(const Problem& p, const KernelSet& ks, int threads, int mr, int nr,
                             const std::string& compute) {
  const CpuInfo& ci = cpu_info();
  CpuGemmConfig c;
  // The broadcast form this core runs faster (ukernel.h's Desc), measured once (~0.1 ms).
  if (ks.table->embedded && kernel_set_available(ks).ok()) {
    static const double embedded = ukr::avx512_embedded_over_register();
    if (embedded > 1.0) c.broadcast = "embedded";
  }
  // bf16: widen to fp32 FMA where this core's vdpbf16ps delivers fewer FLOP/s than its
  // FMA (measured once; on the KVM Sapphire Rapids this was written on, about half).
  if (ks.widen_table && kernel_set_available(ks).ok()) {
    static const double ratio = ukr::avx512_dpbf16_over_fma();
    if (ratio < 0.9) c.compute = "widen";
  }
  if (!compute.empty()) c.compute = compute;
  const bool widen = c.compute == "widen";  // before direct B (below) sets its own
  const int64_t es = packed_size(c, ks.dtype);
  const int kp = k_pack(c, ks.dtype);
  c.mr = mr > 0 ? mr : ks.default_mr;
  c.nr = nr > 0 ? nr : ks.default_nr;
  // kc (Low et al.): the B micro-panel (kc x NR) stays in L1 while A micro-panels
  // (MR x kc) stream through it; size both to ~7/8 of L1, leaving a way for C.
  const int64_t l1 = static_cast<int64_t>(ci.cache_bytes(1, 32 * 1024));
  int64_t kc = (l1 * 7 / 8) / ((c.mr + c.nr) * es);
  // With B wide, twice that: the B micro-panel then fills about half of L1 and the A
  // micro-panels stream from L2 past it, and every C tile is read and written half as often
  // (once per k block). With mc halved to keep the A block's bytes, two builds side by side,
  // one / two threads: fp32 4096^3 1.02x / 1.01x, 3072^3 1.02x / 1.03x, 2048 x 4096 x 4096
  // 1.01x / 1.00x, 4096 x 11008 x 4096 1.01x / 1.02x, 768 x 4096 x 4096 1.02x / 1.01x; bf16
  // 4096^3 1.01x / 1.00x; A transposed, 4096^3 and 2048 x 4096 x 4096 1.02x. Three times ran
  // the same as twice. Not with few columns (kWideB below: 4096 x 128 x 4096 0.96x / 0.99x,
  // 8192 x 16 x 8192 0.88x / 0.93x), where each A block meets few B panels and packing A
  // weighs more, nor with B transposed (m x 4096 x 4096, one thread: m = 16 / 32 / 64 0.86x
  // / 0.87x / 0.90x, 128 / 256 0.96-0.97x, 1024 / 4096 0.99-1.01x).
  constexpr int64_t kWideB = 256;
  if (p.n >= kWideB && p.tb == Trans::N) kc *= 2;
  kc = std::clamp<int64_t>(kc / 8 * 8, 64, 2048);
  // mc: the packed A block (mc x kc) lives in L2; use half of it so B micro-panels and C
  // lines streaming through do not evict it.
  const int64_t l2 = static_cast<int64_t>(ci.cache_bytes(2, 256 * 1024));
  int64_t mc = (l2 / 2) / (kc * es);
  mc = std::max<int64_t>(c.mr, mc / c.mr * c.mr);
  // nc: the packed B panel (kc x nc) lives in this core's share of L3; half of it, capped
  // because beyond a few thousand columns it no longer matters and only costs memory.
  const auto* l3 = [&]() -> const CacheLevel* {
    for (const auto& cl : ci.caches)
      if (cl.level == 3) return &cl;
    return nullptr;
  }();
  const int64_t l3_share =
      l3 ? static_cast<int64_t>(l3->size_bytes) / std::max(1, l3->cores_sharing) : 4 * l2;
  int64_t nc = std::min<int64_t>((l3_share / 2) / (kc * es), 8192);
  nc = std::max<int64_t>(c.nr, nc / c.nr * c.nr);
  c.kc = static_cast<int>(round_up(kc, kp));
  c.mc = static_cast<int>(mc);
  c.nc = static_cast<int>(nc);

  // Threads: below ~4 MFLOP a fork/join and the shared-panel barriers cost more than a
  // second core gains.
  if (threads <= 0) threads = 1;
  const double work = flops(p);
  if (work < 4.0e6) threads = 1;
  c.threads = threads;
  // Parallel loop: dynamic column chunks ("jc": no barriers, robust to time-sharing; each
  // thread packs its own panels) whenever there are enough columns for a few chunks per
  // thread; otherwise rows ("ic": B shared, each core packs its own A block into its own L2)
  // for tall-skinny shapes. But a "jc" chunk of fewer than 1024 columns packs all of A for
  // little work, so below that, with A the larger operand, row chunks ("ic_chunks": each
  // thread packs its own B, the small operand). Two builds side by side, two threads, against
  // "jc": A transposed (PyTorch's x W^T at 512-1024 tokens) 11008 x 512 x 4096 1.09x, 4096 x
  // 1024 x 4096 1.03x; B transposed 4096 x 512 x 4096 1.06x; direct B 4096 x 512 x 4096
  // 1.08x, 11008 x 1024 x 4096 1.01x; against "ic" (narrow B) 4096 x 16..128 x 4096 0.99-1.01x.
  // Static rows ("ic", barriers) ran 0.97-1.01x of row chunks.
  c.parallel_loop = rows_chunks(p, threads)              ? "ic_chunks"
                    : p.n >= int64_t{threads} * c.nr * 8 ? "jc"
                                                         : "ic";
  c.prefetch = 0;
  // Stream B (pack each panel at first use, prefetch the next one's source under the FMAs)
  // when every B panel meets at most two A micro-panels: packing B up front is then most of
  // the work and waits on memory alone. Measured 1.10-1.15x at m = 1..64 (4096 x 4096, one
  // thread), neutral at 128, 0.9-1.0x at 512. (Streaming A panels when n is small was
  // measured too: 0.84-1.04x, so it does not exist.)
  c.stream =
      p.m <= 2 * int64_t{c.mr} && (threads == 1 || private_panels(c.parallel_loop)) ? "b" : "none";
  // Direct B for up to 512 rows of A (B not transposed and private to a thread): each B
  // element meets at most 512 FMAs, so copying B into panels (read, write, read again)
  // costs more than the kernels' strided reads of it in place. Measured on m x 4096 x 4096,
  // one thread, GF/s packed -> direct (Sapphire Rapids): m = 16: 41 -> 125, 32: 84 -> 157,
  // 64: 106 -> 158, 128: 120 -> 153, 256: 138 -> 156, 512: 149 -> 152. On the Zen 5 (two
  // builds side by side, 256 rows against 512) m = 384 / 512 ran 1.06x / 1.04x on one
  // thread, 1.07x / 1.04x on two, 512 x 11008 x 4096 1.03x, 512^3 1.01-1.02x, bf16
  // 1.01-1.05x; 768 rows 1.02x / 0.96x and 1024 rows 0.93-0.98x (B from DRAM): 512 it is.
  // With no B panel to keep in L1, k blocks only need the A block in half of L2: the largest
  // such kc (up to 4096; at m <= 64 kc = 4096 ran 1.2-1.5x kc = 256, C is read and written
  // once).
  // The 16-row kernel for m <= 16 (32 rows would be half padding: 2.4x at m = 16), else
  // 32 x 8 (32 x 12 ran 2-5% slower: 8 column streams instead of 12).
  // A transposed large A runs the same way on C^T (direct_swaps): rows are then n. There
  // (row-major x W^T, W 4096 x 4096, against the packed loops, same run) it measured
  // 1.4-2.0x at 8-32 rows, 1.07-1.10x at 64, but 0.7-0.85x at 128-256 (its tiles are
  // stored transposed, 8-float runs over 32 rows of C): up to 64 rows only.
  // bf16 direct runs vdpbf16ps on B's pairs as they lie. Where that instruction has half the
  // FMA rate (compute "widen" above) it caps the kernels at the bf16 peak, so it pays only
  // while packing B is what it saves (m x 4096 x 4096 against the widened packed loops,
  // best config of each, one sweep: m = 32 1.23x / 1.20x on 1 / 2 threads, m = 64 1.10x /
  // 0.88x, m = 128 0.86x / 0.82x): up to 32 rows there; elsewhere as fp32.
  // Beyond 512 rows when B fits in L3: B is then re-read from L3, not DRAM, once per A
  // block (mc rows at a time, below), which costs less than packing it. Two builds side by
  // side on the Zen 5 (L3 32 MiB), B up to half this core's share (8 MiB), one / two
  // threads: 1024^3 1.04x / 1.04x, 4096 x 1024 x 1024 1.01x / 1.01x. bf16 with 32 x 12 tiles
  // ran 1024^3 0.99-1.01x and 4096 x 1024 x 1024 0.97x; with the 64 x 6 tiles of
  // register-broadcast cores (below) and k blocks of the same bytes (1024) 1024^3 1.04x /
  // 1.03x, 2048 x 2048 x 1024 1.03x / 1.03x, 4096 x 1024 x 1024 1.01x / 1.01x: there only.
  // fp32 then up to the whole L3 (what each A block re-reads is one k block of B, kc x n):
  // against half the share, two builds side by side, one / two threads: 2048^3 1.03x /
  // 1.02x, 1024 x 4096 x 1024 1.05x / 1.03x, 4096 x 2048 x 2048 1.02x / 1.01x, 2048 x 4096 x
  // 2048 1.02x / 1.02-1.03x, 1024 x 8192 x 1024 1.02x / 1.04x, 1024 x 2048 x 4096 1.05x /
  // 1.02x; 256-1024 columns 0.99-1.02x. (4096^3, B 64 MiB, ran even read in place or
  // packed.) bf16 stays at half the share: with 16 MiB of B it ran 0.98-1.00x.
  const Problem q = direct_swaps(p) ? swapped(p) : p;
  const int64_t direct_rows = c.compute == "widen" ? 32 : direct_swaps(p) ? 64 : 512;
  const int64_t b_bytes = q.k * q.n * int64_t(size_of(ks.dtype));
  const bool b_in_l3 = b_bytes <= l3_share / 2;  // B stays in L3 from one call to the next
  const int64_t l3_bytes = l3 ? static_cast<int64_t>(l3->size_bytes) : l3_share;
  const bool b_fits_l3 = ks.dtype == Dtype::f32 ? b_bytes <= l3_bytes : b_in_l3;
  // Both this and the 64-row tiles below want B wide (kWideB): with at most 128 columns they ran
  // 0.83-0.97x (one thread, 128 x 8 x 4096, 256 x 32 x 4096, 512 x 16 x 8192, 4096 x 128 x
  // 4096: narrow panels pad, and each B column is reused by fewer tiles); at 256 columns
  // 1.01-1.03x.
  const bool l3_rows = b_fits_l3 && q.n >= kWideB &&
                       (ks.dtype == Dtype::f32 || c.broadcast == "register") &&
                       c.compute != "widen" && !direct_swaps(p);
  const bool rows_ok = q.m <= direct_rows || l3_rows;
  // With threads, direct B needs the "jc" split (B private): enough columns for a few
  // 14-wide panels per thread, as the "jc" default above asks of packed configs.
  // Not when widening was asked for: direct reads B as it lies.
  const bool direct = ks.direct_table && mr <= 0 && nr <= 0 && compute != "widen" &&
                      direct_possible(p) && rows_ok &&
                      (threads == 1 || q.n >= int64_t{threads} * 8 * 14);
  if (direct) {
    c.stream = "direct";
    c.compute = "native";
    if (threads > 1) c.parallel_loop = rows_chunks(q, threads) ? "ic_chunks" : "jc";
    c.mr = q.m <= 16 ? 16 : 32;
    // bf16 columns are half the bytes: 12 of them (81.6 GF/s at m = 32, one thread) beat 8
    // (71-75) on the Sapphire Rapids (embedded broadcasts).
    c.nr = q.m <= 16 ? 14 : ks.dtype == Dtype::bf16 ? 12 : 8;
    // Where the core prefers register broadcasts (the Zen 5), each broadcast is an
    // instruction of its own: 64 x 6 shares one over 4 FMAs where 32 x 8 shares it over 2,
    // and at m <= 64 it reads each B element once instead of twice. Exhaustive sweeps, m x
    // 4096 x 4096, one / two threads, 64x6 against 32x8: fp32 m = 40 1.04x / 1.06x, 64 1.10x
    // / 1.16x, 128 1.00x / 1.02x, 256 0.98x / 1.09x, 512 1.00x / 1.02x; bf16 (against 32x12)
    // m = 64 1.04x / 1.05x, 256 1.01x / 1.13x. Only where 64-row tiles add no padding, and
    // B is wide (kWideB above). bf16 at 17-32 rows: 32 x 8 1.06x / 1.06x 32 x 12.
    if (c.broadcast == "register" && q.m > 16 && q.n >= kWideB) {
      const bool wide = q.m > 32 && round_up(q.m, 64) == round_up(q.m, 32);
      c.mr = wide ? 64 : 32;
      c.nr = wide ? 6 : 8;
    }
    const int64_t rows = round_up(std::max<int64_t>(q.m, 1), c.mr);
    const int64_t a_es = packed_size(c, ks.dtype);
    // Past 128 rows A comes in blocks of half of L2 again, with k blocks of 2 KiB per
    // column (fp32 512, bf16 1024): the B micro-panel is reused from L1 by the block's
    // micro-panels. 1024^3, one thread, the tuner's sweeps: fp32 kc 512 with mc 128-256
    // 247-250 GF/s, kc 232-240 241-250, kc 1024 241-248; bf16 64x6 kc 1024 mc 192-256
    // 522-525, kc 512 509-513; bf16 2 KiB against 1 KiB 1.01-1.02x. At 257-512 rows (it was
    // one block of all rows, kc 256) with B from DRAM, two builds side by side, one / two
    // threads: 384 x 4096 x 4096 1.03x / 1.02x, 512 x 4096 x 4096 1.03x / 1.02x, 512 x 11008
    // x 4096 1.09x / 1.03x, 512 x 4096 x 11008 1.02x / 1.02x (the tuner's prefill runs found
    // the same blocks). At 129-256 rows that one block had k blocks of 512-768 already.
    // Up to 128 rows: one block of all rows (comment above).
    if (rows > 128) {
      c.kc = 2048 / static_cast<int>(a_es);
      c.mc = static_cast<int>(std::max<int64_t>(c.mr, (l2 / 2) / (c.kc * a_es) / c.mr * c.mr));
    } else {
      c.kc = static_cast<int>(std::clamp<int64_t>((l2 / 2) / (rows * a_es) / 256 * 256, 256, 4096));
      c.mc = static_cast<int>(rows);
    }
    c.nc = std::max(c.nr, 8064 / c.nr * c.nr);  // unused: no B panel is packed
    // Touching each column's next line ahead of its broadcasts: any distance from 4 to 128
    // k steps measured 1.17-1.25x none (m = 16 and 64, one thread; the tuner found it too),
    // the column misses then overlap instead of arriving one broadcast at a time. On the
    // Zen 5 the far end wins: 128 k steps (512 bytes) against 16, 4096 x 4096, fp32, m = 8 /
    // 16 / 32 / 64: 1.07x / 1.08x / 1.03x / 1.03x on one thread, 1.09x / 1.08x / - / 1.04x
    // on two; bf16 1.01-1.03x. With B in L3 none is best (its latency is short, and the
    // prefetches cost issue slots): 128 -> 0 at 512^3 1.02x / 1.04x (one / two threads),
    // bf16 1.01x / 1.00x; 1024^3 1.02x / 1.04x; m = 16..256 x 1024 x 1024 1.00-1.04x.
    // Past 128 rows B is re-read from L3 by every A block after the first, and the
    // far prefetch costs more than it brings: 16 k steps against 128, B from DRAM, one / two
    // threads: 192 x 4096 x 4096 1.03x / 1.02x, 256 x 4096 x 4096 1.09x / 1.03x, 256 x 11008
    // x 4096 1.03x / 1.03x (at 128 rows 0.99x). Past 512 rows B is in L3 (l3_rows): none.
    c.prefetch = b_in_l3 || rows > 512 ? 0 : rows > 128 ? 16 : 128;
  }
  // 16-row tiles have one FMA per B element, so a register broadcast doubles their
  // instructions instead of sharing one over MR/16 FMAs: embedded, whatever the probe says
  // of the 32-row tile (16x14 direct, 16 x 4096 x 4096 on the Zen 5: embedded 1.22x / 1.08x
  // register on 1 / 2 threads; can_implement refuses the other).
  if (c.mr == 16 && ks.table->embedded) c.broadcast = "embedded";
  // Dot products for the skinny problems they apply to (m or n <= 8), unless a register
  // block was asked for: with the BLIS loops (B packed) m = 1..8 x 4096 x 4096 ran
  // 0.35-0.47x oneDNN; as dot products 2-5x faster. Direct B beat them from m = 8 on (65 vs
  // 43 GF/s at m = 8; 32 vs 42 at m = 4), so dot keeps m <= 4 there. Not a tuner field: dot
  // ignores every blocking field, so the tuner's candidates are the BLIS configs, measured
  // against this default.
  // bf16 where vdpbf16ps is half rate (widen): dot products up to 8 rows (m = 8: 44.9 GF/s,
  // direct B 36-40, one thread, Sapphire Rapids). Where it is full rate, direct B runs it at
  // twice the dot products' fp32 FMA rate: as fp32 (8 x 4096 x 4096 on the Zen 5, two
  // threads: direct 296 GF/s, dot 153).
  const int64_t dot_rows = ks.dtype == Dtype::bf16 && widen ? ukr::kDotMaxRows : 4;
  const bool dot = dot_applies(p) && ((dot_small_a(p) ? p.m : p.n) <= dot_rows || !direct);
  c.algo = ks.dot && mr <= 0 && nr <= 0 && dot ? "dot" : "blis";
  return c;
}

Status can_implement(const CpuGemmConfig& c, const Problem& p, const KernelSet& ks) {
  PERFCAL_RETURN_IF_ERROR(validate(p));
  // The packed layout and the micro-kernels are per element type.
  if (p.dtype != ks.dtype)
    return Status::Unsupported(std::string("kernels are for ") + to_string(ks.dtype) +
                               ", problem is " + to_string(p.dtype));
  // The micro-kernel's instructions must exist on this CPU.
  PERFCAL_RETURN_IF_ERROR(kernel_set_available(ks));
  // Dot products read the large operand in place and use none of the blocking fields; the
  // fields must still be well-formed, but how B panels are shared does not matter.
  if (c.algo != "blis" && c.algo != "dot")
    return Status::Invalid("algo must be \"blis\" or \"dot\"");
  if (c.algo == "dot" && !ks.dot)
    return Status::Invalid("algo \"dot\" exists only for AVX-512 (fp32 and bf16)");
  if (c.algo == "dot" && !dot_applies(p))
    return Status::Invalid(
        "algo \"dot\" needs at most 8 rows of op(A) with B not transposed, or at most 8 "
        "columns of op(B) with A transposed (the large operand read in place along k)");
  // Register blocks are compiled shapes (accumulators must be compile-time registers).
  // "widen" exists only for bf16 sets that have fp32 kernels and a widening packer.
  if (c.compute != "native" && c.compute != "widen")
    return Status::Invalid("compute must be \"native\" or \"widen\"");
  if (c.compute == "widen" && !ks.widen_table)
    return Status::Invalid("compute \"widen\" is only for bf16 with AVX-512");
  if (c.broadcast != "register" && c.broadcast != "embedded")
    return Status::Invalid("broadcast must be \"register\" or \"embedded\"");
  if (c.broadcast == "embedded" && !ks.table->embedded)
    return Status::Invalid("broadcast \"embedded\" exists only for the AVX-512 kernels");
  if (c.stream != "none" && c.stream != "b" && c.stream != "direct")
    return Status::Invalid("stream must be \"none\", \"b\" or \"direct\"");
  // "direct" kernels broadcast B from where it lies, k contiguous within a column (bf16:
  // in (k, k+1) pairs for vdpbf16ps, so not widened).
  if (c.algo == "blis" && c.stream == "direct" && (!ks.direct_table || !direct_possible(p)))
    return Status::Invalid(
        "stream \"direct\" needs AVX-512 kernels and B not transposed or A transposed "
        "(the operand read in place contiguous in k)");
  if (c.algo == "blis" && c.stream == "direct" && widened(c, ks.dtype))
    return Status::Invalid(
        "stream \"direct\" needs compute \"native\" (B is read in place, not widened)");
  if (!find_kernel(ks, c))
    return Status::Invalid("no " + std::string(to_string(ks.isa)) + " micro-kernel of shape mr=" +
                           std::to_string(c.mr) + " x nr=" + std::to_string(c.nr) + " (" +
                           c.compute + (c.stream == "direct" ? ", direct" : "") + ")");
  // A 16-row AVX-512 tile has one FMA per B element: a register broadcast only adds an
  // instruction per FMA (and 16x28, 28 accumulators + A + the broadcast, spills in its k
  // loop).
  if (c.broadcast == "register" && ks.table->embedded && c.mr == 16 && c.algo == "blis")
    return Status::Invalid(
        "broadcast \"register\" needs mr >= 32 (16-row tiles: one FMA "
        "per broadcast)");
  // kc >= 1; bf16 packs k in pairs, so a k block must hold whole pairs; <= 8192 keeps the
  // B micro-panel (kc x NR) anywhere near L1, beyond which the blocking is meaningless.
  if (c.kc < 1 || c.kc > 8192) return Status::Invalid("kc must be in [1, 8192]");
  if (c.kc % k_pack(c, ks.dtype) != 0)
    return Status::Invalid("kc must be even for native bf16 (k pairs)");
  // mc, nc whole numbers of micro-panels: only the last block of a dimension has edge tiles,
  // and threads split blocks on micro-panel boundaries.
  if (c.mc < c.mr || c.mc % c.mr != 0)
    return Status::Invalid("mc must be a positive multiple of mr");
  if (c.nc < c.nr || c.nc % c.nr != 0)
    return Status::Invalid("nc must be a positive multiple of nr");
  // A block above 64 MiB cannot be cache-resident anywhere and only wastes memory.
  if (int64_t{c.mc} * c.kc * packed_size(c, ks.dtype) > (int64_t{64} << 20))
    return Status::Invalid("mc x kc block exceeds 64 MiB");
  if (int64_t{c.kc} * c.nc * packed_size(c, ks.dtype) > (int64_t{1} << 30))
    return Status::Invalid("kc x nc panel exceeds 1 GiB");
  // At least one thread; 1024 bounds the per-thread workspace.
  if (c.threads < 1 || c.threads > 1024) return Status::Invalid("threads must be in [1, 1024]");
  // The loops the driver knows how to split.
  if (c.parallel_loop != "ic" && c.parallel_loop != "jr" && !private_panels(c.parallel_loop))
    return Status::Invalid("parallel_loop must be \"ic\", \"jr\", \"jc\" or \"ic_chunks\"");
  // A prefetch beyond the panel is wasted; 0 disables it.
  if (c.prefetch < 0 || c.prefetch > 256) return Status::Invalid("prefetch must be in [0, 256]");
  // Streamed B panels are packed by the thread that uses them, just before; a B panel that
  // threads share must be complete before any of them starts (a barrier after packing).
  // Direct B has one private buffer, for a narrow last panel.
  if (c.algo == "blis" && c.stream != "none" && c.threads > 1 && !private_panels(c.parallel_loop))
    return Status::Invalid("stream \"" + c.stream +
                           "\" needs threads = 1 or parallel_loop \"jc\" or \"ic_chunks\" (B "
                           "panels private to a thread)");
  return Status::Ok();
}

SearchSpace search_space(const Problem& p, const KernelSet& ks) {
  SearchSpace s;
  ParamSpace mr{"mr", {}}, nr{"nr", {}};
  for (const ukr::Desc* d = ks.table; d->fn; ++d) {
    if (std::find(mr.values.begin(), mr.values.end(), Json(d->mr)) == mr.values.end())
      mr.values.push_back(d->mr);
    if (std::find(nr.values.begin(), nr.values.end(), Json(d->nr)) == nr.values.end())
      nr.values.push_back(d->nr);
  }
  s.push_back(mr);
  s.push_back(nr);
  // Block sizes that give the loops the same blocks are one point, the first of them kept:
  // blocks_for splits a dimension into equal blocks, each allowed 1/8 over the size asked
  // for, so sizes that make as many blocks make the same ones (every mc >= m is one block
  // of m rows); an nc at or above n is all of n. Otherwise a skinny shape's space is mostly
  // copies of a few configs, and the tuner measures them as rivals.
  auto distinct = [](std::vector<Json> sizes, int64_t total, bool balanced) {
    std::vector<Json> out;
    std::vector<int64_t> seen;
    for (const Json& v : sizes) {
      const int64_t b = v.get<int64_t>();
      const int64_t key = balanced ? ceil_div(std::max<int64_t>(total, 1), b + b / 8)
                                   : std::min(b, std::max<int64_t>(total, 1));
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
      seen.push_back(key);
      out.push_back(v);
    }
    return out;
  };
  // mc: multiples of 16/32/48/64/96.
  s.push_back({"mc", distinct({192, 384, 768, 1152, 1536, 2304}, p.m, true)});
  // Beyond 512 only for direct B, whose k blocks need not keep a B panel in L1.
  if (ks.direct_table && direct_possible(p))
    s.push_back({"kc", distinct({128, 192, 256, 320, 384, 512, 1024, 2048, 4096}, p.k, true)});
  else
    s.push_back({"kc", distinct({128, 192, 256, 320, 384, 512}, p.k, true)});
  // nc: multiples of 6/8/12/14/28.
  s.push_back({"nc", distinct({1344, 2688, 4032, 8064}, p.n, false)});
  ParamSpace th{"threads", {}};
  for (int t = 1; t <= std::max(1, cpu_info().cores); t *= 2) th.values.push_back(t);
  if (cpu_info().cores > 1 && (cpu_info().cores & (cpu_info().cores - 1)))
    th.values.push_back(cpu_info().cores);
  s.push_back(th);
  s.push_back({"parallel_loop", {"ic", "jr", "jc", "ic_chunks"}});
  s.push_back({"prefetch", {0, 4, 16, 64, 128}});
  if (ks.direct_table && direct_possible(p))
    s.push_back({"stream", {"none", "b", "direct"}});
  else
    s.push_back({"stream", {"none", "b"}});
  if (ks.widen_table) s.push_back({"compute", {"native", "widen"}});
  if (ks.table->embedded) s.push_back({"broadcast", {"register", "embedded"}});
  return s;
}

std::size_t Workspace::bytes_for(const CpuGemmConfig& c, const Problem& p) {
  if (c.algo == "dot") return dot_bytes(p);
  const Blocks bl = blocks_for(c, loop_problem(c, p));
  const std::size_t es = packed_size(c, p.dtype);
  const std::size_t t = std::max(1, c.threads);
  // Direct B: only a narrow last panel is copied (kc x NR).
  const std::size_t a = round64(es * bl.mc * bl.kc),
                    b = round64(es * bl.kc * (c.stream == "direct" ? c.nr : bl.nc));
  return a * t + b * (private_panels(c.parallel_loop) ? t : 1);
}

Status Workspace::reserve(std::size_t bytes) {
  if (buf_.size() >= bytes) return Status::Ok();
  if (!buf_.reset(bytes)) return Status::OutOfMemory("cannot allocate GEMM packing buffers");
  return Status::Ok();
}

Status run(const Problem& p, const Operands& ops, const CpuGemmConfig& c, const KernelSet& ks,
           Workspace* ws) {
  if (p.m == 0 || p.n == 0) return Status::Ok();
  if (p.k == 0 || p.alpha == 0.0f) {
    scale_c(p, ops.c);
    return Status::Ok();
  }
  PERFCAL_RETURN_IF_ERROR(ws->reserve(Workspace::bytes_for(c, p)));
  const bool bf16 = p.dtype == Dtype::bf16;
  if (c.algo == "dot" && ks.dot) {
    if (bf16)
      run_dot(p, static_cast<const uint16_t*>(ops.a), static_cast<const uint16_t*>(ops.b), ops.c, c,
              ks.dot, ws->data());
    else
      run_dot(p, static_cast<const float*>(ops.a), static_cast<const float*>(ops.b), ops.c, c,
              ks.dot, ws->data());
    return Status::Ok();
  }
  const ukr::Desc* d = find_kernel(ks, c);
  if (!d) return Status::Invalid("no micro-kernel for this mr x nr");
  const ukr::Fn fn = kernel_fn(*d, c);
  // Direct on C^T (loop_problem): the operands trade places and the tiles are transposed.
  const bool swap = c.stream == "direct" && direct_swaps(p);
  const void* a = swap ? ops.b : ops.a;
  const void* b = swap ? ops.a : ops.b;
  const Problem q = loop_problem(c, p);
  if (widened(c, p.dtype))
    run_typed<uint16_t, float, 1>(q, static_cast<const uint16_t*>(a),
                                  static_cast<const uint16_t*>(b), ops.c, c, fn, ks.widen_pack,
                                  ws->data(), swap);
  else if (bf16)
    run_typed<uint16_t, uint16_t, 2>(q, static_cast<const uint16_t*>(a),
                                     static_cast<const uint16_t*>(b), ops.c, c, fn, ks.pack,
                                     ws->data(), swap);
  else
    run_typed<float, float, 1>(q, static_cast<const float*>(a), static_cast<const float*>(b), ops.c,
                               c, fn, ks.pack, ws->data(), swap);
  return Status::Ok();
}

// ---- registry entry -------------------------------------------------------------------

namespace {
class BlisPlan : public Variant::Plan {
 public:
  BlisPlan(const Problem& p, const CpuGemmConfig& c, const KernelSet& ks) : p_(p), c_(c), ks_(ks) {}
  Status init() { return ws_.reserve(Workspace::bytes_for(c_, p_)); }
  Status run(const Operands& ops) override { return gemm::run(p_, ops, c_, ks_, &ws_); }
  std::size_t workspace_bytes() const override { return ws_.size(); }

 private:
  Problem p_;
  CpuGemmConfig c_;
  const KernelSet& ks_;
  Workspace ws_;
};
}  // namespace

Status BlisVariant::available() const {
  const KernelSet* ks = kernel_set(isa_, dtype_);
  if (!ks) return Status::Unsupported("no kernels compiled for this ISA and dtype");
  return kernel_set_available(*ks);
}

Json BlisVariant::default_config(const Problem& p) const {
  const KernelSet* ks = kernel_set(isa_, dtype_);
  return Json(gemm::default_config(p, *ks, cpu_info().cores));
}

SearchSpace BlisVariant::search_space(const Problem& p) const {
  return gemm::search_space(p, *kernel_set(isa_, dtype_));
}

Status BlisVariant::parse(const Json& config, const Problem& p, CpuGemmConfig* out) const {
  if (!config.is_object()) return Status::Invalid("config must be a JSON object");
  // Blocks follow the register block when only mr/nr are given, and the path follows compute
  // (a widened bf16 config never defaults to B read in place).
  auto get = [&](const char* key) {
    return config.contains(key) && config[key].is_number_integer() ? config[key].get<int>() : 0;
  };
  const std::string compute = config.contains("compute") && config["compute"].is_string()
                                  ? config["compute"].get<std::string>()
                                  : std::string();
  Json merged = Json(gemm::default_config(p, *kernel_set(isa_, dtype_), cpu_info().cores, get("mr"),
                                          get("nr"), compute));
  for (auto it = config.begin(); it != config.end(); ++it) {
    if (!merged.contains(it.key()))
      return Status::Invalid("unknown config field \"" + it.key() + "\"");
    merged[it.key()] = it.value();
  }
  return parse_config(merged, out);
}

Status BlisVariant::can_implement(const Json& config, const Problem& p) const {
  CpuGemmConfig c;
  PERFCAL_RETURN_IF_ERROR(parse(config, p, &c));
  return gemm::can_implement(c, p, *kernel_set(isa_, dtype_));
}

Status BlisVariant::make_plan(const Problem& p, const Json& config,
                              std::unique_ptr<Plan>* out) const {
  CpuGemmConfig c;
  PERFCAL_RETURN_IF_ERROR(parse(config, p, &c));
  const KernelSet* ks = kernel_set(isa_, dtype_);
  PERFCAL_RETURN_IF_ERROR(gemm::can_implement(c, p, *ks));
  auto plan = std::make_unique<BlisPlan>(p, c, *ks);
  PERFCAL_RETURN_IF_ERROR(plan->init());
  *out = std::move(plan);
  return Status::Ok();
}

}  // namespace perfcal::gemm
