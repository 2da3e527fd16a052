#include "repairbench/report/report_check.h"

#include <fnmatch.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "repairbench/core/error.h"
#include "repairbench/core/json_file.h"

namespace repairbench::report {
namespace {

// The string under `key`, or "" when `j` is not an object or the value is not
// a string: a malformed report is a list of problems, not a JSON type error.
std::string text_at(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

bool skipped_key(const std::string& key) {
  auto ends_with = [&](const std::string& suffix) {
    return key.size() >= suffix.size() && key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return key == "seconds" || ends_with("_seconds") || key == "images_per_second" || key == "path" ||
         key == "trained_now" || key == "seconds_total";
}

// The rule of a change that no number tolerance judges: a string, a boolean,
// a value present in one report only, an array's length.
const ToleranceRule kNotANumber{"", 0, 0, ""};

void compare(const nlohmann::json& a, const nlohmann::json& b, const std::string& path, const Tolerances& tolerance,
             std::vector<Change>& out) {
  if (a.is_object() && b.is_object()) {
    for (const auto& [key, value] : a.items()) {
      if (skipped_key(key)) continue;
      const std::string child = path + "/" + key;
      if (b.contains(key))
        compare(value, b.at(key), child, tolerance, out);
      else
        out.push_back({child, value.dump(), "(absent)", 0, true, kNotANumber});
    }
    for (const auto& [key, value] : b.items()) {
      if (!skipped_key(key) && !a.contains(key)) {
        out.push_back({path + "/" + key, "(absent)", value.dump(), 0, true, kNotANumber});
      }
    }
    return;
  }
  if (a.is_array() && b.is_array()) {
    const size_t n = std::min(a.size(), b.size());
    for (size_t i = 0; i < n; ++i) compare(a[i], b[i], path + "/" + std::to_string(i), tolerance, out);
    if (a.size() != b.size()) {
      out.push_back(
          {path, std::to_string(a.size()) + " items", std::to_string(b.size()) + " items", 0, true, kNotANumber});
    }
    return;
  }
  if (a.is_number() && b.is_number()) {
    const double d = b.get<double>() - a.get<double>();
    if (d != 0) {
      const ToleranceRule rule = tolerance.rule_for(path);
      const bool beyond = std::abs(d) > rule.abs + rule.rel * std::abs(a.get<double>());
      out.push_back({path, a.dump(), b.dump(), d, beyond, rule});
    }
    return;
  }
  if (a != b) out.push_back({path, a.dump(), b.dump(), 0, true, kNotANumber});
}

void agreement(const nlohmann::json& a, const nlohmann::json& b, const std::string& path,
               std::vector<PermutationAgreement>& out) {
  if (a.is_object() && b.is_object()) {
    for (const auto& [key, value] : a.items()) {
      if (!b.contains(key)) continue;
      const nlohmann::json& other = b.at(key);
      if (key == "permutation" && value.is_array() && other.is_array() && value.size() == other.size()) {
        PermutationAgreement p{path + "/" + key, 0, static_cast<int64_t>(value.size())};
        for (size_t i = 0; i < value.size(); ++i) p.equal += value[i] == other[i] ? 1 : 0;
        out.push_back(p);
      } else {
        agreement(value, other, path + "/" + key, out);
      }
    }
  } else if (a.is_array() && b.is_array()) {
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
      agreement(a[i], b[i], path + "/" + std::to_string(i), out);
  }
}

}  // namespace

std::vector<PermutationAgreement> permutation_agreement(const nlohmann::json& old_report,
                                                        const nlohmann::json& new_report) {
  std::vector<PermutationAgreement> out;
  // A report that is no object (fuzz_report_json: a top-level array made
  // value() throw) has no results whose permutations could agree.
  if (!old_report.is_object() || !new_report.is_object()) return out;
  agreement(old_report.value("results", nlohmann::json()), new_report.value("results", nlohmann::json()), "/results",
            out);
  return out;
}

nlohmann::json load_report(const std::string& path) { return read_json_file(path); }

std::vector<std::string> check_report(const nlohmann::json& r, const std::string& dir) {
  std::vector<std::string> problems;
  auto require = [&](bool ok, const std::string& what) {
    if (!ok) problems.push_back(what);
    return ok;
  };
  if (!require(r.is_object(), "the report is not a JSON object")) return problems;
  require(r.contains("format_version") && r["format_version"] == 1, "format_version is not 1");
  const std::string kind = text_at(r, "kind");
  require(kind == "merge" || kind == "reproduction", "kind is neither merge nor reproduction");
  if (require(r.contains("context") && r["context"].is_object(), "no context block")) {
    for (const char* key : {"git_commit", "torch_version", "device", "threads", "date", "command"}) {
      require(r["context"].contains(key), std::string("context lacks ") + key);
    }
    if (kind == "reproduction") {
      for (const char* key : {"target", "preset", "seeds", "smoke"}) {
        require(r["context"].contains(key), std::string("context lacks ") + key);
      }
    }
  }
  require(r.contains("settings") && r["settings"].is_object(), "no settings object");
  require(r.contains("results"), "no results");
  if (kind != "reproduction") return problems;
  if (require(r.contains("verdict") && r["verdict"].is_object(), "no verdict")) {
    const auto& v = r["verdict"];
    const std::string result = text_at(v, "result");
    require(result == "pass" || result == "fail" || result == "inconclusive" || result == "no-reference",
            "verdict result is not pass/fail/inconclusive/no-reference");
    require(v.contains("mode"), "verdict lacks its mode");
    if (require(v.contains("checks") && v["checks"].is_array(), "verdict lacks its checks")) {
      for (const auto& c : v["checks"]) {
        for (const char* key : {"metric", "ours", "rule", "threshold", "reason", "pass"}) {
          require(c.contains(key), std::string("a verdict check lacks ") + key);
        }
        require(!text_at(c, "reason").empty(), "a verdict check does not say why its tolerance is what it is");
      }
    }
  }
  if (require(r.contains("plots") && r["plots"].is_array(), "no plots list")) {
    for (const auto& p : r["plots"]) {
      require(p.is_string() && std::filesystem::exists(std::filesystem::path(dir) / p.get<std::string>()),
              "plot " + p.dump() + " is missing next to the report");
    }
  }
  return problems;
}

ToleranceRule Tolerances::rule_for(const std::string& path) const {
  for (const ToleranceRule& rule : rules) {
    // Without FNM_PATHNAME, '*' also matches the '/' between keys.
    if (fnmatch(rule.pattern.c_str(), path.c_str(), 0) == 0) return rule;
  }
  return {"(no rule)", 0, 0, "no rule of the tolerances matches it, so it must not move"};
}

Tolerances uniform_tolerance(double tolerance) {
  RB_CHECK(std::isfinite(tolerance) && tolerance >= 0, kUsage, "--tolerance must be a finite number >= 0, got ",
           tolerance);
  return {{{"*", tolerance, 0, "--tolerance"}}};
}

Tolerances load_tolerances(const std::string& path) {
  const nlohmann::json j = load_report(path);
  RB_CHECK(j.is_object() && j.contains("rules") && j["rules"].is_array(), kUsage, "tolerances ", path,
           " has no \"rules\" array (see tests/regression/tolerances.json)");
  json_only_keys(j, {"about", "rules"}, "tolerances " + path);
  Tolerances t;
  for (size_t i = 0; i < j["rules"].size(); ++i) {
    const nlohmann::json& r = j["rules"][i];
    const std::string where = "tolerances " + path + ", rule " + std::to_string(i);
    // A misspelt bound ("abs_tol") read as absent would run the rule at 0.
    json_only_keys(r, {"pattern", "abs", "rel", "why"}, where);
    RB_CHECK(
        r.is_object() && r.contains("pattern") && r["pattern"].is_string() && !r["pattern"].get<std::string>().empty(),
        kUsage, where, " has no pattern");
    ToleranceRule rule;
    rule.pattern = r["pattern"].get<std::string>();
    for (const char* bound : {"abs", "rel"}) {
      const nlohmann::json value = r.value(bound, nlohmann::json(0.0));
      RB_CHECK(value.is_number() && value.get<double>() >= 0, kUsage, where, " (", rule.pattern, "): ", bound,
               " must be a number >= 0, got ", value.dump());
      (std::string(bound) == "abs" ? rule.abs : rule.rel) = value.get<double>();
    }
    RB_CHECK(r.contains("why") && r["why"].is_string() && !r["why"].get<std::string>().empty(), kUsage, where, " (",
             rule.pattern, ") does not say why its tolerance is what it is (\"why\")");
    rule.why = r["why"].get<std::string>();
    t.rules.push_back(rule);
  }
  return t;
}

std::vector<Change> compare_reports(const nlohmann::json& old_report, const nlohmann::json& new_report,
                                    double tolerance) {
  return compare_reports(old_report, new_report, uniform_tolerance(tolerance));
}

std::vector<Change> compare_reports(const nlohmann::json& old_report, const nlohmann::json& new_report,
                                    const Tolerances& tolerance) {
  std::vector<Change> out;
  for (const char* part : {"results", "verdict"}) {
    const auto a = old_report.is_object() ? old_report.value(part, nlohmann::json()) : nlohmann::json();
    const auto b = new_report.is_object() ? new_report.value(part, nlohmann::json()) : nlohmann::json();
    compare(a, b, std::string("/") + part, tolerance, out);
  }
  return out;
}

}  // namespace repairbench::report
