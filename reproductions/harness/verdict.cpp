#include "harness/verdict.h"

#include <algorithm>
#include <cmath>

#include "repairbench/core/error.h"

namespace repairbench::harness {

Check check_within(std::string metric, double ours, std::optional<double> spread, double paper, double tolerance,
                   std::string reason, std::string source) {
  RB_CHECK(tolerance >= 0, kInternal, "negative tolerance for ", metric);
  Check c;
  c.metric = std::move(metric);
  c.ours = ours;
  c.ours_spread = spread;
  c.paper = paper;
  c.rule = "within";
  c.threshold = tolerance;
  c.reason = std::move(reason);
  c.source = std::move(source);
  c.pass = std::isfinite(ours) && std::abs(ours - paper) <= tolerance;
  return c;
}

Check check_at_least(std::string metric, double ours, std::optional<double> spread, double bound, std::string reason,
                     std::string source) {
  Check c;
  c.metric = std::move(metric);
  c.ours = ours;
  c.ours_spread = spread;
  c.rule = "at_least";
  c.threshold = bound;
  c.reason = std::move(reason);
  c.source = std::move(source);
  c.pass = std::isfinite(ours) && ours >= bound;
  return c;
}

Verdict make_verdict(std::string mode, std::vector<Check> checks) {
  Verdict v;
  v.mode = std::move(mode);
  v.checks = std::move(checks);
  size_t passed = 0;
  for (const auto& c : v.checks) passed += c.pass ? 1 : 0;
  v.result = v.checks.empty() ? "no-reference" : (passed == v.checks.size() ? "pass" : "fail");
  v.summary = std::to_string(passed) + " of " + std::to_string(v.checks.size()) + " checks pass";
  return v;
}

nlohmann::json to_json(const Check& c) {
  nlohmann::json j = {{"metric", c.metric}, {"ours", c.ours},     {"rule", c.rule}, {"threshold", c.threshold},
                      {"reason", c.reason}, {"source", c.source}, {"pass", c.pass}};
  j["ours_std"] = c.ours_spread ? nlohmann::json(*c.ours_spread) : nlohmann::json(nullptr);
  j["paper"] = c.paper ? nlohmann::json(*c.paper) : nlohmann::json(nullptr);
  if (c.paper) j["difference"] = c.ours - *c.paper;
  return j;
}

nlohmann::json to_json(const Verdict& v) {
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& c : v.checks) checks.push_back(to_json(c));
  return {{"mode", v.mode}, {"result", v.result}, {"summary", v.summary}, {"checks", checks}};
}

Check check_from_json(const nlohmann::json& j) {
  Check c;
  c.metric = j.at("metric").get<std::string>();
  // JSON has no NaN: nlohmann writes a NaN (a relative reduction of a zero
  // barrier, say) as null, which reads back as NaN, so it still fails.
  c.ours = j.at("ours").is_null() ? std::nan("") : j["ours"].get<double>();
  if (!j.at("ours_std").is_null()) c.ours_spread = j["ours_std"].get<double>();
  if (!j.at("paper").is_null()) c.paper = j["paper"].get<double>();
  c.rule = j.at("rule").get<std::string>();
  c.threshold = j.at("threshold").get<double>();
  c.reason = j.at("reason").get<std::string>();
  c.source = j.at("source").get<std::string>();
  c.pass = j.at("pass").get<bool>();
  return c;
}

Verdict verdict_from_json(const nlohmann::json& j) {
  Verdict v;
  v.mode = j.at("mode").get<std::string>();
  v.result = j.at("result").get<std::string>();
  v.summary = j.at("summary").get<std::string>();
  for (const auto& c : j.at("checks")) v.checks.push_back(check_from_json(c));
  return v;
}

double tolerance(double floor, const Spread& s) { return std::max(floor, s.std ? 2.0 * *s.std : 0.0); }

Spread spread(const std::vector<double>& values) {
  RB_CHECK(!values.empty(), kInternal, "spread of no values");
  Spread s;
  for (double v : values) s.mean += v;
  s.mean /= static_cast<double>(values.size());
  if (values.size() > 1) {
    double sq = 0;
    for (double v : values) sq += (v - s.mean) * (v - s.mean);
    s.std = std::sqrt(sq / static_cast<double>(values.size() - 1));
  }
  return s;
}

}  // namespace repairbench::harness
