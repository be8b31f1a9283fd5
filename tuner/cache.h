// The tuning cache: every evaluation appended, one JSON object per line (JSON Lines), to a
// file the user names. Appending a line at a time means an interrupted tuning loses at most
// the evaluation in flight, and a rerun skips everything already recorded (it resumes).
//
// Each line:
//   {"key": {"fingerprint": "<cpu model | ISA features>", "versions": {"perfcal": "0.1.0",
//            "compiler": "..."}, "variant": "gemm/cpu/avx512/f32", "dtype": "f32",
//            "problem": {"m":..,"n":..,"k":..}, "config": {...}},
//    "outcome": "passed", "error": "", "times_s": [...], "median_s": .., "cv": ..,
//    "max_rel_error": .., "recorded": "2026-..Z"}
//
// A file that does not parse (any line) is corrupt: it is moved aside to
// `<path>.corrupt-<utc>` and opening fails with a line saying so; it is never overwritten.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "tuner/evaluation.h"

namespace perfcal::tuner {

struct CacheKey {
  std::string fingerprint;
  Json versions = Json::object();
  std::string variant, dtype;
  Json problem = Json::object();
  Json config = Json::object();

  Json to_json() const;
  // Canonical text (nlohmann objects are key-sorted): the lookup key.
  std::string str() const { return to_json().dump(); }
};

// Versions that invalidate a recorded timing when they change (perfcal, compiler).
Json library_versions();

class Cache {
 public:
  // Opens (or starts) the cache at `path`; "" = in memory only. A corrupt file is moved
  // aside and the error names both paths.
  Status open(const std::string& path);
  const Evaluation* find(const CacheKey& key) const;
  // Records one evaluation and appends it to the file (flushed before returning).
  Status append(const CacheKey& key, const Evaluation& e);
  std::size_t size() const { return entries_.size(); }
  // The first failure of append() to write the file ("" if none): the tuning goes on
  // without it and its driver reports this once.
  const std::string& write_error() const { return write_error_; }
  const std::string& path() const { return path_; }

  // Entries of one (variant, dtype, problem), whatever device recorded them: what a replay
  // serves. The device fingerprint of the first such entry goes to *fingerprint.
  std::vector<std::pair<CacheKey, Evaluation>> entries_for(const std::string& variant,
                                                           const std::string& dtype,
                                                           const Json& problem) const;

 private:
  std::string path_;
  std::string write_error_;
  std::map<std::string, std::pair<CacheKey, Evaluation>> entries_;
};

Json evaluation_to_json(const Evaluation& e);
Evaluation evaluation_from_json(const Json& j);

// Parses one cache line (the format above) into *key and *e. Rejects what no tuning run
// writes: nesting deeper than the profile reader allows, duplicate keys, an outcome outside
// kOutcomes, a non-object problem/config/versions, negative or non-finite times. Returns ""
// or the problem (Cache::open adds the line number). No I/O.
std::string parse_cache_line(const std::string& line, CacheKey* key, Evaluation* e);

// Replays recorded evaluations of one (variant, dtype, problem): configs found return their
// recorded outcome and repetition times; others return "failed: not in the recording".
class ReplayMeasurer : public Measurer {
 public:
  ReplayMeasurer(const Cache& cache, const std::string& variant, const std::string& dtype,
                 const Json& problem);
  Evaluation measure(const Json& config) override;
  bool simulated() const override { return true; }
  std::size_t recorded() const { return by_config_.size(); }

 private:
  std::map<std::string, Evaluation> by_config_;
};

}  // namespace perfcal::tuner
