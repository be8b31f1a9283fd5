// Crash-safe, resumable runs (issue 8): kill bench_all with SIGINT and SIGKILL mid-run, check
// that the profile on disk validates, and that --resume completes it without re-measuring;
// a hung benchmark becomes a recorded timeout and the run goes on.
#include <gtest/gtest.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <set>
#include <sstream>
#include <vector>
#include <thread>

#include "profile/profile.h"
#include "test_util.h"

namespace perfcal {
namespace {

// Starts bench_all on the selftest family (6 x 3 repetitions x 150 ms = ~2.7 s of sleeps).
pid_t start_selftest(const std::string& out, bool interleave = false) {
  pid_t pid = fork();
  if (pid == 0) {
    setenv("PERFCAL_SELFTEST", "1", 1);
    setenv("PERFCAL_SELFTEST_SLEEP_MS", "150", 1);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    std::string b = test::bin("bench_all");
    execl(b.c_str(), b.c_str(), "--filter", "selftest/cpu/sleep", "--repetitions", "3", "--min-time",
          "0.01", "--threads", "1", "--out", out.c_str(), interleave ? "--interleave" : (char*)nullptr,
          (char*)nullptr);
    _exit(127);
  }
  return pid;
}

int wait_code(pid_t pid) {
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

std::map<std::string, double> medians(const profile::Profile& p) {
  std::map<std::string, double> m;
  for (const auto& x : p.measurements)
    if (x.time_s) m[x.extra.value("benchmark", std::string())] = x.time_s->median;
  return m;
}

void interrupt_then_resume(int sig, int expect_code) {
  std::string out = test::temp_path("sig" + std::to_string(sig) + ".json");
  pid_t pid = start_selftest(out);
  std::this_thread::sleep_for(std::chrono::milliseconds(1400));
  kill(pid, sig);
  EXPECT_EQ(wait_code(pid), expect_code);

  std::string err;
  auto partial = profile::load(out, &err);  // validates: schema + semantic rules
  ASSERT_TRUE(partial) << err;
  EXPECT_TRUE(partial->partial);
  auto before = medians(*partial);
  EXPECT_GE(before.size(), 1u) << "nothing was saved before the signal";
  EXPECT_LT(before.size(), 6u) << "the signal came too late to test anything";

  auto r = test::run("PERFCAL_SELFTEST=1 PERFCAL_SELFTEST_SLEEP_MS=150 " + test::bin("bench_all") +
                     " --filter selftest/cpu/sleep --repetitions 3 --min-time 0.01 --threads 1 --resume " + out);
  ASSERT_EQ(r.code, 0) << r.output;
  auto done = profile::load(out, &err);
  ASSERT_TRUE(done) << err;
  EXPECT_FALSE(done->partial);
  auto after = medians(*done);
  EXPECT_EQ(after.size(), 6u);
  for (const auto& [name, t] : before) EXPECT_EQ(after[name], t) << name << " was re-measured";
  std::remove(out.c_str());
}

TEST(Reliability, SigintLeavesPartialProfileAndResumeCompletesIt) { interrupt_then_resume(SIGINT, 130); }

TEST(Reliability, SigtermExits143) {
  std::string out = test::temp_path("term.json");
  pid_t pid = start_selftest(out);
  std::this_thread::sleep_for(std::chrono::milliseconds(1400));
  kill(pid, SIGTERM);
  EXPECT_EQ(wait_code(pid), 143);
  std::string err;
  EXPECT_TRUE(profile::load(out, &err)) << err;
  std::remove(out.c_str());
}

TEST(Reliability, SigkillLeavesValidProfileAndResumeCompletesIt) { interrupt_then_resume(SIGKILL, 137); }

TEST(Reliability, HangBecomesRecordedTimeoutAndRunGoesOn) {
  std::string out = test::temp_path("hang.json");
  auto r = test::run("PERFCAL_SELFTEST=1 PERFCAL_SELFTEST_SLEEP_MS=10 " + test::bin("bench_all") +
                     " --filter selftest --repetitions 1 --min-time 0.01 --threads 1 --time-limit 1 --out " + out);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("timed out"), std::string::npos) << r.output;
  std::string err;
  auto p = profile::load(out, &err);
  ASSERT_TRUE(p) << err;
  EXPECT_FALSE(p->partial);
  int timeouts = 0, passed = 0;
  for (const auto& m : p->measurements) {
    if (m.name == "selftest/cpu/hang/none") {
      EXPECT_EQ(m.outcome, "timeout");
      ++timeouts;
    }
    if (m.name == "selftest/cpu/sleep/none" && m.outcome == "passed") ++passed;
  }
  EXPECT_EQ(timeouts, 1);
  EXPECT_EQ(passed, 6);
  std::remove(out.c_str());
}

TEST(Reliability, ResumeRefusesAnotherMachinesProfile) {
  std::string out = test::temp_path("other.json");
  auto r = test::run("PERFCAL_SELFTEST=1 " + test::bin("bench_all") +
                     " --filter selftest/cpu/sleep --repetitions 1 --min-time 0.01 --threads 1 --out " + out);
  ASSERT_EQ(r.code, 0) << r.output;
  auto j = nlohmann::json::parse(test::read_file(out));
  j["host"]["cpu"]["model"] = "Some Other CPU";
  test::write_file(out, j.dump());
  r = test::run(test::bin("bench_all") + " --resume " + out);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("another machine"), std::string::npos) << r.output;
  std::remove(out.c_str());
}

// The order in which the selftest benchmarks ran, one index per call (PERFCAL_SELFTEST_LOG).
std::vector<int> call_order(bool interleave, const std::string& out, int* code) {
  const std::string log = test::temp_path(interleave ? "order_i.log" : "order_s.log");
  std::remove(log.c_str());
  auto r = test::run("PERFCAL_SELFTEST=1 PERFCAL_SELFTEST_SLEEP_MS=10 PERFCAL_SELFTEST_LOG=" + log +
                     " " + test::bin("bench_all") +
                     " --filter selftest/cpu/sleep --repetitions 3 --min-time 0.005 --threads 1" +
                     // A noisy result re-measured at the end would break the grouping.
                     " --noise-retries 0" +
                     (interleave ? " --interleave" : "") + " --out " + out);
  *code = r.code;
  EXPECT_EQ(r.code, 0) << r.output;
  std::vector<int> order;
  std::istringstream in(test::read_file(log));
  for (int i; in >> i;) order.push_back(i);
  std::remove(log.c_str());
  return order;
}

// Whether every benchmark's calls form one unbroken run in `order`.
bool grouped(const std::vector<int>& order) {
  std::set<int> finished;
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (finished.count(order[i])) return false;
    if (i + 1 < order.size() && order[i + 1] != order[i]) finished.insert(order[i]);
  }
  return true;
}

// --interleave: the repetitions of different benchmarks alternate (a sequential run does
// not), and every benchmark still gets all of its repetitions in the profile. A random
// order of 6 x 3 calls is grouped with probability 6! 3!^6 / 18! ~ 5e-9.
TEST(Reliability, InterleaveSpreadsEachBenchmarksRepetitionsOverTheRun) {
  std::string out = test::temp_path("interleave.json");
  int code = 0;
  const auto sequential = call_order(false, out, &code);
  EXPECT_GE(sequential.size(), 18u);
  EXPECT_TRUE(grouped(sequential)) << "a sequential run interleaved";
  const auto shuffled = call_order(true, out, &code);
  ASSERT_EQ(code, 0);
  EXPECT_GE(shuffled.size(), 18u);
  EXPECT_FALSE(grouped(shuffled)) << "--interleave ran each benchmark's repetitions together";
  std::string err;
  auto p = profile::load(out, &err);
  ASSERT_TRUE(p) << err;
  int passed = 0;
  for (const auto& m : p->measurements) {
    if (m.outcome != "passed") continue;
    ++passed;
    ASSERT_TRUE(m.time_s);
    EXPECT_EQ(m.time_s->repetitions, 3) << m.extra.dump();
  }
  EXPECT_EQ(passed, 6);
  std::remove(out.c_str());
}

// A signal during an interleaved run: the benchmarks already begun finish their repetitions
// (Google Benchmark aborts on a benchmark with skipped ones), the rest are skipped, and the
// partial profile validates.
TEST(Reliability, SigintDuringInterleavedRunLeavesValidPartialProfile) {
  std::string out = test::temp_path("sig_interleave.json");
  pid_t pid = start_selftest(out, /*interleave=*/true);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  kill(pid, SIGINT);
  EXPECT_EQ(wait_code(pid), 130);
  std::string err;
  auto p = profile::load(out, &err);
  ASSERT_TRUE(p) << err;
  EXPECT_TRUE(p->partial);
  for (const auto& m : p->measurements)
    if (m.time_s) EXPECT_EQ(m.time_s->repetitions, 3) << m.extra.dump();
  std::remove(out.c_str());
}

TEST(Reliability, InterleaveIsRefusedUnderMpi) {
  auto r = test::run("OMPI_COMM_WORLD_SIZE=2 PERFCAL_SELFTEST=1 " + test::bin("bench_all") +
                     " --filter selftest/cpu/sleep --interleave --out " + test::temp_path("mpi.json"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("cannot run under MPI"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace perfcal
