#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace repairbench::harness {

/// One comparison of ours against the paper, with the tolerance it is judged
/// by and the reason for that tolerance.
struct Check {
  std::string metric;  ///< e.g. "fashion-mnist h=128: REPAIR barrier reduction (%)".
  double ours = 0;
  std::optional<double> ours_spread;  ///< Std over the seed pairs we ran, if more than one.
  std::optional<double> paper;        ///< The paper's number; empty for claims without one.
  /// "within": |ours - paper| <= tolerance. "at_least": ours >= threshold.
  std::string rule = "within";
  double threshold = 0;  ///< The tolerance ("within") or the bound ("at_least").
  std::string reason;    ///< Why this tolerance or bound.
  std::string source;    ///< Where the paper's number comes from.
  bool pass = false;
};

/// |ours - paper| <= tolerance.
Check check_within(std::string metric, double ours, std::optional<double> spread, double paper, double tolerance,
                   std::string reason, std::string source);
/// ours >= bound (a qualitative claim such as "REPAIR reduces the barrier").
Check check_at_least(std::string metric, double ours, std::optional<double> spread, double bound, std::string reason,
                     std::string source);

/// The verdict of a run: "pass" when every check passes, "fail" otherwise,
/// "no-reference" when there was nothing to compare. A quick preset is judged
/// on the paper's qualitative claims, the paper preset on its numbers; the
/// caller builds the checks accordingly and names the mode here.
struct Verdict {
  std::string mode;  ///< "paper-numbers" or "qualitative".
  std::vector<Check> checks;
  std::string result;
  std::string summary;  ///< e.g. "3 of 4 checks pass".
};

Verdict make_verdict(std::string mode, std::vector<Check> checks);

nlohmann::json to_json(const Check& check);
nlohmann::json to_json(const Verdict& verdict);
/// The check and verdict to_json wrote; throw nlohmann::json's type and
/// out-of-range errors for a malformed one.
Check check_from_json(const nlohmann::json& j);
Verdict verdict_from_json(const nlohmann::json& j);

/// Mean and sample standard deviation (empty for fewer than two values).
struct Spread {
  double mean = 0;
  std::optional<double> std;
};
Spread spread(const std::vector<double>& values);

/// The tolerance a paper number is judged with: `floor` (the stated one), or
/// 2 std over our pairs when that is larger.
double tolerance(double floor, const Spread& s);

}  // namespace repairbench::harness
