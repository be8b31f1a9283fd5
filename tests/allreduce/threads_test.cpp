// Threads transport: every registered allreduce/threads/* variant x op x ranks 1..5 x counts
// (0, 1, fewer than ranks, not divisible by ranks, larger) x in-place / out-of-place x
// aligned / misaligned, on crafted inputs whose results are exact in every dtype; every rank
// checked against the float64 reference and bit-identical to rank 0. Then random inputs
// (not exact: still bit-identical across ranks, within the rounding bound), small chunks for
// the tree's pipelining, and the faults: mismatched calls, a rank that leaves, a rank that
// never arrives, and recovery afterwards.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <thread>

#include "allreduce_testing.h"

namespace perfcal::allreduce {
namespace {

using testing::RankBuffers;

ThreadTeam& team(int ranks) {
  static std::map<int, std::unique_ptr<ThreadTeam>> teams;
  auto& t = teams[ranks];
  if (!t) {
    Status s = ThreadTeam::create(ranks, &t);
    if (!s.ok()) ADD_FAILURE() << s.message();
    t->set_timeout(20);
  }
  return *t;
}

std::vector<const Variant*> threads_variants() {
  std::vector<const Variant*> v;
  for (const auto& x : Registry::instance().all())
    if (x->info().backend == "threads") v.push_back(x.get());
  return v;
}

// Runs one case; returns "" or the first problem.
std::string run_case(const Variant& v, const Problem& p, const Json& cfg, int misalign,
                     uint64_t seed) {
  std::unique_ptr<Variant::Plan> plan;
  Status s = v.make_plan(p, cfg, &plan);
  if (!s.ok()) return "make_plan: " + s.message();
  std::vector<RankBuffers> bufs(p.ranks);
  for (int r = 0; r < p.ranks; ++r) bufs[r].init(p, r, misalign, seed);
  s = team(p.ranks).run([&](Communicator& c) { return plan->run(bufs[c.rank()].ops(&c)); });
  if (!s.ok()) return "run: " + s.message();
  for (int r = 0; r < p.ranks; ++r) {
    std::string e = bufs[r].check(p, r, seed);
    if (!e.empty()) return e;
    if (bufs[r].bytes && std::memcmp(bufs[r].recv, bufs[0].recv, bufs[r].bytes) != 0)
      return "rank " + std::to_string(r) + " differs from rank 0";
  }
  return "";
}

std::string describe(const Variant& v, const Problem& p, int misalign) {
  return v.name() + " ranks=" + std::to_string(p.ranks) + " count=" + std::to_string(p.count) +
         " op=" + to_string(p.op) + (p.in_place ? " in-place" : " out-of-place") +
         " misalign=" + std::to_string(misalign);
}

TEST(AllreduceThreads, RegistryHasEveryAlgorithmAndDtype) {
  for (const char* a : {"ring", "recursive_doubling", "rabenseifner", "tree"})
    for (Dtype d : {Dtype::f32, Dtype::bf16, Dtype::f64})
      EXPECT_NE(Registry::instance().find(variant_name(Transport::threads, a, d)), nullptr)
          << variant_name(Transport::threads, a, d);
  EXPECT_EQ(threads_variants().size(), 12u);
}

class EveryThreadsVariant : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryThreadsVariant, CraftedInputsExactOnEveryRank) {
  const Variant* v = Registry::instance().find(GetParam());
  ASSERT_NE(v, nullptr);
  uint64_t seed = 1;
  for (int ranks = 1; ranks <= 5; ++ranks)
    for (Op op : {Op::sum, Op::max, Op::min})
      for (int64_t count : {int64_t{0}, int64_t{1}, int64_t{ranks - 1}, int64_t{2 * ranks + 1},
                            int64_t{1000}, int64_t{4099}})
        for (bool in_place : {false, true})
          for (int misalign : {0, 1}) {
            Problem p;
            p.count = count, p.dtype = v->info().dtype, p.op = op, p.in_place = in_place;
            p.transport = Transport::threads, p.ranks = ranks;
            const std::string err = run_case(*v, p, v->default_config(p), misalign, seed++);
            ASSERT_EQ(err, "") << describe(*v, p, misalign);
          }
}

TEST_P(EveryThreadsVariant, SmallChunksAndOddCounts) {
  const Variant* v = Registry::instance().find(GetParam());
  ASSERT_NE(v, nullptr);
  // 64-byte chunks: the tree pipelines ~hundreds of segments; the others ignore chunking on
  // this transport but must accept the config.
  const Json cfg = {{"chunk_bytes", 64}, {"pipeline_depth", 3}};
  for (int ranks : {3, 4})
    for (int64_t count : {int64_t{3001}, int64_t{65537}}) {
      Problem p;
      p.count = count, p.dtype = v->info().dtype, p.ranks = ranks;
      ASSERT_EQ(run_case(*v, p, cfg, 3, 77), "") << describe(*v, p, 3);
    }
}

TEST_P(EveryThreadsVariant, RandomInputsBitIdenticalAcrossRanks) {
  const Variant* v = Registry::instance().find(GetParam());
  ASSERT_NE(v, nullptr);
  const Dtype d = v->info().dtype;
  for (int ranks : {2, 3, 4, 5})
    for (Op op : {Op::sum, Op::max}) {
      Problem p;
      p.count = 777, p.dtype = d, p.op = op, p.ranks = ranks;
      std::unique_ptr<Variant::Plan> plan;
      ASSERT_TRUE(v->make_plan(p, v->default_config(p), &plan).ok());
      const std::size_t es = size_of(d), bytes = p.count * es;
      std::vector<std::vector<unsigned char>> in(ranks, std::vector<unsigned char>(bytes)),
          out(ranks, std::vector<unsigned char>(bytes));
      std::mt19937 rng(ranks * 10 + static_cast<int>(op));
      std::uniform_real_distribution<double> u(-1, 1);
      for (int r = 0; r < ranks; ++r)
        for (int64_t i = 0; i < p.count; ++i) {
          const double x = u(rng);
          if (d == Dtype::f64)
            reinterpret_cast<double*>(in[r].data())[i] = x;
          else if (d == Dtype::f32)
            reinterpret_cast<float*>(in[r].data())[i] = float(x);
          else
            reinterpret_cast<uint16_t*>(in[r].data())[i] = float_to_bf16(float(x));
        }
      ASSERT_TRUE(team(ranks)
                      .run([&](Communicator& c) {
                        return plan->run({in[c.rank()].data(), out[c.rank()].data(), &c});
                      })
                      .ok());
      std::vector<const void*> ins;
      for (auto& x : in) ins.push_back(x.data());
      std::vector<double> ref(p.count);
      reference(p, ins, ref.data());
      // Each pairwise step rounds once: (ranks - 1) roundings of at most half an ulp of a
      // value bounded by sum |x| <= ranks.
      const double eps = d == Dtype::f64 ? 0x1p-53 : d == Dtype::f32 ? 0x1p-24 : 0x1p-8;
      for (int r = 0; r < ranks; ++r) {
        ASSERT_EQ(std::memcmp(out[r].data(), out[0].data(), bytes), 0)
            << v->name() << " rank " << r;
        for (int64_t i = 0; i < p.count; ++i)
          ASSERT_LE(std::abs(load(d, out[r].data(), i) - ref[i]),
                    (ranks - 1) * ranks * eps * 1.0001)
              << v->name() << " i=" << i;
      }
    }
}

std::vector<std::string> names() {
  std::vector<std::string> n;
  for (const Variant* v : threads_variants()) n.push_back(v->name());
  return n;
}

INSTANTIATE_TEST_SUITE_P(Registry, EveryThreadsVariant, ::testing::ValuesIn(names()),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                           std::string s = i.param;
                           for (char& c : s)
                             if (c == '/') c = '_';
                           return s;
                         });

// The checker itself must reject wrong results ("test the tester", CONVENTIONS 11).
TEST(AllreduceChecker, RejectsWrongResults) {
  Problem p;
  p.count = 100, p.ranks = 3;
  std::vector<float> got(100);
  for (int64_t i = 0; i < 100; ++i) got[i] = float(crafted_reference(p, i, 5));
  EXPECT_EQ(count_wrong_crafted(p, got.data(), 5), 0);
  got[37] += 1;
  EXPECT_EQ(count_wrong_crafted(p, got.data(), 5), 1);
  // A reduce-scatter alone (a plausible bug: the all-gather forgotten) leaves most blocks
  // partial; the crafted inputs are never all equal, so that shows.
  for (int64_t i = 0; i < 100; ++i) got[i] = float(crafted_value(i, 0, 3, 5));
  EXPECT_GT(count_wrong_crafted(p, got.data(), 5), 50);
}

TEST(AllreduceChecker, CraftedInputsStayExactInBf16) {
  for (int ranks : {1, 2, 5, 32, 64, 256}) {
    Problem p;
    p.ranks = ranks;
    double worst = 0;
    bool nonzero = false;
    for (int64_t i = 0; i < 2000; ++i) {
      double partial = 0;
      for (int r = 0; r < ranks; ++r) {
        const double v = crafted_value(i, r, ranks, 9);
        nonzero |= v != 0;
        partial += v;
        worst = std::max(worst, std::abs(partial));
      }
    }
    EXPECT_LE(worst, 256) << ranks;  // integers up to 256 are exact in bf16
    EXPECT_TRUE(nonzero);
  }
}

TEST(AllreduceBandwidth, FormulasAsDocumented) {
  EXPECT_DOUBLE_EQ(algbw_gbps(2e9, 1.0), 2.0);
  EXPECT_DOUBLE_EQ(busbw_gbps(10, 2), 10.0);  // 2(p-1)/p = 1
  EXPECT_DOUBLE_EQ(busbw_gbps(10, 4), 15.0);  // 2 * 3 / 4
  EXPECT_DOUBLE_EQ(busbw_gbps(10, 1), 0.0);   // nothing crosses a link
}

TEST(AllreduceConfig, CanImplementStatesEveryConstraint) {
  const Variant* v = Registry::instance().find("allreduce/threads/ring/f32");
  ASSERT_NE(v, nullptr);
  Problem p;
  p.count = 10, p.ranks = 2;
  EXPECT_TRUE(v->can_implement(v->default_config(p), p).ok());
  auto code = [&](const Json& cfg, const Problem& q) { return v->can_implement(cfg, q).code(); };
  EXPECT_EQ(code({{"chunk_bytes", 0}}, p), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({{"chunk_bytes", 100}}, p), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({{"chunk_bytes", int64_t{2} << 30}}, p), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({{"pipeline_depth", 0}}, p), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({{"pipeline_depth", 17}}, p), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({{"chunk_size", 64}}, p), StatusCode::kInvalidArgument);  // typo: unknown field
  EXPECT_EQ(code(Json::array(), p), StatusCode::kInvalidArgument);
  Problem q = p;
  q.count = -1;
  EXPECT_EQ(code(Json::object(), q), StatusCode::kInvalidArgument);
  q = p, q.ranks = 0;
  EXPECT_EQ(code(Json::object(), q), StatusCode::kInvalidArgument);
  q = p, q.ranks = 257;
  EXPECT_EQ(code(Json::object(), q), StatusCode::kUnsupported);
  q = p, q.count = int64_t{1} << 62;
  EXPECT_EQ(code(Json::object(), q), StatusCode::kInvalidArgument);
  q = p, q.transport = Transport::mpi;
  EXPECT_EQ(code(Json::object(), q), StatusCode::kInvalidArgument);
  q = p, q.dtype = Dtype::bf16;
  EXPECT_EQ(code(Json::object(), q), StatusCode::kInvalidArgument);
  Config c;
  Problem f16 = p;
  f16.dtype = Dtype::f16;
  EXPECT_EQ(can_implement(c, f16, "ring").code(), StatusCode::kUnsupported);
  EXPECT_EQ(can_implement(c, p, "mpi_allreduce").code(), StatusCode::kUnsupported);
  // Round trip of the config through JSON.
  Config back;
  ASSERT_TRUE(parse_config(Json(Config{4096, 3}), &back).ok());
  EXPECT_EQ(back.chunk_bytes, 4096);
  EXPECT_EQ(back.pipeline_depth, 3);
}

TEST(AllreducePlan, RejectsBadOperands) {
  const Variant* v = Registry::instance().find("allreduce/threads/ring/f32");
  Problem p;
  p.count = 8, p.ranks = 2;
  std::unique_ptr<Variant::Plan> plan;
  ASSERT_TRUE(v->make_plan(p, v->default_config(p), &plan).ok());
  EXPECT_EQ(plan->run({nullptr, nullptr, nullptr}).code(), StatusCode::kInvalidArgument);
  std::vector<float> a(16);
  Status s = team(3).run([&](Communicator& c) { return plan->run({a.data(), a.data() + 8, &c}); });
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);  // 3-rank team, 2-rank problem
  s = team(2).run([&](Communicator& c) { return plan->run({a.data(), a.data() + 4, &c}); });
  EXPECT_NE(s.message().find("overlap"), std::string::npos) << s.message();
}

// --- faults --------------------------------------------------------------------------------

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(AllreduceFaults, MismatchedCountsAreReportedOnEveryRank) {
  auto make = [](int64_t count, Dtype d) {
    const Variant* v = Registry::instance().find(variant_name(Transport::threads, "ring", d));
    Problem p;
    p.count = count, p.dtype = d, p.ranks = 2;
    std::unique_ptr<Variant::Plan> plan;
    EXPECT_TRUE(v->make_plan(p, v->default_config(p), &plan).ok());
    return plan;
  };
  auto p100 = make(100, Dtype::f32), p101 = make(101, Dtype::f32), pbf = make(100, Dtype::bf16);
  std::vector<double> a(256), b(256), c(256), d(256);
  for (auto* other : {&p101, &pbf}) {
    const auto t0 = std::chrono::steady_clock::now();
    Status s = team(2).run([&](Communicator& comm) {
      return comm.rank() == 0 ? p100->run({a.data(), b.data(), &comm})
                              : (*other)->run({c.data(), d.data(), &comm});
    });
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("mismatched"), std::string::npos) << s.message();
    for (const Status& r : team(2).statuses()) EXPECT_FALSE(r.ok());
    EXPECT_LT(seconds_since(t0), 5.0);
  }
}

TEST(AllreduceFaults, RankThatLeavesFailsTheOthersAtOnce) {
  const Variant* v = Registry::instance().find("allreduce/threads/ring/f32");
  Problem p;
  p.count = 1000, p.ranks = 3;
  std::unique_ptr<Variant::Plan> plan;
  ASSERT_TRUE(v->make_plan(p, v->default_config(p), &plan).ok());
  std::vector<RankBuffers> bufs(3);
  for (int r = 0; r < 3; ++r) bufs[r].init(p, r, 0, 1);
  const auto t0 = std::chrono::steady_clock::now();
  Status s = team(3).run([&](Communicator& c) {
    if (c.rank() == 2) return Status::Ok();  // never calls
    return plan->run(bufs[c.rank()].ops(&c));
  });
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("already returned"), std::string::npos) << s.message();
  EXPECT_LT(seconds_since(t0), 5.0);
}

TEST(AllreduceFaults, RankThatNeverArrivesTimesOutThenTeamRecovers) {
  std::unique_ptr<ThreadTeam> t;
  ASSERT_TRUE(ThreadTeam::create(2, &t).ok());
  t->set_timeout(0.2);
  const Variant* v = Registry::instance().find("allreduce/threads/recursive_doubling/f64");
  Problem p;
  p.count = 64, p.dtype = Dtype::f64, p.ranks = 2;
  std::unique_ptr<Variant::Plan> plan;
  ASSERT_TRUE(v->make_plan(p, v->default_config(p), &plan).ok());
  std::vector<RankBuffers> bufs(2);
  for (int r = 0; r < 2; ++r) bufs[r].init(p, r, 0, 3);
  Status s = t->run([&](Communicator& c) {
    if (c.rank() == 1) std::this_thread::sleep_for(std::chrono::milliseconds(600));  // late
    return plan->run(bufs[c.rank()].ops(&c));
  });
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("timed out"), std::string::npos) << s.message();
  // A failed run leaves no stale state: the next one is correct.
  for (int r = 0; r < 2; ++r) bufs[r].init(p, r, 0, 4);
  s = t->run([&](Communicator& c) { return plan->run(bufs[c.rank()].ops(&c)); });
  ASSERT_TRUE(s.ok()) << s.message();
  for (int r = 0; r < 2; ++r) EXPECT_EQ(bufs[r].check(p, r, 4), "");
}

TEST(AllreduceFaults, FailureOnOneRankAbortsTheOthers) {
  const auto t0 = std::chrono::steady_clock::now();
  Status s = team(4).run([&](Communicator& c) {
    if (c.rank() == 3) return Status::Internal("injected");
    return c.barrier();
  });
  EXPECT_EQ(s.message(), "injected");
  EXPECT_LT(seconds_since(t0), 5.0);
}

}  // namespace
}  // namespace perfcal::allreduce
