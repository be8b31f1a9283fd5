// Device profile types (schema "perfcal.profile/1") and their JSON reading and writing.
// The JSON Schema lives in results/schema/profile.schema.json; validate() applies it plus
// the semantic rules a schema cannot say (min <= median <= max, passed <=> verified, ...).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace perfcal::profile {

using Json = nlohmann::json;
inline constexpr const char kSchemaVersion[] = "perfcal.profile/1";

struct TimeStats {
  double median = 0, min = 0, max = 0, cv = 0;  // seconds; cv = stddev / mean
  int repetitions = 0;
};

// One benchmark result. Field names are a contract other tools rely on (issue 2).
struct Measurement {
  std::string name;    // registry name, e.g. gemm/cpu/avx512/f32, probe/cpu/fma/f32
  std::string device;  // cpu:0, cuda:0
  std::string dtype;   // f32, bf16, f64, none
  int threads = 1;
  Json problem = Json::object();
  Json config = Json::object();
  std::string outcome = "not_run";
  bool verified = false;
  std::optional<double> max_rel_error;
  std::optional<TimeStats> time_s;
  std::optional<double> gflops, gbps;
  bool noisy = false;
  std::string error;
  Json extra = Json::object();  // family fields (algbw_gbps, percent_of_peak, ...) kept flat
};

struct Profile {
  bool partial = true;
  std::string created, finished;
  std::string perfcal_version, git_revision;
  Json host = Json::object();
  Json devices = Json::array();
  Json software = Json::object();
  std::vector<std::string> command;
  Json environment = Json::object();
  std::vector<Measurement> measurements;
  Json tuned = Json::array();
  Json model = Json::object();
  Json summary = Json::object();

  // Same (name, device, dtype, threads, problem) already present?
  const Measurement* find(const Measurement& like) const;
};

void to_json(Json& j, const TimeStats& t);
void from_json(const Json& j, TimeStats& t);
void to_json(Json& j, const Measurement& m);
void from_json(const Json& j, Measurement& m);
void to_json(Json& j, const Profile& p);
void from_json(const Json& j, Profile& p);

// Every problem found, each one line naming the JSON path; empty when valid.
std::vector<std::string> validate(const Json& doc);

// The compiled-in schema document.
const Json& schema();

// Parses JSON text with limits (size, nesting depth, duplicate keys rejected). On failure
// returns nullopt and sets *error to one line.
std::optional<Json> parse_json(const std::string& text, std::string* error);
std::optional<Json> read_json_file(const std::string& path, std::string* error);

// Reads and validates a profile; *error gets the first problem when it fails.
std::optional<Profile> load(const std::string& path, std::string* error);

// Writes text to `path` atomically (temp file in the same directory, fsync, rename), so a
// reader or a crash never sees a half-written file. Returns an error line or "".
std::string write_atomic(const std::string& path, const std::string& text);
std::string save(const std::string& path, const Profile& p);

// UTC time as 2026-11-28T15:04:05Z.
std::string utc_now();

}  // namespace perfcal::profile
