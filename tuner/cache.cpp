#include "tuner/cache.h"

#include <perfcal/perfcal.h>

#include <cstdio>
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

Status Cache::open(const std::string& path) {
  path_ = path;
  entries_.clear();
  if (path.empty() || !std::filesystem::exists(path)) return Status::Ok();
  std::ifstream in(path);
  if (!in) return Status::Invalid("cannot read tuning cache " + path);
  std::string line, problem;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    try {
      const Json j = Json::parse(line);
      CacheKey k;
      const Json& kj = j.at("key");
      k.fingerprint = kj.at("fingerprint").get<std::string>();
      k.versions = kj.at("versions");
      k.variant = kj.at("variant").get<std::string>();
      k.dtype = kj.at("dtype").get<std::string>();
      k.problem = kj.at("problem");
      k.config = kj.at("config");
      Evaluation e = evaluation_from_json(j);
      e.config = k.config;
      entries_[k.str()] = {k, e};
    } catch (const std::exception& ex) {
      problem = "line " + std::to_string(lineno) + ": " + ex.what();
      break;
    }
  }
  if (problem.empty()) return Status::Ok();
  in.close();
  entries_.clear();
  // Never overwrite what might be someone's hours of measurements: move it aside.
  const std::string aside = path + ".corrupt-" + profile::utc_now();
  std::error_code ec;
  std::filesystem::rename(path, aside, ec);
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
  if (!f) return Status::Invalid("cannot append to tuning cache " + path_);
  const std::string text = j.dump() + "\n";
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed) return Status::Invalid("cannot append to tuning cache " + path_);
  return Status::Ok();
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
