// Fuzzes the `perfcal tune` command line (tuner/tune_args.h): the input is split on NUL
// bytes into the words after "tune". Parsing never tunes and never reads a file (the caller
// reads --shapes-from), so this touches nothing outside the process. The parser must return
// checked flags or one error line for anything, never crash or throw; accepted flags must be
// safe to hand to run_tune.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tuner/tune_args.h"

using namespace perfcal::tuner;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::vector<std::string> words;
  std::string cur;
  for (std::size_t i = 0; i < size && words.size() < 64; ++i) {
    if (data[i] == 0) {
      words.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(static_cast<char>(data[i]));
    }
  }
  if (!cur.empty()) words.push_back(cur);
  TuneFlags f;
  bool help = false;
  const std::string err = parse_tune_args(words, &f, &help);
  if (!err.empty() || help) return 0;
  const TuneOptions& o = f.o;
  // A budget was required and must be positive, finite and in range.
  const Budget& b = o.budget;
  if (b.max_evaluations < 0 || !(b.max_seconds >= 0) || b.max_seconds > 1e9) __builtin_trap();
  if (b.max_evaluations == 0 && b.max_seconds == 0) __builtin_trap();
  if (o.timing.repetitions < 5 || o.timing.repetitions > 1000) __builtin_trap();
  if (!(o.timing.min_time >= 0 && o.timing.min_time <= 10)) __builtin_trap();
  // Every accepted shape: positive, and 2*M*N*K (the FLOP count) fits in 64 bits.
  for (const Shape& s : o.shapes) {
    int64_t mn = 0, mnk = 0, flops = 0;
    if (s.m < 1 || s.n < 1 || s.k < 1) __builtin_trap();
    if (__builtin_mul_overflow(s.m, s.n, &mn) || __builtin_mul_overflow(mn, s.k, &mnk) ||
        __builtin_mul_overflow(mnk, int64_t{2}, &flops))
      __builtin_trap();
  }
  // Pinned values end up in the cache and the profile: they must serialize.
  for (const auto& [field, values] : o.fixed) {
    if (field.empty() || values.empty()) __builtin_trap();
    try {
      (void)Json(field).dump();
      for (const Json& v : values) (void)v.dump();
    } catch (const Json::exception&) {
      __builtin_trap();
    }
  }
  return 0;
}
