// Tuned configs at run time: the `tuned` array of a device profile, parsed once into a small
// immutable table, and the lookup the C APIs call on every call (no file I/O, no JSON
// parsing on that path: a linear scan over a few dozen entries).
//
// A tuned entry (written by `perfcal tune`, see tuner/tune.cpp):
//   {"name": "gemm/cpu/avx512/f32", "device": "cpu:0", "dtype": "f32",
//    "fingerprint": "<cpu_fingerprint()>", "arch": "avx512",
//    "bucket": {"m": 12, "n": 12, "k": 12},   // round(log2) of the tuned problem
//    "problem": {"m": 4096, "n": 4096, "k": 4096}, "config": {...}, ...}
//
// What (m, n, k) mean per family -- the bucket a lookup measures distance in:
//   gemm       (m, n, k) of the call; "problem" holds them and gives the exact log2.
//   attention  (seq_q, seq_kv, head_dim): the attention C API looks up
//              attention/cpu/flash/<pass>/<dtype> with m = seq_q, n = seq_kv, k = head_dim.
//              Batch, heads, kv_heads and the mask are not part of the bucket: an entry
//              tuned on 1x8x2048x128 serves every batch and head count at seq 2048 and
//              head_dim 128 (tune the shapes the run uses; equal distances go to the first
//              entry in the profile). The entry's "problem" is the attention problem
//              ({"batch", "heads", "kv_heads", "seq_q", "seq_kv", "head_dim", "causal",
//              "pass"}), so its "bucket" {"m": round(log2 seq_q), "n": round(log2 seq_kv),
//              "k": round(log2 head_dim)} is what the table reads.
//   allreduce  allreduce/threads/<algorithm>/<dtype> with m = bytes per rank, n = ranks,
//              k = 1 (its C API; an entry gives them as "bucket" in log2, or as "problem"
//              {"m": bytes, "n": ranks, "k": 1}).
// An entry whose "problem" has numeric m, n, k is bucketed by their exact log2; otherwise by
// its "bucket" (log2 values as written); with neither, every dimension is log2 = 0.
// A GEMM problem may carry "ta" and "tb" ("N" or "T", both "N" when absent): an entry serves
// only calls with the same transposes, since which operand is read in place and how each is
// packed (the configs' best blocking) depend on them. Other families have none: "NN".
//
// Fallback order for a lookup: entries of this exact device (fingerprint) -> entries of the
// same architecture (ISA tier) -> none (the caller uses its built-in default). Within a
// level the nearest bucket wins (L1 distance in log2 space, ties to the first entry).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace perfcal::tuned {

// Identifies a CPU for the tuning cache and tuned entries: brand string plus the ISA
// features the kernels dispatch on. Two machines with the same string run the same code
// paths on the same cores.
std::string cpu_fingerprint();

// ISA tier name of this CPU ("avx512", "avx2", "portable"): the architecture fallback key.
std::string cpu_arch();

struct Entry {
  std::string name;               // registry name
  std::string fingerprint;        // device fingerprint it was tuned on
  std::string arch;               // ISA tier
  double lm = 0, ln = 0, lk = 0;  // bucket: log2 of m, n, k
  char ta = 'N', tb = 'N';        // GEMM transposes the entry was tuned for
  nlohmann::json config;
};

// Entries farther than this from the call's shape (sum over m, n, k of |log2 ratio|) are not
// used: a 64^3 call should not inherit the blocking tuned for 4096^3.
inline constexpr double kMaxBucketDistance = 3.0;

enum class Match { none, exact_device, architecture };

struct Table {
  std::vector<Entry> entries;
};

// Parses a profile's `tuned` array (entries without a fingerprint match only by arch).
Status parse_table(const nlohmann::json& tuned, Table* out);

// The lookup itself, on an explicit table (tests) — see the fallback order above.
const Entry* find(const Table& t, const std::string& name, const std::string& fingerprint,
                  const std::string& arch, int64_t m, int64_t n, int64_t k, Match* how,
                  double max_distance = kMaxBucketDistance, char ta = 'N', char tb = 'N');

// Whether any tuned entry is loaded (reads PERFCAL_PROFILE on first call): one atomic load
// afterwards, so callers skip building lookup keys when nothing is tuned.
bool active();

// Process-wide table: set by perfcal_load_profile / PERFCAL_PROFILE (read on first use).
// Returns the config to use for `name` on (m, n, k), or nullopt (use the default).
std::optional<nlohmann::json> lookup(const std::string& name, int64_t m, int64_t n, int64_t k,
                                     Match* how = nullptr, char ta = 'N', char tb = 'N');

// Replaces the process-wide table from a profile file; "" clears it.
Status load_profile(const std::string& path);

}  // namespace perfcal::tuned
