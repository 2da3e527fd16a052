#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace repairbench::harness {

/// How a check came out. A paper-number check is consistent (kHolds),
/// differs (kFails) or inconclusive; a claim holds or fails.
enum class Outcome { kHolds, kFails, kInconclusive };

/// The rule a check is judged by.
enum class Rule {
  /// The paper's number is one run: is it a plausible new run of ours? It is
  /// judged against the prediction interval of one new run from our n pairs
  /// (judge_against_paper).
  kPrediction,
  kAtLeast,  ///< A claim: ours >= threshold.
  /// A claim judged on paired per-pair values (judge_paired_claim): the 95 %
  /// confidence interval of their mean lies at or above 0.
  kPairedClaim,
};

/// Which paper number a check compares, so that a finding can say what a
/// difference in that direction means.
enum class Quantity {
  kOther,
  kEndpoints,          ///< The mean endpoint test accuracy.
  kAlignedMidpoint,    ///< The uncorrected aligned interpolation at alpha 0.5.
  kCorrectedMidpoint,  ///< A correction's midpoint (Check::metric names the curve).
};

/// What a paper number of one kind is judged with.
struct PaperTolerance {
  /// The reference's own stated run-to-run noise: the interval's half-width
  /// is never narrower, also with a zero spread over our pairs.
  double floor = 0;
  /// The widest half-width at which the comparison still says something
  /// about the reproduction; a wider interval is inconclusive.
  double resolution = 0;
  std::string reason;  ///< Where floor and resolution come from.
};

/// One comparison of ours against the paper, with the rule it is judged by
/// and the reason for that rule's numbers.
struct Check {
  std::string metric;                 ///< e.g. "fashion-mnist h=128: REPAIR barrier reduction (%)".
  double ours = 0;                    ///< Our mean over the pairs.
  std::optional<double> ours_spread;  ///< Std over the seed pairs we ran, if more than one.
  std::optional<double> paper;        ///< The paper's number; empty for claims without one.
  Rule rule = Rule::kPrediction;
  Quantity quantity = Quantity::kOther;  ///< Not stored in reports: the run's own judging uses it.
  /// kPrediction: the interval's half-width. kAtLeast: the bound.
  double threshold = 0;
  std::string reason;  ///< Why this tolerance or bound.
  std::string source;  ///< Where the paper's number comes from.
  Outcome outcome = Outcome::kFails;
  bool pass = false;  ///< outcome == kHolds.
  // kPrediction and kPairedClaim:
  int64_t pairs = 0;      ///< n, the pairs the interval is built from.
  double floor = 0;       ///< PaperTolerance::floor.
  double resolution = 0;  ///< PaperTolerance::resolution.
  /// Distance from the paper's number to the interval's nearer edge, in
  /// points: positive inside, negative outside; and as a share of the half-width.
  double margin = 0;
  double margin_share = 0;
  bool borderline = false;      ///< |margin| under 10 % of the half-width.
  int64_t pairs_to_decide = 0;  ///< Inconclusive: pairs that would decide at this spread (0: none up to 100).
};

// What a paper number is judged with (judge_against_paper). The floors are
// the reference's own run-to-run noise (docs/reference/algorithm.md §5.17): the
// VGG11 notebook expects the merged accuracy within +-5 points and the
// repaired one within +-1 point; endpoints get the +-1 point of the REPAIR
// check. The resolutions are the widest half-widths at which a comparison
// still tells a reproduction from a failed one: endpoints 2 points (a
// recipe's effect on them is about that size), a corrected midpoint 5 points
// (the smallest gap between a repaired and an unrepaired midpoint in the
// paper's MLP figures is larger), the collapsing aligned midpoint 10 points.
inline const PaperTolerance kEndpointTolerance{
    1.0, 2.0, "floor 1 point (reference run-to-run noise), decided below a 2-point half-width"};
inline const PaperTolerance kInterpolatedTolerance{
    5.0, 10.0, "floor 5 points (the VGG11 notebook's expected spread of the merged net), decided below 10"};
inline const PaperTolerance kCorrectedTolerance{
    1.0, 5.0, "floor 1 point (the VGG11 notebook's expected spread after REPAIR), decided below 5"};

/// The two-sided 95 % quantile of Student's t with `df` >= 1 degrees of
/// freedom, t(0.975, df), computed from the t distribution's closed-form CDF
/// for integer df (Abramowitz & Stegun 26.7.3-4).
double student_t975(int64_t df);

/// Judges the paper's single run `paper` against our per-pair values: the
/// prediction interval for one new run, mean +- t(0.975, n-1) s sqrt(1 + 1/n),
/// widened to tolerance.floor. Inconclusive when n < 3 or when the paper's
/// number lies inside an interval wider than tolerance.resolution (then
/// pairs_to_decide says how many pairs at this spread would narrow it enough);
/// differs when it lies outside; consistent otherwise. A non-finite value
/// differs.
Check judge_against_paper(std::string metric, const std::vector<double>& ours, double paper,
                          const PaperTolerance& tolerance, std::string source);

/// A claim with a threshold fixed before the run, judged on one value per
/// pair of endpoints that is >= 0 where the claim holds for that pair (a
/// paired difference: the same endpoints under two treatments, so the pair's
/// own noise cancels). Holds when the 95 % confidence interval of the mean,
/// mean +- t(0.975, n-1) s / sqrt(n), lies at or above 0; fails when it lies
/// below; inconclusive when it straddles 0 or n < 3 (pairs_to_decide: the
/// pairs at which an interval of this spread would clear 0, if any up to 100).
/// margin: the mean's distance from 0, in the values' units.
Check judge_paired_claim(std::string metric, const std::vector<double>& per_pair, std::string reason,
                         std::string source);

/// ours >= bound (a qualitative claim such as "REPAIR reduces the barrier").
Check check_at_least(std::string metric, double ours, std::optional<double> spread, double bound, std::string reason,
                     std::string source);

/// "consistent", "differs" or "inconclusive" for a paper number; "holds",
/// "fails" or "inconclusive" for a paired claim; "pass" or "fail" for a
/// single-value claim.
std::string outcome_name(const Check& check);

/// The verdict of a run: "fail" when a check fails (a paper number differs or
/// a claim fails), else "inconclusive" when a paper number is inconclusive,
/// else "pass"; "no-reference" when there was nothing to compare. A quick
/// preset is judged on the paper's qualitative claims, the paper preset on its
/// numbers; the caller builds the checks accordingly and names the mode here.
struct Verdict {
  std::string mode;  ///< "paper-numbers" or "qualitative".
  std::vector<Check> checks;
  std::string result;
  std::string summary;  ///< e.g. "3 of 4 checks pass" or "1 consistent, 0 differ, 2 inconclusive of 3 checks".
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

}  // namespace repairbench::harness
