#include "tuner/cache.h"

#include <perfcal/perfcal.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <optional>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "profile/profile.h"

namespace perfcal::tuner {

Json CacheKey::to_json() const {
  return Json{{"fingerprint", fingerprint}, {"versions", versions}, {"variant", variant},
              {"dtype", dtype},             {"problem", problem},   {"config", config}};
}

Json library_versions() {
  static const Json v = [] {
    Json j = Json::object();
    j["perfcal"] = std::to_string(PERFCAL_VERSION_MAJOR) + "." +
                   std::to_string(PERFCAL_VERSION_MINOR) + "." +
                   std::to_string(PERFCAL_VERSION_PATCH);
#if defined(__clang__)
    j["compiler"] = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
    j["compiler"] = std::string("gcc ") + __VERSION__;
#endif
    return j;
  }();
  return v;
}

Json evaluation_to_json(const Evaluation& e) {
  Json j{{"outcome", e.outcome}, {"error", e.error},   {"times_s", e.times_s},
         {"median_s", e.median_s}, {"cv", e.cv},        {"cost_s", e.cost_s}};
  if (e.max_rel_error) j["max_rel_error"] = *e.max_rel_error;
  if (e.is_default) j["default"] = true;
  return j;
}

Evaluation evaluation_from_json(const Json& j) {
  Evaluation e;
  e.outcome = j.at("outcome").get<std::string>();
  e.error = j.value("error", std::string());
  e.times_s = j.value("times_s", std::vector<double>{});
  e.cost_s = j.value("cost_s", 0.0);
  if (j.contains("max_rel_error") && j["max_rel_error"].is_number())
    e.max_rel_error = j["max_rel_error"].get<double>();
  e.is_default = j.value("default", false);
  summarize(&e);
  return e;
}

namespace {

// 1e999 parses as infinity, which the writer would turn into null: refuse it anywhere. The
// depth is bounded by profile::parse_json.
bool all_finite(const Json& j) {
  if (j.is_number_float()) return std::isfinite(j.get<double>());
  if (j.is_structured())
    for (const Json& x : j)
      if (!all_finite(x)) return false;
  return true;
}

}  // namespace

std::string parse_cache_line(const std::string& line, CacheKey* key, Evaluation* e) {
  std::string err;
  const std::optional<Json> doc = profile::parse_json(line, &err);
  if (!doc) return err;
  const Json& j = *doc;
  try {
    if (!j.is_object()) return "not a JSON object";
    CacheKey k;
    const Json& kj = j.at("key");
    k.fingerprint = kj.at("fingerprint").get<std::string>();
    k.versions = kj.at("versions");
    k.variant = kj.at("variant").get<std::string>();
    k.dtype = kj.at("dtype").get<std::string>();
    k.problem = kj.at("problem");
    k.config = kj.at("config");
    if (!k.versions.is_object() || !k.problem.is_object() || !k.config.is_object())
      return "key.versions, key.problem and key.config must be objects";
    if (!all_finite(j)) return "a number is out of range (not finite)";
    Evaluation ev = evaluation_from_json(j);
    if (std::find(std::begin(kOutcomes), std::end(kOutcomes), ev.outcome) == std::end(kOutcomes))
      return "unknown outcome \"" + ev.outcome + "\"";
    for (double t : ev.times_s)
      if (!(t >= 0)) return "times_s must be non-negative";
    if (!(ev.cost_s >= 0)) return "cost_s must be non-negative";
    if (ev.max_rel_error && !(*ev.max_rel_error >= 0)) return "max_rel_error must be non-negative";
    ev.config = k.config;
    *key = std::move(k);
    *e = std::move(ev);
  } catch (const std::exception& ex) {
    return ex.what();
  }
  return "";
}

Status Cache::open(const std::string& path) {
  path_ = path;
  entries_.clear();
  if (path.empty() || !std::filesystem::exists(path)) return Status::Ok();
  std::ifstream in(path);
  if (!in) return Status::Invalid("cannot read tuning cache " + path);
  std::string line, problem;
  int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    CacheKey k;
    Evaluation e;
    if (std::string err = parse_cache_line(line, &k, &e); !err.empty()) {
      problem = "line " + std::to_string(lineno) + ": " + err;
      break;
    }
    std::string s = k.str();
    entries_[std::move(s)] = {std::move(k), std::move(e)};
  }
  if (problem.empty()) return Status::Ok();
  in.close();
  entries_.clear();
  // Never overwrite what might be someone's hours of measurements: move it aside.
  // rename() replaces an existing file: a second corrupt cache within the same second gets
  // a numbered name instead of overwriting the first one set aside.
  const std::string stem = path + ".corrupt-" + profile::utc_now();
  std::string aside = stem;
  std::error_code ec;
  for (int i = 1; std::filesystem::exists(aside, ec) && i < 1000; ++i)
    aside = stem + "-" + std::to_string(i);
  if (std::filesystem::exists(aside, ec)) ec = std::make_error_code(std::errc::file_exists);
  else std::filesystem::rename(path, aside, ec);
  if (ec)
    return Status::Invalid("corrupt tuning cache " + path + " (" + problem +
                           "); could not move it aside: " + ec.message());
  return Status::Invalid("corrupt tuning cache " + path + " (" + problem + "); moved to " + aside);
}

const Evaluation* Cache::find(const CacheKey& key) const {
  auto it = entries_.find(key.str());
  return it == entries_.end() ? nullptr : &it->second.second;
}

Status Cache::append(const CacheKey& key, const Evaluation& e) {
  entries_[key.str()] = {key, e};
  if (path_.empty()) return Status::Ok();
  Json j = evaluation_to_json(e);
  j["key"] = key.to_json();
  j["recorded"] = profile::utc_now();
  // One line per write, flushed: an interruption loses at most the line being written.
  std::FILE* f = std::fopen(path_.c_str(), "a");
  bool ok = f != nullptr;
  if (f) {
    const std::string text = j.dump() + "\n";
    ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    ok = std::fclose(f) == 0 && ok;
  }
  if (ok) return Status::Ok();
  if (write_error_.empty()) write_error_ = "cannot append to tuning cache " + path_;
  return Status::Invalid(write_error_);
}

std::vector<std::pair<CacheKey, Evaluation>> Cache::entries_for(const std::string& variant,
                                                                const std::string& dtype,
                                                                const Json& problem) const {
  std::vector<std::pair<CacheKey, Evaluation>> out;
  for (const auto& [s, kv] : entries_)
    if (kv.first.variant == variant && kv.first.dtype == dtype && kv.first.problem == problem)
      out.push_back(kv);
  return out;
}

ReplayMeasurer::ReplayMeasurer(const Cache& cache, const std::string& variant,
                               const std::string& dtype, const Json& problem) {
  for (auto& [k, e] : cache.entries_for(variant, dtype, problem)) by_config_[k.config.dump()] = e;
}

Evaluation ReplayMeasurer::measure(const Json& config) {
  auto it = by_config_.find(config.dump());
  if (it == by_config_.end()) {
    Evaluation e;
    e.config = config;
    e.outcome = "failed";
    e.error = "not in the recorded cache";
    return e;
  }
  Evaluation e = it->second;
  e.from_cache = false;
  return e;
}

}  // namespace perfcal::tuner
