// Fuzzes the tuning cache reader (tuner/cache.h): the input is a cache file's content.
// Each line goes through parse_cache_line (pure); a line it accepts must survive the
// writer's format unchanged. Then the whole content is written to a file in a private temp
// directory and opened with Cache::open, which must load it or set it aside with one error
// line; an accepted cache takes one more appended line and reopens with it. The directory is
// made for each input and removed with everything in it before the next.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "harness.h"
#include "tuner/cache.h"

// bench/harness.cpp (compiled in for the statistics) refers to the benchmark programs'
// signal flag, which lives in bench_main.cpp with all the families; nothing here installs a
// signal handler, so the run is never interrupted.
bool perfcal::bench::interrupted() { return false; }

using namespace perfcal::tuner;
namespace fs = std::filesystem;

namespace {

// A private directory per input, removed before returning: libFuzzer ends a timed run with
// _Exit, so nothing registered with atexit would run.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "perfcal-fuzz-cache-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) __builtin_trap();
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string line_of(const CacheKey& k, const Evaluation& e) {
  Json j = evaluation_to_json(e);
  j["key"] = k.to_json();
  return j.dump();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::stringstream lines(text);
  std::string line;
  CacheKey last_key;
  Evaluation last_eval;
  bool have_one = false;
  while (std::getline(lines, line)) {
    CacheKey k;
    Evaluation e;
    if (!parse_cache_line(line, &k, &e).empty()) continue;
    // What the writer makes of an accepted line reads back as the same entry.
    const std::string written = line_of(k, e);
    CacheKey k2;
    Evaluation e2;
    if (!parse_cache_line(written, &k2, &e2).empty()) __builtin_trap();
    if (k2.str() != k.str() || e2.outcome != e.outcome || e2.times_s != e.times_s ||
        e2.is_default != e.is_default || !(e2.median_s == e.median_s))
      __builtin_trap();
    last_key = k;
    last_eval = e;
    have_one = true;
  }

  const TempDir dir;
  const fs::path path = dir.path / "cache.jsonl";
  {
    std::ofstream out(path, std::ios::binary);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  Cache cache;
  perfcal::Status s = cache.open(path.string());
  if (s.ok()) {
    if (have_one && !cache.find(last_key)) __builtin_trap();
    // Append one more (a key of its own) and reopen: the file must still parse.
    CacheKey extra = have_one ? last_key : CacheKey{};
    extra.variant += "/appended";
    if (!cache.append(extra, have_one ? last_eval : Evaluation{}).ok()) __builtin_trap();
    Cache again;
    if (!again.open(path.string()).ok() || !again.find(extra)) __builtin_trap();
  } else {
    // One line, and the file set aside rather than left or overwritten.
    if (s.message().find('\n') != std::string::npos) __builtin_trap();
    if (fs::exists(path)) __builtin_trap();
  }
  return 0;
}
