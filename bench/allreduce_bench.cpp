// All-reduce benchmarks for bench_all: every allreduce/threads/* registry variant (ring,
// recursive_doubling, rabenseifner, tree x f32/bf16/f64) x sizes x rank counts, op sum, out
// of place. The MPI transport needs mpirun: bench/programs/bench_allreduce runs it.
//
// Ranks: the session's --threads values above 1 (a 1-rank all-reduce is a copy), or 2.
// Sizes (bytes per rank): f32 8 B .. 256 MiB by x2; bf16 and f64 8 B .. 256 MiB by x4;
// --quick: f32 only at 8 B, 64 KiB, 1 MiB.
// Each Google Benchmark iteration runs `inner` calls inside one ThreadTeam::run (so the
// team's wake-up is amortised: inner = clamp(1 MiB / bytes, 1, 256)); Record::bytes is
// inner * bytes, so the reporter's GB/s is algbw. extra.algbw_gbps / busbw_gbps come from the
// median of this body's own per-repetition times (busbw = algbw * 2(p-1)/p, docs/ALLREDUCE.md).
// Verification before timing: crafted inputs (exact in every dtype), every rank checked
// against the float64 reference and byte-compared with rank 0.
// Run: build/bin/bench_all --filter 'allreduce/threads/ring/f32/'
#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>

#include "allreduce/allreduce.h"
#include "core/aligned_buffer.h"
#include "harness.h"

namespace perfcal::bench {
namespace {

using allreduce::Communicator;
using allreduce::Operands;
using allreduce::Problem;
using allreduce::ThreadTeam;
using ArVariant = allreduce::Variant;

std::vector<int64_t> sizes(Dtype d, bool quick) {
  if (quick)
    return d == Dtype::f32 ? std::vector<int64_t>{8, 64 << 10, 1 << 20} : std::vector<int64_t>{};
  std::vector<int64_t> v;
  const int64_t step = d == Dtype::f32 ? 2 : 4;
  for (int64_t b = 8; b <= (int64_t{256} << 20); b *= step) v.push_back(b);
  return v;
}

// One team per rank count, shared by every benchmark (threads start once).
ThreadTeam* team_of(int ranks) {
  static std::map<int, std::unique_ptr<ThreadTeam>> teams;
  auto& t = teams[ranks];
  if (!t && !ThreadTeam::create(ranks, &t).ok()) return nullptr;
  return t.get();
}

}  // namespace

void register_allreduce(Session& session) {
  std::vector<int> rank_counts;
  for (int t : session.options().threads)
    if (t > 1 && std::find(rank_counts.begin(), rank_counts.end(), t) == rank_counts.end())
      rank_counts.push_back(t);
  if (rank_counts.empty()) rank_counts.push_back(2);
  uint64_t seed = 7000;
  for (const auto& vptr : allreduce::Registry::instance().all()) {
    const ArVariant* v = vptr.get();
    if (v->info().backend != "threads") continue;
    const Dtype d = v->info().dtype;
    for (int64_t bytes : sizes(d, session.options().quick))
      for (int ranks : rank_counts) {
        Problem p;
        p.count = std::max<int64_t>(1, bytes / static_cast<int64_t>(size_of(d)));
        p.dtype = d, p.op = allreduce::Op::sum, p.transport = allreduce::Transport::threads,
        p.ranks = ranks;
        const int inner =
            static_cast<int>(std::clamp<int64_t>((int64_t{1} << 20) / p.bytes(), 1, 256));
        const uint64_t sd = seed++;
        Record rec;
        rec.name = v->name();
        rec.device = "cpu:0";
        rec.dtype = perfcal::to_string(d);
        rec.threads = ranks;
        rec.problem = {{"bytes", p.bytes()},
                       {"count", p.count},
                       {"ranks", ranks},
                       {"op", "sum"},
                       {"seed", sd}};
        const Json cfg = v->default_config(p);
        rec.config = cfg;
        rec.bytes = double(p.bytes()) * inner;
        rec.extra = {{"transport", "threads"}, {"ranks", ranks}, {"inner_calls", inner}};
        auto times = std::make_shared<std::vector<double>>();  // per repetition, seconds per call
        session.add(
            rec,
            [v, p, cfg, sd, inner, times](benchmark::State& st, Record& r) {
              Status s = v->can_implement(cfg, p);
              if (!s.ok()) return r.fail(st, s);
              ThreadTeam* team = team_of(p.ranks);
              if (!team) return r.fail(st, Status::Internal("cannot start the rank threads"));
              std::unique_ptr<ArVariant::Plan> plan;
              s = v->make_plan(p, cfg, &plan);
              if (!s.ok()) return r.fail(st, s);
              const std::size_t nbytes = static_cast<std::size_t>(p.bytes());
              std::vector<AlignedBuffer<unsigned char>> send(p.ranks), recv(p.ranks);
              for (int i = 0; i < p.ranks; ++i) {
                if (!send[i].reset(nbytes) || !recv[i].reset(nbytes))
                  return r.fail(st, Status::OutOfMemory("all-reduce buffers"));
                allreduce::fill_crafted(p.dtype, send[i].data(), p.count, i, p.ranks, sd);
              }
              auto ops = [&](Communicator& c) {
                return Operands{send[c.rank()].data(), recv[c.rank()].data(), &c};
              };
              s = team->run([&](Communicator& c) { return plan->run(ops(c)); });
              if (!s.ok()) return r.fail(st, s);
              int64_t wrong = 0;
              for (int i = 0; i < p.ranks; ++i) {
                wrong += allreduce::count_wrong_crafted(p, recv[i].data(), sd);
                if (std::memcmp(recv[i].data(), recv[0].data(), nbytes) != 0) ++wrong;
              }
              r.extra["wrong"] = wrong;
              r.verified = wrong == 0;
              r.max_rel_error = 0.0;
              if (wrong) {
                r.max_rel_error.reset();
                return r.fail(st, "incorrect",
                              std::to_string(wrong) + " elements differ from the reference");
              }
              r.outcome = "passed";
              const auto t0 = std::chrono::steady_clock::now();
              int64_t calls = 0;
              for (auto _ : st) {
                Status rs = team->run([&](Communicator& c) {
                  const Operands o = ops(c);
                  for (int i = 0; i < inner; ++i) PERFCAL_RETURN_IF_ERROR(plan->run(o));
                  return Status::Ok();
                });
                if (!rs.ok()) return r.fail(st, rs);
                calls += inner;
              }
              if (calls > 0) {
                times->push_back(
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() /
                    double(calls));
                const double algbw =
                    allreduce::algbw_gbps(double(p.bytes()), time_stats(*times).median);
                r.extra["algbw_gbps"] = algbw;
                r.extra["busbw_gbps"] = allreduce::busbw_gbps(algbw, p.ranks);
              }
            },
            tags_of(rec.problem));
      }
  }
}

static const FamilyRegistrar kFamily{"allreduce", &register_allreduce};

}  // namespace perfcal::bench
