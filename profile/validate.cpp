// Profile validation: a JSON Schema interpreter for the keywords our schema uses (type,
// const, enum, required, properties, items, minItems, minimum, exclusiveMinimum, minLength,
// pattern, $ref into $defs), then the semantic rules no schema can state.
#include <cmath>
#include <regex>
#include <string>

#include "profile/profile.h"
#include "schema_text.h"

namespace perfcal::profile {
namespace {

std::string type_of(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "boolean";
    case Json::value_t::object: return "object";
    case Json::value_t::array: return "array";
    case Json::value_t::string: return "string";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "integer";
    case Json::value_t::number_float: return "number";
    default: return "unknown";
  }
}

bool type_matches(const Json& v, const std::string& t) {
  std::string actual = type_of(v);
  if (t == "number") return actual == "number" || actual == "integer";
  if (t == "integer" && actual == "number") {
    double d = v.get<double>();
    return std::isfinite(d) && d == std::floor(d);
  }
  return actual == t;
}

class SchemaChecker {
 public:
  explicit SchemaChecker(const Json& root) : root_(root) {}

  void check(const Json& s, const Json& v, const std::string& path) {
    if (s.contains("$ref")) {
      const std::string ref = s["$ref"];  // "#/$defs/name"
      const std::string prefix = "#/$defs/";
      check(root_.at("$defs").at(ref.substr(prefix.size())), v, path);
      return;
    }
    if (s.contains("type")) {
      bool ok = false;
      std::string want;
      const Json& t = s["type"];
      for (const auto& one : t.is_array() ? t : Json::array({t})) {
        ok = ok || type_matches(v, one.get<std::string>());
        want += (want.empty() ? "" : " or ") + one.get<std::string>();
      }
      if (!ok) return add(path, "expected " + want + ", got " + type_of(v));
    }
    if (s.contains("const") && v != s["const"])
      return add(path, "must be " + s["const"].dump() + ", got " + v.dump());
    if (s.contains("enum")) {
      bool found = false;
      for (const auto& e : s["enum"]) found = found || e == v;
      if (!found) return add(path, "must be one of " + s["enum"].dump() + ", got " + v.dump());
    }
    if (v.is_number()) {
      double d = v.get<double>();
      if (!std::isfinite(d)) return add(path, "must be finite");
      if (s.contains("minimum") && d < s["minimum"].get<double>())
        add(path, "must be >= " + s["minimum"].dump());
      if (s.contains("exclusiveMinimum") && d <= s["exclusiveMinimum"].get<double>())
        add(path, "must be > " + s["exclusiveMinimum"].dump());
    }
    if (v.is_string()) {
      const auto& str = v.get_ref<const std::string&>();
      if (s.contains("minLength") && str.size() < s["minLength"].get<std::size_t>())
        add(path, "must not be empty");
      if (s.contains("pattern") && !std::regex_search(str, std::regex(s["pattern"].get<std::string>())))
        add(path, "\"" + str.substr(0, 80) + "\" does not match " + s["pattern"].get<std::string>());
    }
    if (v.is_object()) {
      if (s.contains("required"))
        for (const auto& r : s["required"])
          if (!v.contains(r.get<std::string>())) add(path, "missing required field \"" + r.get<std::string>() + "\"");
      if (s.contains("properties"))
        for (auto it = s["properties"].begin(); it != s["properties"].end(); ++it)
          if (v.contains(it.key())) check(it.value(), v[it.key()], path + "." + it.key());
    }
    if (v.is_array()) {
      if (s.contains("minItems") && v.size() < s["minItems"].get<std::size_t>())
        add(path, "needs at least " + s["minItems"].dump() + " item(s)");
      if (s.contains("items"))
        for (std::size_t i = 0; i < v.size(); ++i)
          check(s["items"], v[i], path + "[" + std::to_string(i) + "]");
    }
  }

  std::vector<std::string> problems;

 private:
  void add(const std::string& path, const std::string& what) {
    if (problems.size() < 100) problems.push_back(path + ": " + what);
  }
  const Json& root_;
};

// Rules the schema cannot express. Assumes the schema check passed.
void semantic_rules(const Json& doc, std::vector<std::string>* out) {
  const auto& ms = doc["measurements"];
  for (std::size_t i = 0; i < ms.size(); ++i) {
    const Json& m = ms[i];
    std::string at = "$.measurements[" + std::to_string(i) + "] (" + m["name"].get<std::string>() + ")";
    const std::string outcome = m["outcome"];
    bool verified = m["verified"];
    if (verified && outcome != "passed") out->push_back(at + ": verified but outcome is " + outcome);
    if (outcome == "passed" && !verified) out->push_back(at + ": outcome passed but not verified");
    if (outcome == "passed" && !m.contains("time_s")) out->push_back(at + ": passed without time_s");
    if (outcome != "passed" && (m.contains("gflops") || m.contains("gbps")))
      out->push_back(at + ": a rate is reported for a result that did not pass (" + outcome + ")");
    if (m.contains("time_s")) {
      const Json& t = m["time_s"];
      double mn = t["min"], md = t["median"], mx = t["max"];
      if (!(mn <= md && md <= mx)) out->push_back(at + ".time_s: needs min <= median <= max");
    }
    bool known_device = false;
    for (const auto& d : doc["devices"]) known_device = known_device || d["id"] == m["device"];
    if (!known_device) out->push_back(at + ": device " + m["device"].dump() + " is not in $.devices");
  }
  if (!doc["partial"].get<bool>() && !doc.contains("finished"))
    out->push_back("$: a complete profile (partial=false) needs \"finished\"");
}

}  // namespace

const Json& schema() {
  static const Json s = Json::parse(kSchemaText);
  return s;
}

std::vector<std::string> validate(const Json& doc) {
  if (!doc.is_object()) return {"$: a profile is a JSON object"};
  if (doc.contains("schema") && doc["schema"] != kSchemaVersion)
    return {"$.schema: unsupported schema version " + doc["schema"].dump() + " (this perfcal reads " +
            kSchemaVersion + ")"};
  SchemaChecker checker(schema());
  checker.check(schema(), doc, "$");
  if (checker.problems.empty()) semantic_rules(doc, &checker.problems);
  return checker.problems;
}

}  // namespace perfcal::profile
