#include "harness/verdict.h"

#include <algorithm>
#include <cmath>

#include "repairbench/core/error.h"

namespace repairbench::harness {

namespace {

constexpr double kPi = 3.14159265358979323846;

// P(|T| <= t) for Student's t with integer df: Abramowitz & Stegun 26.7.3
// (odd df) and 26.7.4 (even df), finite sums in theta = atan(t / sqrt(df)).
double t_two_sided_cdf(double t, int64_t df) {
  const double theta = std::atan(t / std::sqrt(static_cast<double>(df)));
  const double c2 = std::cos(theta) * std::cos(theta), sine = std::sin(theta);
  double sum = 1.0, term = 1.0;
  if (df % 2 == 0) {
    for (int64_t k = 2; k <= df - 2; k += 2) {
      term *= c2 * static_cast<double>(k - 1) / static_cast<double>(k);
      sum += term;
    }
    return sine * sum;
  }
  if (df == 1) return 2.0 * theta / kPi;
  for (int64_t k = 3; k <= df - 2; k += 2) {
    term *= c2 * static_cast<double>(k - 1) / static_cast<double>(k);
    sum += term;
  }
  return 2.0 / kPi * (theta + sine * std::cos(theta) * sum);
}

// Half-width of the prediction interval of one new run from n runs of spread s.
double prediction_half_width(int64_t n, double s) {
  return student_t975(n - 1) * s * std::sqrt(1.0 + 1.0 / static_cast<double>(n));
}

constexpr int64_t kMostPairs = 100;  // --pairs' limit

const char* rule_name(Rule rule) {
  switch (rule) {
    case Rule::kPrediction:
      return "prediction";
    case Rule::kAtLeast:
      return "at_least";
    case Rule::kPairedClaim:
      return "paired_claim";
  }
  return "?";
}

}  // namespace

double student_t975(int64_t df) {
  RB_CHECK(df >= 1, kInternal, "Student's t needs at least one degree of freedom, got ", df);
  // The CDF rises with t: bisect P(|T| <= t) = 0.95 between the normal
  // quantile (every t quantile lies above it) and t(0.975, 1) = 12.71.
  double lo = 1.959, hi = 12.8;
  for (int i = 0; i < 200 && hi - lo > 1e-12; ++i) {
    const double mid = 0.5 * (lo + hi);
    (t_two_sided_cdf(mid, df) < 0.95 ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

Check judge_against_paper(std::string metric, const std::vector<double>& ours, double paper,
                          const PaperTolerance& tolerance, std::string source) {
  RB_CHECK(!ours.empty(), kInternal, "no runs to judge ", metric, " on");
  RB_CHECK(tolerance.floor >= 0 && tolerance.resolution >= tolerance.floor, kInternal, "the tolerance of ", metric,
           " needs 0 <= floor <= resolution");
  const Spread s = spread(ours);
  Check c;
  c.metric = std::move(metric);
  c.ours = s.mean;
  c.ours_spread = s.std;
  c.paper = paper;
  c.rule = Rule::kPrediction;
  c.reason = tolerance.reason;
  c.source = std::move(source);
  c.pairs = static_cast<int64_t>(ours.size());
  c.floor = tolerance.floor;
  c.resolution = tolerance.resolution;
  const double spread_std = s.std.value_or(0.0);
  const double half = std::max(tolerance.floor, s.std ? prediction_half_width(c.pairs, spread_std) : 0.0);
  c.threshold = half;
  c.margin = half - std::abs(s.mean - paper);
  c.margin_share = half > 0 ? c.margin / half : 0.0;
  c.borderline = std::abs(c.margin) < 0.1 * half;
  const bool finite = std::isfinite(s.mean) && std::isfinite(half);
  if (!finite || c.margin < 0) {
    c.outcome = Outcome::kFails;
  } else if (c.pairs < 3 || half > tolerance.resolution) {
    c.outcome = Outcome::kInconclusive;
    // The pairs at which an interval of this spread fits the resolution
    // (the spread itself is taken as measured).
    for (int64_t n = 3; n <= kMostPairs; ++n) {
      if (std::max(tolerance.floor, prediction_half_width(n, spread_std)) <= tolerance.resolution) {
        c.pairs_to_decide = n;
        break;
      }
    }
  } else {
    c.outcome = Outcome::kHolds;
  }
  c.pass = c.outcome == Outcome::kHolds;
  return c;
}

Check judge_paired_claim(std::string metric, const std::vector<double>& per_pair, std::string reason,
                         std::string source) {
  RB_CHECK(!per_pair.empty(), kInternal, "no pairs to judge ", metric, " on");
  const Spread s = spread(per_pair);
  Check c;
  c.metric = std::move(metric);
  c.ours = s.mean;
  c.ours_spread = s.std;
  c.rule = Rule::kPairedClaim;
  c.reason = std::move(reason);
  c.source = std::move(source);
  c.pairs = static_cast<int64_t>(per_pair.size());
  auto half_width = [](int64_t n, double sd) { return student_t975(n - 1) * sd / std::sqrt(static_cast<double>(n)); };
  const double sd = s.std.value_or(0.0);
  const double half = s.std ? half_width(c.pairs, sd) : 0.0;
  c.threshold = half;
  c.margin = s.mean;
  c.margin_share = half > 0 ? s.mean / half : 0.0;
  c.borderline = half > 0 && std::abs(std::abs(s.mean) - half) < 0.1 * half;
  if (!std::isfinite(s.mean) || !std::isfinite(half)) {
    c.outcome = Outcome::kFails;
  } else if (c.pairs >= 3 && s.mean - half >= 0) {
    c.outcome = Outcome::kHolds;
  } else if (c.pairs >= 3 && s.mean + half < 0) {
    c.outcome = Outcome::kFails;
  } else {
    c.outcome = Outcome::kInconclusive;
    for (int64_t n = 3; n <= kMostPairs; ++n) {
      if (half_width(n, sd) < std::abs(s.mean)) {
        c.pairs_to_decide = n;
        break;
      }
    }
  }
  c.pass = c.outcome == Outcome::kHolds;
  return c;
}

Check check_at_least(std::string metric, double ours, std::optional<double> spread, double bound, std::string reason,
                     std::string source) {
  Check c;
  c.metric = std::move(metric);
  c.ours = ours;
  c.ours_spread = spread;
  c.rule = Rule::kAtLeast;
  c.threshold = bound;
  c.reason = std::move(reason);
  c.source = std::move(source);
  c.pass = std::isfinite(ours) && ours >= bound;
  c.outcome = c.pass ? Outcome::kHolds : Outcome::kFails;
  return c;
}

std::string outcome_name(const Check& c) {
  if (c.rule == Rule::kAtLeast) return c.pass ? "pass" : "fail";
  if (c.rule == Rule::kPairedClaim) {
    return c.outcome == Outcome::kHolds ? "holds" : c.outcome == Outcome::kFails ? "fails" : "inconclusive";
  }
  switch (c.outcome) {
    case Outcome::kHolds:
      return "consistent";
    case Outcome::kFails:
      return "differs";
    case Outcome::kInconclusive:
      return "inconclusive";
  }
  return "?";
}

Verdict make_verdict(std::string mode, std::vector<Check> checks) {
  Verdict v;
  v.mode = std::move(mode);
  v.checks = std::move(checks);
  size_t passed = 0, failed = 0, inconclusive = 0;
  for (const auto& c : v.checks) {
    passed += c.outcome == Outcome::kHolds ? 1 : 0;
    failed += c.outcome == Outcome::kFails ? 1 : 0;
    inconclusive += c.outcome == Outcome::kInconclusive ? 1 : 0;
  }
  v.result = v.checks.empty() ? "no-reference" : failed > 0 ? "fail" : inconclusive > 0 ? "inconclusive" : "pass";
  v.summary = std::to_string(passed) + " of " + std::to_string(v.checks.size()) + " checks pass";
  if (inconclusive > 0) v.summary += ", " + std::to_string(inconclusive) + " inconclusive";
  return v;
}

nlohmann::json to_json(const Check& c) {
  nlohmann::json j = {{"metric", c.metric},
                      {"ours", c.ours},
                      {"rule", rule_name(c.rule)},
                      {"threshold", c.threshold},
                      {"reason", c.reason},
                      {"source", c.source},
                      {"pass", c.pass}};
  j["ours_std"] = c.ours_spread ? nlohmann::json(*c.ours_spread) : nlohmann::json(nullptr);
  j["paper"] = c.paper ? nlohmann::json(*c.paper) : nlohmann::json(nullptr);
  if (c.paper) j["difference"] = c.ours - *c.paper;
  if (c.rule != Rule::kAtLeast) {
    j["outcome"] = outcome_name(c);
    j["pairs"] = c.pairs;
    j["interval"] = {c.ours - c.threshold, c.ours + c.threshold};
    if (c.rule == Rule::kPrediction) {
      j["floor"] = c.floor;
      j["resolution"] = c.resolution;
    }
    j["margin"] = c.margin;
    j["margin_share"] = c.margin_share;
    j["borderline"] = c.borderline;
    j["pairs_to_decide"] = c.pairs_to_decide;
  }
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
  const std::string rule = j.at("rule").get<std::string>();
  RB_CHECK(rule == "prediction" || rule == "at_least" || rule == "paired_claim", kUsage, "a check's rule is '", rule,
           "', not prediction, paired_claim or at_least");
  c.rule = rule == "prediction" ? Rule::kPrediction : rule == "paired_claim" ? Rule::kPairedClaim : Rule::kAtLeast;
  c.threshold = j.at("threshold").get<double>();
  c.reason = j.at("reason").get<std::string>();
  c.source = j.at("source").get<std::string>();
  c.pass = j.at("pass").get<bool>();
  c.outcome = c.pass ? Outcome::kHolds : Outcome::kFails;
  if (c.rule != Rule::kAtLeast) {
    const std::string outcome = j.at("outcome").get<std::string>();
    const bool holds = outcome == "consistent" || outcome == "holds";
    const bool fails = outcome == "differs" || outcome == "fails";
    RB_CHECK(holds || fails || outcome == "inconclusive", kUsage, "a check's outcome is '", outcome,
             "', not consistent, differs, holds, fails or inconclusive");
    c.outcome = holds ? Outcome::kHolds : fails ? Outcome::kFails : Outcome::kInconclusive;
    c.pairs = j.at("pairs").get<int64_t>();
    if (c.rule == Rule::kPrediction) {
      c.floor = j.at("floor").get<double>();
      c.resolution = j.at("resolution").get<double>();
    }
    c.margin = j.at("margin").get<double>();
    c.margin_share = j.at("margin_share").get<double>();
    c.borderline = j.at("borderline").get<bool>();
    c.pairs_to_decide = j.at("pairs_to_decide").get<int64_t>();
  }
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
