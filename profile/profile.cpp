#include "profile/profile.h"

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace perfcal::profile {

void to_json(Json& j, const TimeStats& t) {
  j = Json{{"median", t.median}, {"min", t.min}, {"max", t.max}, {"cv", t.cv},
           {"repetitions", t.repetitions}};
}
void from_json(const Json& j, TimeStats& t) {
  j.at("median").get_to(t.median);
  j.at("min").get_to(t.min);
  j.at("max").get_to(t.max);
  j.at("cv").get_to(t.cv);
  j.at("repetitions").get_to(t.repetitions);
}

namespace {
const char* const kMeasurementKeys[] = {"name",   "device",        "dtype",   "threads",
                                        "problem", "config",       "outcome", "verified",
                                        "max_rel_error", "time_s", "gflops",  "gbps",
                                        "noisy",  "error"};
bool is_core_key(const std::string& k) {
  for (const char* c : kMeasurementKeys)
    if (k == c) return true;
  return false;
}
}  // namespace

void to_json(Json& j, const Measurement& m) {
  j = Json::object();
  for (auto it = m.extra.begin(); it != m.extra.end(); ++it) j[it.key()] = it.value();
  j["name"] = m.name;
  j["device"] = m.device;
  j["dtype"] = m.dtype;
  j["threads"] = m.threads;
  j["problem"] = m.problem;
  j["config"] = m.config;
  j["outcome"] = m.outcome;
  j["verified"] = m.verified;
  j["max_rel_error"] = m.max_rel_error ? Json(*m.max_rel_error) : Json(nullptr);
  if (m.time_s) j["time_s"] = *m.time_s;
  if (m.gflops) j["gflops"] = *m.gflops;
  if (m.gbps) j["gbps"] = *m.gbps;
  if (m.noisy) j["noisy"] = true;
  if (!m.error.empty()) j["error"] = m.error;
}

void from_json(const Json& j, Measurement& m) {
  j.at("name").get_to(m.name);
  j.at("device").get_to(m.device);
  j.at("dtype").get_to(m.dtype);
  j.at("threads").get_to(m.threads);
  m.problem = j.at("problem");
  m.config = j.at("config");
  j.at("outcome").get_to(m.outcome);
  j.at("verified").get_to(m.verified);
  if (j.contains("max_rel_error") && !j["max_rel_error"].is_null())
    m.max_rel_error = j["max_rel_error"].get<double>();
  if (j.contains("time_s")) m.time_s = j["time_s"].get<TimeStats>();
  if (j.contains("gflops")) m.gflops = j["gflops"].get<double>();
  if (j.contains("gbps")) m.gbps = j["gbps"].get<double>();
  m.noisy = j.value("noisy", false);
  m.error = j.value("error", std::string());
  m.extra = Json::object();
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!is_core_key(it.key())) m.extra[it.key()] = it.value();
}

void to_json(Json& j, const Profile& p) {
  j = Json{{"schema", kSchemaVersion},
           {"partial", p.partial},
           {"created", p.created},
           {"perfcal_version", p.perfcal_version},
           {"git_revision", p.git_revision},
           {"host", p.host},
           {"devices", p.devices},
           {"software", p.software},
           {"command", p.command},
           {"environment", p.environment},
           {"measurements", p.measurements},
           {"tuned", p.tuned},
           {"model", p.model},
           {"summary", p.summary}};
  if (!p.finished.empty()) j["finished"] = p.finished;
}

void from_json(const Json& j, Profile& p) {
  p.partial = j.at("partial").get<bool>();
  p.created = j.at("created").get<std::string>();
  p.finished = j.value("finished", std::string());
  p.perfcal_version = j.value("perfcal_version", std::string());
  p.git_revision = j.value("git_revision", std::string());
  p.host = j.at("host");
  p.devices = j.at("devices");
  p.software = j.at("software");
  p.command = j.at("command").get<std::vector<std::string>>();
  p.environment = j.at("environment");
  p.measurements = j.at("measurements").get<std::vector<Measurement>>();
  p.tuned = j.value("tuned", Json::array());
  p.model = j.value("model", Json::object());
  p.summary = j.value("summary", Json::object());
}

const Measurement* Profile::find(const Measurement& like) const {
  for (const auto& m : measurements)
    if (m.name == like.name && m.device == like.device && m.dtype == like.dtype &&
        m.threads == like.threads && m.problem == like.problem)
      return &m;
  return nullptr;
}

// Untrusted input limits: a profile is megabytes, never gigabytes, and never deeply nested.
constexpr std::size_t kMaxJsonBytes = std::size_t{512} << 20;
constexpr int kMaxDepth = 64;

std::optional<Json> parse_json(const std::string& text, std::string* error) {
  if (text.size() > kMaxJsonBytes) {
    *error = "file too large (" + std::to_string(text.size()) + " bytes; limit 512 MiB)";
    return std::nullopt;
  }
  // One set of keys per open object, to reject duplicate keys (nlohmann keeps the last
  // silently, which would hide a corrupted or hand-edited file).
  std::vector<std::set<std::string>> keys;
  std::string problem;
  auto cb = [&](int depth, Json::parse_event_t ev, Json& parsed) -> bool {
    if (depth > kMaxDepth) {
      problem = "nesting deeper than " + std::to_string(kMaxDepth) + " levels";
      throw std::runtime_error(problem);
    }
    if (ev == Json::parse_event_t::object_start) keys.emplace_back();
    else if (ev == Json::parse_event_t::object_end) keys.pop_back();
    else if (ev == Json::parse_event_t::key && !keys.empty()) {
      const std::string& k = parsed.get_ref<const std::string&>();
      if (!keys.back().insert(k).second) {
        problem = "duplicate key \"" + k + "\"";
        throw std::runtime_error(problem);
      }
    }
    return true;
  };
  try {
    return Json::parse(text, cb);
  } catch (const Json::parse_error& e) {
    std::string what = e.what();
    auto p = what.find("parse error");
    *error = "malformed JSON: " + (p == std::string::npos ? what : what.substr(p));
  } catch (const std::exception& e) {
    *error = problem.empty() ? std::string("malformed JSON: ") + e.what() : problem;
  }
  return std::nullopt;
}

std::optional<Json> read_json_file(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = path + ": cannot open";
    return std::nullopt;
  }
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size < 0 || static_cast<std::size_t>(size) > kMaxJsonBytes) {
    *error = path + ": not a readable file of at most 512 MiB";
    return std::nullopt;
  }
  in.seekg(0);
  std::string text(static_cast<std::size_t>(size), '\0');
  in.read(text.data(), size);
  std::string err;
  auto j = parse_json(text, &err);
  if (!j) *error = path + ": " + err;
  return j;
}

std::optional<Profile> load(const std::string& path, std::string* error) {
  auto j = read_json_file(path, error);
  if (!j) return std::nullopt;
  auto problems = validate(*j);
  if (!problems.empty()) {
    *error = path + ": " + problems.front();
    return std::nullopt;
  }
  try {
    return j->get<Profile>();
  } catch (const std::exception& e) {
    *error = path + ": " + e.what();
  }
  return std::nullopt;
}

std::string write_atomic(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return path + ": cannot create " + tmp;
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n <= 0) {
      ::close(fd);
      ::unlink(tmp.c_str());
      return path + ": write failed";
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  // fsync before rename: otherwise a power loss can leave the new name pointing at nothing.
  bool ok = ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return path + ": cannot replace atomically";
  }
  return "";
}

std::string save(const std::string& path, const Profile& p) {
  return write_atomic(path, Json(p).dump(1) + "\n");
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace perfcal::profile
