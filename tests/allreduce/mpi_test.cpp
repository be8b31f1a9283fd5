// MPI transport, run by ctest under `mpirun -np 2|3|4` (tests/allreduce/CMakeLists.txt):
// every registered allreduce/mpi/* variant (ring, recursive_doubling, rabenseifner, tree and
// the MPI_Allreduce baseline) x op x counts (0, 1, fewer than ranks, not divisible by
// ranks, larger, multi-segment) x in-place / out-of-place x aligned / misaligned, crafted
// inputs checked on every rank and every rank's bytes equal to rank 0's. MpiFault*: calls
// that disagree across ranks and a rank that arrives late end in errors on every rank.
//
// Each rank runs the same GoogleTest program; only rank 0 prints, and a test fails on every
// rank when it fails on any (the failure flag is reduced), so mpirun's exit code is right.
#include <gtest/gtest.h>
#include <mpi.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "allreduce_testing.h"

namespace perfcal::allreduce {
namespace {

using testing::RankBuffers;

int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}
int world_size() {
  int s = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

// True on every rank when `ok` holds on every rank.
bool all_ok(bool ok) {
  int in = ok ? 1 : 0, out = 0;
  MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return out == 1;
}

std::unique_ptr<Communicator> make_comm(double timeout_s = 30) {
  std::unique_ptr<Communicator> c;
  Status s = mpi_world_communicator(&c);
  if (!s.ok()) ADD_FAILURE() << s.message();
  c->set_timeout(timeout_s);
  return c;
}

// "" or this rank's first problem.
std::string run_case(const Variant& v, const Problem& p, const Json& cfg, int misalign,
                     uint64_t seed, Communicator& comm) {
  std::unique_ptr<Variant::Plan> plan;
  Status s = v.make_plan(p, cfg, &plan);
  if (!s.ok()) return "make_plan: " + s.message();
  RankBuffers b;
  b.init(p, comm.rank(), misalign, seed);
  s = plan->run(b.ops(&comm));
  if (!s.ok()) return "run: " + s.message();
  std::string e = b.check(p, comm.rank(), seed);
  if (!e.empty()) return e;
  // Bit-identical: rank 0's bytes against everyone's.
  std::vector<unsigned char> root(b.bytes);
  if (comm.rank() == 0 && b.bytes) std::memcpy(root.data(), b.recv, b.bytes);
  if (b.bytes) MPI_Bcast(root.data(), static_cast<int>(b.bytes), MPI_BYTE, 0, MPI_COMM_WORLD);
  if (b.bytes && std::memcmp(root.data(), b.recv, b.bytes) != 0)
    return "rank " + std::to_string(comm.rank()) + " differs from rank 0";
  return "";
}

std::vector<const Variant*> mpi_variants() {
  std::vector<const Variant*> v;
  for (const auto& x : Registry::instance().all())
    if (x->info().backend == "mpi") v.push_back(x.get());
  return v;
}

TEST(MpiAllreduce, RegistryHasEveryAlgorithmAndTheBaseline) {
  for (const char* a : {"ring", "recursive_doubling", "rabenseifner", "tree", "mpi_allreduce"})
    for (Dtype d : {Dtype::f32, Dtype::bf16, Dtype::f64})
      EXPECT_NE(Registry::instance().find(variant_name(Transport::mpi, a, d)), nullptr);
  EXPECT_TRUE(Registry::instance().find("allreduce/mpi/mpi_allreduce/f32")->info().baseline);
}

// ctest runs every case twice: ranks on one node use the shared-memory window, and with
// PERFCAL_MPI_SHM=0 point-to-point messages; make sure each run exercises the path it names.
TEST(MpiAllreduce, ChannelIsTheOneRequested) {
  auto comm = make_comm();
  const char* env = std::getenv("PERFCAL_MPI_SHM");
  const bool p2p = world_size() == 1 || (env && std::string(env) == "0");
  EXPECT_STREQ(comm->channel(), p2p ? "MPI point-to-point" : "MPI-3 shared-memory window");
}

TEST(MpiAllreduce, EveryVariantCraftedInputsExactOnEveryRank) {
  auto comm = make_comm();
  const int p = world_size();
  uint64_t seed = 100;
  for (const Variant* v : mpi_variants())
    for (Op op : {Op::sum, Op::max, Op::min})
      for (int64_t count :
           {int64_t{0}, int64_t{1}, int64_t{p - 1}, int64_t{2 * p + 1}, int64_t{4099}})
        for (bool in_place : {false, true})
          for (int misalign : {0, 1}) {
            Problem pr;
            pr.count = count, pr.dtype = v->info().dtype, pr.op = op, pr.in_place = in_place;
            pr.transport = Transport::mpi, pr.ranks = p;
            const std::string e = run_case(*v, pr, v->default_config(pr), misalign, seed++, *comm);
            ASSERT_TRUE(all_ok(e.empty()))
                << v->name() << " count=" << count << " op=" << to_string(op)
                << (in_place ? " in-place" : "") << " misalign=" << misalign << ": "
                << (e.empty() ? "failed on another rank" : e);
          }
}

TEST(MpiAllreduce, SegmentedAndPipelinedMessages) {
  auto comm = make_comm();
  // 256-byte chunks, 1..4 in flight: many segments per step, the staging ring wraps, and the
  // aliased exchange of recursive doubling waits for its sends.
  for (const Variant* v : mpi_variants())
    for (int depth : {1, 4}) {
      const Json cfg = {{"chunk_bytes", 256}, {"pipeline_depth", depth}};
      Problem pr;
      pr.count = 10007, pr.dtype = v->info().dtype, pr.transport = Transport::mpi,
      pr.ranks = world_size();
      const std::string e = run_case(*v, pr, cfg, 1, 7 + depth, *comm);
      ASSERT_TRUE(all_ok(e.empty())) << v->name() << " depth=" << depth << ": " << e;
    }
  // A large vector with the default config (several 512 KiB segments per block).
  const Variant* ring = Registry::instance().find("allreduce/mpi/ring/f32");
  Problem pr;
  pr.count = 3 << 20, pr.transport = Transport::mpi, pr.ranks = world_size();
  const std::string e = run_case(*ring, pr, ring->default_config(pr), 0, 99, *comm);
  ASSERT_TRUE(all_ok(e.empty())) << e;
}

// --- faults (np 2) -------------------------------------------------------------------------

TEST(MpiFault, MismatchedCountsAreReportedNotReduced) {
  auto comm = make_comm(3);
  const Variant* v = Registry::instance().find("allreduce/mpi/ring/f32");
  Problem pr;
  pr.count = comm->rank() == 0 ? 1000 : 1001;  // disagree
  pr.transport = Transport::mpi, pr.ranks = world_size();
  std::unique_ptr<Variant::Plan> plan;
  ASSERT_TRUE(v->make_plan(pr, v->default_config(pr), &plan).ok());
  RankBuffers b;
  b.init(pr, comm->rank(), 0, 1);
  const auto t0 = std::chrono::steady_clock::now();
  Status s = plan->run(b.ops(comm.get()));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_FALSE(s.ok()) << "rank " << comm->rank();
  EXPECT_TRUE(s.message().find("mismatched") != std::string::npos ||
              s.message().find("bytes") != std::string::npos ||
              s.message().find("timed out") != std::string::npos)
      << s.message();
  EXPECT_LT(secs, 10.0);
  // The communicator refuses further calls after a failure.
  EXPECT_FALSE(plan->run(b.ops(comm.get())).ok());
  MPI_Barrier(MPI_COMM_WORLD);
}

TEST(MpiFault, MismatchedDtypesAreReported) {
  auto comm = make_comm(3);
  const Dtype d =
      comm->rank() == 0 ? Dtype::f32 : Dtype::bf16;  // same byte count per element? no: 4 vs 2
  const Variant* v =
      Registry::instance().find(variant_name(Transport::mpi, "recursive_doubling", d));
  Problem pr;
  pr.count = 64, pr.dtype = d, pr.transport = Transport::mpi, pr.ranks = world_size();
  std::unique_ptr<Variant::Plan> plan;
  ASSERT_TRUE(v->make_plan(pr, v->default_config(pr), &plan).ok());
  RankBuffers b;
  b.init(pr, comm->rank(), 0, 1);
  Status s = plan->run(b.ops(comm.get()));
  EXPECT_FALSE(s.ok());
  MPI_Barrier(MPI_COMM_WORLD);
}

TEST(MpiFault, LateRankTimesOutOnTheOthers) {
  auto comm = make_comm(0.5);
  const Variant* v = Registry::instance().find("allreduce/mpi/rabenseifner/f64");
  Problem pr;
  pr.count = 4096, pr.dtype = Dtype::f64, pr.transport = Transport::mpi, pr.ranks = world_size();
  std::unique_ptr<Variant::Plan> plan;
  ASSERT_TRUE(v->make_plan(pr, v->default_config(pr), &plan).ok());
  RankBuffers b;
  b.init(pr, comm->rank(), 0, 1);
  if (comm->rank() == 1) {
    std::this_thread::sleep_for(
        std::chrono::milliseconds(1500));  // arrives after the others gave up
    MPI_Barrier(MPI_COMM_WORLD);
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  Status s = plan->run(b.ops(comm.get()));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("timed out"), std::string::npos) << s.message();
  EXPECT_LT(secs, 5.0);
  MPI_Barrier(MPI_COMM_WORLD);
}

}  // namespace
}  // namespace perfcal::allreduce

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  ::testing::InitGoogleTest(&argc, argv);
  if (perfcal::allreduce::world_rank() != 0) {
    // One report: rank 0's. The others still fail the run through their exit code.
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int failed = RUN_ALL_TESTS() != 0 ? 1 : 0, any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return any;
}
