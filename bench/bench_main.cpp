// bench_main: the whole benchmark program shared by bench_all and bench_<family>.
// Flags: --out FILE, --quick, --devices LIST, --filter REGEX, --threads LIST,
// --resume FILE, --repetitions N, --min-time S; Google Benchmark's own --benchmark_* flags
// pass through. Exit: 0 done, 2 bad input, 130/143 interrupted (profile marked partial).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <unistd.h>

#include "core/cpu_info.h"
#include "discovery.h"
#include "bench_args.h"
#include "harness.h"
#include "reporter.h"

namespace perfcal::bench {
namespace {

std::atomic<int> g_signal{0};
extern "C" void on_signal(int sig) { g_signal.store(sig); }

// A Google Benchmark filter selecting exactly the benchmarks `names` (it matches the full
// run name, which appends /min_time:../repeats:..).
std::string spec_of(const std::vector<std::string>& names) {
  std::string spec;
  for (const auto& name : names) {
    spec += spec.empty() ? "" : "|";
    for (char c : name) {
      if (std::string(".[]{}()*+?^$|\\").find(c) != std::string::npos) spec += '\\';
      spec += c;
    }
  }
  return "^(" + spec + ")(/|$)";
}

int fail(const std::string& program, const std::string& msg) {
  std::fprintf(stderr, "%s: %s\n", program.c_str(), msg.c_str());
  return 2;
}

std::string default_out() {
  char host[128] = {};
  gethostname(host, sizeof host - 1);
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d", &tm);
  return std::string("results/profiles/") + host + "-" + date + ".json";
}

// What must match for a resumed profile's results to be reused (issue 8): same machine,
// same library versions, same perfcal build.
std::string fingerprint(const profile::Json& host, const profile::Json& devices,
                        const profile::Json& software, const std::string& rev) {
  profile::Json f = {{"cpu", host["cpu"]["model"]}, {"features", host["cpu"]["features"]},
                     {"devices", devices}, {"software", software}, {"rev", rev}};
  return f.dump();
}

// Polls the running benchmark; past the limit it calls `fire` once (from its own thread).
class Watchdog {
 public:
  template <class Fire>
  Watchdog(double limit_s, Fire fire)
      : thread_([this, limit_s, fire] {
          std::unique_lock<std::mutex> lock(mu_);
          while (!cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_; })) {
            const std::string* name = running().name.load();
            if (!name) continue;
            auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::steady_clock::now().time_since_epoch()).count();
            double secs = double(now - running().start_ns.load()) * 1e-9;
            if (secs > limit_s) fire(*name, secs);
          }
        }) {}
  void stop() {
    {
      std::lock_guard<std::mutex> g(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  ~Watchdog() { stop(); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// A benchmark call ran past the limit. Its thread cannot be stopped safely, so: record the
// timeout in the profile (written atomically, still partial), then replace this process
// with a resumed run, which skips everything measured so far and the hung benchmark.
[[noreturn]] void on_timeout(const std::string& program, Session& session, profile::Profile& prof,
                             ProfileReporter& reporter, const std::string& out,
                             std::vector<std::string> args, const std::string& hung, double secs) {
  Record* r = session.find(hung);
  profile::Measurement m;
  m.name = r ? r->name : hung;
  m.device = r ? r->device : "cpu:0";
  m.dtype = r ? r->dtype : "none";
  m.threads = r ? r->threads : 1;
  if (r) {
    m.problem = r->problem;
    m.config = r->config;
  }
  m.outcome = "timeout";
  m.error = "one call ran " + std::to_string(static_cast<int>(secs)) + " s, past the time limit";
  m.extra["benchmark"] = hung;
  prof.measurements.push_back(m);
  std::string err = reporter.flush();
  std::fprintf(stderr, "%s: %s timed out after %.0f s; recorded, resuming after it\n", program.c_str(),
               hung.c_str(), secs);
  std::fflush(nullptr);
  if (!err.empty()) {
    std::fprintf(stderr, "%s: cannot write profile: %s\n", program.c_str(), err.c_str());
    std::_Exit(1);
  }
  // Drop an earlier --resume/--out pair, then resume from the profile just written.
  std::vector<std::string> next;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--resume" || a == "--out") { ++i; continue; }
    if (a.rfind("--resume=", 0) == 0 || a.rfind("--out=", 0) == 0) continue;
    next.push_back(a);
  }
  next.push_back("--resume");
  next.push_back(out);
  std::vector<char*> cargs;
  for (auto& a : next) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  execv("/proc/self/exe", cargs.data());
  std::fprintf(stderr, "%s: cannot restart after a timeout\n", program.c_str());
  std::_Exit(1);
}

}  // namespace

int bench_main(int argc, char** argv, const std::string& program, const std::string& only_family) {
  BenchArgs args;
  bool help = false;
  std::string perr = parse_bench_args(argc, argv, program, cpu_info().cores, &args, &help);
  if (help) {
    std::printf("%s", perr.c_str());
    return 0;
  }
  if (!perr.empty()) return fail(program, perr);
  // Each rank would shuffle the repetitions its own way, and ranks running different
  // benchmarks at once deadlock in their collectives.
  const bool shuffled = std::any_of(args.gb_args.begin(), args.gb_args.end(), [](const std::string& a) {
    return a.rfind("--benchmark_enable_random_interleaving", 0) == 0 &&
           a != "--benchmark_enable_random_interleaving=false";
  });
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    const char* n = std::getenv(v);
    if (shuffled && n && std::atoi(n) > 1)
      return fail(program, "--interleave cannot run under MPI (" + std::string(v) + "=" + n +
                               "): every rank would order the benchmarks differently");
  }
  Options& opts = args.opts;
  std::string& out = args.out;
  const std::string& resume = args.resume;
  const std::string& filter = args.filter;
  const std::vector<std::string>& gb_args = args.gb_args;
  const double time_limit = args.time_limit;

  profile::Json devices = devices_json();
  std::set<std::string> known;
  for (const auto& d : devices) known.insert(d["id"].get<std::string>());
  for (const auto& d : args.devices) {
    if (!known.count(d)) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      return fail(program, "unknown device \"" + d + "\" (this machine has: " + list + ")");
    }
    opts.devices.push_back(d);
  }

  profile::Profile prof;
  prof.created = profile::utc_now();
  prof.perfcal_version = "0.1.0";
  prof.git_revision = git_revision();
  prof.host = host_json();
  prof.devices = devices;
  prof.software = software_json();
  prof.environment = environment_json();
  for (int i = 0; i < argc; ++i) prof.command.push_back(argv[i]);
  std::set<std::string> already;
  if (!resume.empty()) {
    std::string err;
    auto old = profile::load(resume, &err);
    if (!old) return fail(program, "--resume: " + err);
    if (fingerprint(old->host, old->devices, old->software, old->git_revision) !=
        fingerprint(prof.host, prof.devices, prof.software, prof.git_revision))
      return fail(program, "--resume: " + resume +
                               " was measured on another machine, library versions or perfcal build; "
                               "refusing to mix results");
    prof.created = old->created;
    prof.measurements = old->measurements;
    prof.tuned = old->tuned;
    // Passed results are kept; so are timeouts, or a hang would be retried forever.
    for (const auto& m : old->measurements)
      if (m.outcome == "passed" || m.outcome == "timeout")
        already.insert(m.extra.value("benchmark", std::string()));
    if (out.empty()) out = resume;
  }
  if (out.empty()) out = default_out();
  std::error_code ec;
  auto parent = std::filesystem::path(out).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);

  Session session(opts);
  bool found = false;
  // Probes first: every later result's "% of peak" is computed against them.
  std::vector<Family> fams = families();
  std::stable_sort(fams.begin(), fams.end(),
                   [](const Family& a, const Family& b) { return a.name == "probe" && b.name != "probe"; });
  for (const auto& f : fams) {
    if (!only_family.empty() && f.name != only_family) continue;
    found = true;
    f.fn(session);
  }
  if (!found) return fail(program, "no benchmark family \"" + only_family + "\" is built in");

  // Build Google Benchmark's argv: our filter (minus what a resume already has).
  std::string gb_filter = filter.empty() ? "." : filter;
  std::vector<std::string> gb_argv = {argv[0]};
  int total = 0;
  std::vector<std::string> selected;  // what this run measures
  {
    bool neg = !filter.empty() && filter[0] == '-';
    std::regex re(filter.empty() ? "." : (neg ? filter.substr(1) : filter));
    std::string skip;
    for (const auto& n : session.names()) {
      bool match = std::regex_search(n, re) != neg;
      if (!match) continue;
      if (already.count(n)) {
        if (Record* r = session.find(n)) r->outcome = "interrupted";  // never re-reported
        continue;
      }
      selected.push_back(n);
      ++total;
    }
  }
  gb_argv.push_back("--benchmark_filter=" + gb_filter);
  for (const auto& a : gb_args) gb_argv.push_back(a);
  std::vector<char*> cargs;
  for (auto& a : gb_argv) cargs.push_back(a.data());
  int gb_argc = static_cast<int>(cargs.size());
  benchmark::Initialize(&gb_argc, cargs.data());
  if (benchmark::ReportUnrecognizedArguments(gb_argc, cargs.data())) return 2;
  benchmark::AddCustomContext("perfcal_git_revision", prof.git_revision);
  benchmark::AddCustomContext("perfcal_devices", devices.dump());

  // SIGINT/SIGTERM: finish the current measurement, skip the rest, write a partial profile.
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  std::printf("%s: %d benchmark(s); profile -> %s\n", program.c_str(), total, out.c_str());
  std::fflush(stdout);
  ProfileReporter reporter(&session, &prof, out, total);
  std::string err = reporter.flush();
  if (!err.empty()) return fail(program, "cannot write profile: " + err);
  std::vector<std::string> argv_copy(argv, argv + argc);
  Watchdog dog(time_limit, [&](const std::string& hung, double secs) {
    on_timeout(program, session, prof, reporter, out, argv_copy, hung, secs);
  });
  if (shuffled) {
    // The probes first, on their own: interleaved with the rest, results finished before
    // the probes would have no "% of peak" to compare with.
    std::vector<std::string> probes, rest;
    for (const auto& n : selected) (n.rfind("probe/", 0) == 0 ? probes : rest).push_back(n);
    for (const auto* part : {&probes, &rest})
      if (!part->empty() && !interrupted()) benchmark::RunSpecifiedBenchmarks(&reporter, spec_of(*part));
  } else {
    benchmark::RunSpecifiedBenchmarks(&reporter);
  }
  // Noise control (issue 8): a result whose spread is above the threshold is measured again,
  // up to --noise-retries times; the reporter replaces it each time, and one still noisy
  // after that keeps its "noisy" flag.
  for (int pass = 1; pass <= args.noise_retries && !interrupted(); ++pass) {
    std::vector<std::string> noisy;
    for (const auto& m : prof.measurements) {
      if (!m.noisy || m.outcome != "passed") continue;
      noisy.push_back(m.extra.value("benchmark", std::string()));
      if (Record* r = session.find(noisy.back())) r->extra["noise_retries"] = pass;
    }
    if (noisy.empty()) break;
    std::printf("re-measuring noisy results (pass %d of %d)\n", pass, args.noise_retries);
    benchmark::RunSpecifiedBenchmarks(&reporter, spec_of(noisy));
  }
  dog.stop();
  benchmark::Shutdown();

  int sig = g_signal.load();
  prof.partial = sig != 0;
  if (!prof.partial) prof.finished = profile::utc_now();
  profile::Json sj;
  std::string text = summary_text(prof, &sj);
  prof.summary = sj;
  err = reporter.flush();
  std::printf("%s", text.c_str());
  std::printf("\nprofile: %s (%zu measurements%s)\n", out.c_str(), prof.measurements.size(),
              prof.partial ? ", partial" : "");
  if (!err.empty()) return fail(program, "cannot write profile: " + err);
  if (sig) {
    std::fprintf(stderr, "%s: interrupted by signal %d; profile marked partial\n", program.c_str(), sig);
    return 128 + sig;
  }
  return 0;
}

bool interrupted() { return g_signal.load() != 0; }

}  // namespace perfcal::bench
