// bench_allreduce: an nccl-tests-style all-reduce benchmark over perfcal's registered
// all-reduce variants, one row per (size, dtype, algorithm):
//
//   size, count, type, redop, algorithm, time(us), algbw(GB/s), busbw(GB/s), #wrong
//
// Standalone it runs the threads transport (-t/--ranks threads of this process); under
// `mpirun -np P` (or srun) it runs the MPI transport, including the MPI_Allreduce baseline,
// one rank per process. algbw = bytes / time and busbw = algbw * 2(p-1)/p (docs/ALLREDUCE.md).
// Every size is verified before it is timed: crafted inputs whose results are exact in every
// dtype, checked on every rank, and every rank's result bit-identical to rank 0's; a wrong
// variant is reported (#wrong > 0) and not timed. Time per call is the median of
// --repetitions runs of --iters calls (auto: ~20 ms per repetition), the slowest rank's.
// --out FILE writes a device profile (rank 0), rewritten after every size so an interrupted
// run leaves a valid profile marked partial.
//
//   build/bin/bench_allreduce -t 2 -b 8 -e 256M -f 2
//   OMPI_MCA_btl_vader_single_copy_mechanism=none mpirun --allow-run-as-root -np 2
//     build/bin/bench_allreduce -b 8 -e 256M -f 2 --out results/profiles/ar-mpi.json
//   (one command line)
// Exit: 0 all verified, 1 a variant was wrong or failed, 2 bad input.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#ifdef PERFCAL_HAVE_MPI
#include <mpi.h>
#endif

#include "allreduce/allreduce.h"
#include "core/aligned_buffer.h"
#include "discovery.h"
#include "harness.h"
#include "profile/profile.h"

namespace {

using perfcal::AlignedBuffer;
using perfcal::Dtype;
using perfcal::Status;
using perfcal::StatusCode;
namespace profile = perfcal::profile;
namespace bench = perfcal::bench;
using namespace perfcal::allreduce;
using Clock = std::chrono::steady_clock;

constexpr int64_t kMaxBytes = int64_t{64} << 30;  // per rank; anything larger is a typo

// "8", "8B", "64K", "64KiB", "1M", "256MB", "1G" (binary units) -> bytes; nullopt if malformed.
std::optional<int64_t> parse_size(const std::string& s) {
  std::size_t pos = 0;
  while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
  if (pos == 0 || pos > 15) return std::nullopt;
  int64_t v = std::stoll(s.substr(0, pos));
  std::string unit = s.substr(pos);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  int shift = -1;
  if (unit == "" || unit == "B")
    shift = 0;
  else if (unit == "K" || unit == "KB" || unit == "KIB")
    shift = 10;
  else if (unit == "M" || unit == "MB" || unit == "MIB")
    shift = 20;
  else if (unit == "G" || unit == "GB" || unit == "GIB")
    shift = 30;
  if (shift < 0) return std::nullopt;
  if (v > (int64_t{1} << (62 - shift))) return int64_t{1} << 62;  // absurd; rejected by the caller
  return v << shift;
}

// The ranks' transport: the same calls on every rank, however the ranks are made.
struct World {
  Transport transport = Transport::threads;
  int ranks = 1;
  std::unique_ptr<ThreadTeam> team;        // threads
  std::unique_ptr<Communicator> mpi_comm;  // mpi: this process's rank
  int mpi_rank = 0;

  // Runs fn on every rank (threads: all team threads; mpi: this process's rank).
  Status run(const std::function<Status(Communicator&)>& fn) {
    if (transport == Transport::threads) return team->run(fn);
    return fn(*mpi_comm);
  }
};

// Combines a per-rank value across ranks: sum or max. Threads share memory: the caller
// passes an array per rank and reads it after run(); MPI reduces here.
double mpi_reduce(double v, bool max) {
#ifdef PERFCAL_HAVE_MPI
  double out = v;
  MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, max ? MPI_MAX : MPI_SUM, MPI_COMM_WORLD);
  return out;
#else
  (void)max;
  return v;
#endif
}

struct Args {
  std::string begin = "8", end = "256M";
  int64_t factor = 2;
  std::string dtype = "f32", op = "sum", algo = "all", transport = "auto", out;
  int ranks = 2, iters = 0, warmup = 3, repetitions = 5;
  bool in_place = false;
  double timeout = 60;
};

struct Row {
  int64_t wrong = 0;
  std::string outcome = "passed", error;
  std::vector<double> times;  // seconds per call, one per repetition
  int iters = 0;
};

uint64_t fnv(const void* p, std::size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < n; ++i)
    h = (h ^ static_cast<const unsigned char*>(p)[i]) * 1099511628211ull;
  return h;
}

class Bench {
 public:
  Bench(World* w, const Args& a) : w_(w), a_(a) {}

  // Per-rank buffers sized for the largest vector, reused by every size.
  bool allocate(std::size_t max_bytes) {
    const int local = w_->transport == Transport::threads ? w_->ranks : 1;
    send_.resize(local), recv_.resize(local);
    for (int r = 0; r < local; ++r)
      if (!send_[r].reset(max_bytes) || !recv_[r].reset(max_bytes)) return false;
    return true;
  }

  void fill(const Problem& p, uint64_t seed) {
    const int local = static_cast<int>(send_.size());
    for (int i = 0; i < local; ++i) {
      const int r = w_->transport == Transport::threads ? i : w_->mpi_rank;
      fill_crafted(p.dtype, send_[i].data(), p.count, r, p.ranks, seed);
    }
  }

  Row measure(const Variant& v, const Problem& p, uint64_t seed, bool refill) {
    Row row;
    std::unique_ptr<Variant::Plan> plan;
    Status s = v.make_plan(p, v.default_config(p), &plan);
    if (!s.ok()) {
      row.outcome = s.code() == StatusCode::kUnsupported ? "unsupported" : "failed";
      row.error = s.message();
      return row;
    }
    if (refill || p.in_place) fill(p, seed);
    const std::size_t bytes = static_cast<std::size_t>(p.bytes());
    auto ops_of = [&](Communicator& c) {
      const int i = w_->transport == Transport::threads ? c.rank() : 0;
      return Operands{send_[i].data(), p.in_place ? send_[i].data() : recv_[i].data(), &c};
    };
    // Verify: one call, every rank against the reference and against rank 0's bytes.
    std::vector<int64_t> wrong(w_->ranks, 0);
    std::vector<uint64_t> hash(w_->ranks, 0);
    s = w_->run([&](Communicator& c) {
      Operands o = ops_of(c);
      PERFCAL_RETURN_IF_ERROR(plan->run(o));
      const int slot = w_->transport == Transport::threads ? c.rank() : 0;
      wrong[slot] = count_wrong_crafted(p, o.recv, seed);
      hash[slot] = fnv(o.recv, bytes);
      return Status::Ok();
    });
    if (!fail(s, &row)) return row;
    if (w_->transport == Transport::threads) {
      for (int r = 0; r < w_->ranks; ++r) row.wrong += wrong[r] + (hash[r] != hash[0] ? 1 : 0);
    } else {
      const double h = static_cast<double>(hash[0] >> 11);  // exact in a double
      const bool same = mpi_reduce(h, true) == -mpi_reduce(-h, true);
      row.wrong = static_cast<int64_t>(mpi_reduce(double(wrong[0]), false)) + (same ? 0 : 1);
    }
    if (row.wrong) {
      row.outcome = "incorrect";
      return row;
    }
    if (p.in_place) fill(p, seed);  // keep sums bounded while timing
    // Warm up, pick the iteration count (rank 0 decides, all follow), then time.
    std::atomic<int> iters{a_.iters};
    std::vector<double> elapsed(a_.repetitions, 0.0);
    s = w_->run([&](Communicator& c) {
      Operands o = ops_of(c);
      for (int i = 0; i < a_.warmup; ++i) PERFCAL_RETURN_IF_ERROR(plan->run(o));
      if (a_.iters <= 0) {
        PERFCAL_RETURN_IF_ERROR(c.barrier());
        const auto t0 = Clock::now();
        PERFCAL_RETURN_IF_ERROR(plan->run(o));
        double one = std::chrono::duration<double>(Clock::now() - t0).count();
        // MPI: every rank derives the count from the same (slowest) time; threads: rank 0's.
        if (w_->transport == Transport::mpi) one = mpi_reduce(one, true);
        if (w_->transport == Transport::mpi || c.rank() == 0)
          iters.store(static_cast<int>(std::clamp(0.02 / std::max(one, 1e-9), 2.0, 20000.0)));
        PERFCAL_RETURN_IF_ERROR(c.barrier());
      }
      const int n = iters.load();
      for (int rep = 0; rep < a_.repetitions; ++rep) {
        PERFCAL_RETURN_IF_ERROR(c.barrier());
        const auto t0 = Clock::now();
        for (int i = 0; i < n; ++i) PERFCAL_RETURN_IF_ERROR(plan->run(o));
        // The call is done when the slowest rank is: threads wait for all here; MPI
        // takes the maximum of the ranks' times below.
        if (w_->transport == Transport::threads) PERFCAL_RETURN_IF_ERROR(c.barrier());
        double t = std::chrono::duration<double>(Clock::now() - t0).count() / n;
        if (w_->transport == Transport::mpi) t = mpi_reduce(t, true);
        if (c.rank() == 0) elapsed[rep] = t;
      }
      return Status::Ok();
    });
    if (!fail(s, &row)) return row;
    row.iters = iters.load();
    row.times = elapsed;
    return row;
  }

 private:
  // False (and the row marked) when s failed.
  static bool fail(const Status& s, Row* row) {
    if (s.ok()) return true;
    row->outcome = s.message().find("timed out") != std::string::npos ? "timeout" : "failed";
    row->error = s.message();
    return false;
  }

  World* w_;
  Args a_;
  std::vector<AlignedBuffer<unsigned char>> send_, recv_;
};

int run(int argc, char** argv) {
  // Launched by mpirun/srun? (Decided before MPI_Init so bad flags never start MPI.)
  const bool under_mpi =
      std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK");
  const char* env_rank = std::getenv("OMPI_COMM_WORLD_RANK");
  if (!env_rank) env_rank = std::getenv("PMI_RANK");
  const bool printer = !env_rank || std::atoi(env_rank) == 0;
  auto bad = [&](const std::string& msg) {
    if (printer) std::fprintf(stderr, "bench_allreduce: %s\n", msg.c_str());
    return 2;
  };

  Args a;
  CLI::App app{"nccl-tests-style all-reduce benchmark (threads standalone, MPI under mpirun)",
               "bench_allreduce"};
  app.add_option("-b,--begin", a.begin, "smallest size per rank in bytes (K, M, G suffixes)")
      ->capture_default_str();
  app.add_option("-e,--end", a.end, "largest size per rank")->capture_default_str();
  app.add_option("-f,--factor", a.factor, "size multiplier between rows (>= 2)")
      ->capture_default_str();
  app.add_option("--dtype", a.dtype, "f32, bf16, f64, or all")->capture_default_str();
  app.add_option("--op", a.op, "sum, max or min")->capture_default_str();
  app.add_option(
         "--algo", a.algo,
         "comma list of ring, recursive_doubling, rabenseifner, tree, mpi_allreduce; or all")
      ->capture_default_str();
  app.add_option("-t,--ranks", a.ranks, "ranks of the threads transport (threads of this process)")
      ->capture_default_str();
  app.add_option("--transport", a.transport, "auto (mpi under mpirun, else threads), threads, mpi")
      ->capture_default_str();
  app.add_option("--iters", a.iters, "calls per repetition (0: about 20 ms worth)")
      ->capture_default_str();
  app.add_option("--warmup", a.warmup, "untimed calls before timing")->capture_default_str();
  app.add_option("--repetitions", a.repetitions, "timed repetitions; the median is reported")
      ->capture_default_str();
  app.add_flag("--in-place", a.in_place, "send == recv");
  app.add_option("--timeout", a.timeout, "seconds a rank waits for another before failing")
      ->capture_default_str();
  app.add_option("--out", a.out, "write a device profile (JSON) here");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    if (printer) std::printf("%s", app.help().c_str());
    return 0;
  } catch (const CLI::ParseError& e) {
    return bad(e.what());
  }

  const auto begin = parse_size(a.begin), end = parse_size(a.end);
  if (!begin) return bad("--begin: not a size: \"" + a.begin + "\" (e.g. 8, 64K, 1M)");
  if (!end) return bad("--end: not a size: \"" + a.end + "\" (e.g. 8, 64K, 256M)");
  if (*begin <= 0) return bad("--begin must be > 0 bytes");
  if (*end < *begin) return bad("--begin (" + a.begin + ") is larger than --end (" + a.end + ")");
  if (*end > kMaxBytes) return bad("--end " + a.end + " is absurd: at most 64G per rank");
  if (a.factor < 2) return bad("--factor must be >= 2");
  if (a.iters < 0) return bad("--iters must be >= 0");
  if (a.warmup < 0) return bad("--warmup must be >= 0");
  if (a.repetitions < 1 || a.repetitions > 1000) return bad("--repetitions must be in [1, 1000]");
  if (!(a.timeout > 0)) return bad("--timeout must be > 0");
  std::vector<Dtype> dtypes;
  if (a.dtype == "all")
    dtypes = {Dtype::f32, Dtype::bf16, Dtype::f64};
  else if (auto d = perfcal::parse_dtype(a.dtype); d && *d != Dtype::f16)
    dtypes = {*d};
  else
    return bad("--dtype must be f32, bf16, f64 or all, not \"" + a.dtype + "\"");
  Op op;
  if (!parse_op(a.op, &op)) return bad("--op must be sum, max or min, not \"" + a.op + "\"");
  Transport transport;
  if (a.transport == "auto")
    transport = under_mpi ? Transport::mpi : Transport::threads;
  else if (a.transport == "threads")
    transport = Transport::threads;
  else if (a.transport == "mpi")
    transport = Transport::mpi;
  else
    return bad("--transport must be auto, threads or mpi");
  std::vector<std::string> algos;
  {
    std::string list = a.algo + ",";
    for (std::size_t p = 0, q; (q = list.find(',', p)) != std::string::npos; p = q + 1) {
      const std::string name = list.substr(p, q - p);
      if (name.empty()) continue;
      if (name == "all") {
        algos = algorithm_names();
        break;
      }
      if (std::find(algorithm_names().begin(), algorithm_names().end(), name) ==
          algorithm_names().end())
        return bad("--algo: unknown algorithm \"" + name + "\"");
      algos.push_back(name);
    }
    if (algos.empty()) return bad("--algo is empty");
  }
  if (transport == Transport::threads && (a.ranks < 1 || a.ranks > 256))
    return bad("--ranks must be in [1, 256]");

  World w;
  w.transport = transport;
  if (transport == Transport::mpi) {
#ifdef PERFCAL_HAVE_MPI
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    Status s = mpi_world_communicator(&w.mpi_comm);
    if (!s.ok()) {
      std::fprintf(stderr, "bench_allreduce: %s\n", s.message().c_str());
      MPI_Abort(MPI_COMM_WORLD, 2);
    }
    w.ranks = w.mpi_comm->size();
    w.mpi_rank = w.mpi_comm->rank();
    w.mpi_comm->set_timeout(a.timeout);
#else
    return bad("--transport mpi: perfcal was built without MPI");
#endif
  } else {
    w.ranks = a.ranks;
    Status s = ThreadTeam::create(a.ranks, &w.team);
    if (!s.ok()) return bad(s.message());
    w.team->set_timeout(a.timeout);
  }
  const bool root = w.mpi_rank == 0;
  auto finish = [&](int code) {
#ifdef PERFCAL_HAVE_MPI
    if (transport == Transport::mpi) {
      w.mpi_comm.reset();
      if (code == 0)
        MPI_Finalize();
      else
        MPI_Abort(MPI_COMM_WORLD, code);
    }
#endif
    return code;
  };

  Bench bench(&w, a);
  if (!bench.allocate(static_cast<std::size_t>(*end))) {
    if (root)
      std::fprintf(stderr, "bench_allreduce: cannot allocate 2 x %s per rank\n", a.end.c_str());
    return finish(2);
  }

  profile::Profile prof;
  if (root) {
    prof.created = profile::utc_now();
    prof.perfcal_version = "0.1.0";
    prof.git_revision = bench::git_revision();
    prof.host = bench::host_json();
    prof.devices = bench::devices_json();
    prof.software = bench::software_json();
    prof.environment = bench::environment_json();
    for (int i = 0; i < argc; ++i) prof.command.push_back(argv[i]);
  }
  auto save = [&]() {
    if (!root || a.out.empty()) return true;
    const std::string err = profile::save(a.out, prof);
    if (!err.empty())
      std::fprintf(stderr, "bench_allreduce: cannot write profile: %s\n", err.c_str());
    return err.empty();
  };
  if (!save()) return finish(2);

  const char* channel = w.mpi_comm ? w.mpi_comm->channel() : "shared address space";
  if (root) {
    std::printf(
        "# bench_allreduce: transport %s (%s), %d ranks, op %s%s, iters %s, warmup %d, "
        "repetitions %d\n",
        to_string(transport), channel, w.ranks, to_string(op), a.in_place ? ", in place" : "",
        a.iters ? std::to_string(a.iters).c_str() : "auto", a.warmup, a.repetitions);
    std::printf("# algbw = bytes / time, busbw = algbw * 2(p-1)/p (docs/ALLREDUCE.md)\n#\n");
    std::printf("# %10s %12s %5s %6s %-19s %10s %12s %12s %7s\n", "size", "count", "type", "redop",
                "algorithm", "time(us)", "algbw(GB/s)", "busbw(GB/s)", "#wrong");
    std::fflush(stdout);
  }
  int exit_code = 0;
  std::map<std::string, std::pair<double, int>> avg_busbw;
  uint64_t seed = 1;
  for (Dtype d : dtypes) {
    const int64_t es = static_cast<int64_t>(size_of(d));
    for (int64_t bytes = *begin; bytes <= *end;
         bytes = bytes > *end / a.factor ? *end + 1 : bytes * a.factor) {
      Problem p;
      p.count = std::max<int64_t>(1, bytes / es);
      p.dtype = d, p.op = op, p.in_place = a.in_place, p.transport = transport, p.ranks = w.ranks;
      if (p.bytes() > *end) continue;
      bool refill = true;
      ++seed;
      for (const std::string& algo : algos) {
        const Variant* v = Registry::instance().find(variant_name(transport, algo, d));
        if (!v) continue;  // e.g. mpi_allreduce on the threads transport
        Row row = bench.measure(*v, p, seed, refill);
        refill = false;
        double median = 0, algbw = 0, busbw = 0;
        profile::Measurement m;
        if (root) {
          m.name = v->name();
          m.device = "cpu:0";
          m.dtype = perfcal::to_string(d);
          m.threads = transport == Transport::threads ? w.ranks : 1;
          m.problem = {{"bytes", p.bytes()},  {"count", p.count},       {"ranks", p.ranks},
                       {"op", to_string(op)}, {"in_place", p.in_place}, {"seed", seed}};
          m.config = v->default_config(p);
          m.outcome = row.outcome;
          m.error = row.error;
          m.extra = {{"transport", to_string(transport)}, {"channel", channel}, {"ranks", w.ranks}, {"wrong", row.wrong}};
        }
        if (row.outcome == "passed" && !row.times.empty()) {
          const profile::TimeStats st = bench::time_stats(row.times);
          median = st.median;
          algbw = algbw_gbps(double(p.bytes()), median);
          busbw = busbw_gbps(algbw, w.ranks);
          if (root) {
            m.verified = true;
            m.max_rel_error = 0.0;
            m.time_s = st;
            m.noisy = st.cv > 0.05;
            m.gbps = algbw;
            m.extra["algbw_gbps"] = algbw;
            m.extra["busbw_gbps"] = busbw;
            m.extra["iters"] = row.iters;
            m.extra["warmup"] = a.warmup;
          }
          auto& avg = avg_busbw[algo];
          avg.first += busbw, avg.second += 1;
        } else {
          exit_code = 1;
        }
        if (root) {
          if (row.outcome == "passed")
            std::printf("  %10lld %12lld %5s %6s %-19s %10.2f %12.2f %12.2f %7lld\n",
                        (long long)p.bytes(), (long long)p.count, perfcal::to_string(d),
                        to_string(op), algo.c_str(), median * 1e6, algbw, busbw,
                        (long long)row.wrong);
          else
            std::printf("  %10lld %12lld %5s %6s %-19s %10s %12s %12s %7lld  %s%s%s\n",
                        (long long)p.bytes(), (long long)p.count, perfcal::to_string(d),
                        to_string(op), algo.c_str(), "-", "-", "-", (long long)row.wrong,
                        row.outcome.c_str(), row.error.empty() ? "" : ": ", row.error.c_str());
          std::fflush(stdout);
          prof.measurements.push_back(m);
        }
        if (row.outcome == "failed" || row.outcome == "timeout") {
          // A failed collective leaves the ranks out of step: record, then stop.
          if (root) {
            save();
            std::fprintf(stderr, "bench_allreduce: %s: %s\n", v->name().c_str(), row.error.c_str());
          }
          if (transport == Transport::mpi) return finish(1);
        }
      }
      if (!save()) return finish(2);
    }
  }
  if (root) {
    std::printf("#\n# avg busbw (GB/s):");
    for (const auto& [algo, s] : avg_busbw)
      std::printf("  %s %.2f", algo.c_str(), s.first / s.second);
    std::printf("\n");
    prof.partial = false;
    prof.finished = profile::utc_now();
    if (!save())
      exit_code = 2;
    else if (!a.out.empty())
      std::printf("# profile: %s (%zu measurements)\n", a.out.c_str(), prof.measurements.size());
  }
  if (transport == Transport::mpi) {
#ifdef PERFCAL_HAVE_MPI
    int code = exit_code;
    MPI_Allreduce(&exit_code, &code, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    exit_code = code;
    w.mpi_comm.reset();
    MPI_Finalize();
#endif
  }
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_allreduce: %s\n", e.what());
    return 2;
  }
}
