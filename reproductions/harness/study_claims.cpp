#include "harness/study_claims.h"

#include <cmath>

namespace repairbench::harness {
namespace {

// Sources of the claims' hypotheses.
constexpr const char* kQuHorvath = "Qu & Horvath, arXiv 2402.05966: RESCALE matches REPAIR";
constexpr const char* kRepairPaper = "REPAIR paper: variance collapse, not a mean shift, causes the barrier";
constexpr const char* kRepairBn =
    "Train-and-Permute-CIFAR10-VGG11-BatchNorm.ipynb (official): on a BatchNorm net REPAIR is a BatchNorm reset";
constexpr const char* kStudyBudget = "this study's hypothesis: the corrections' statistics need little data";
constexpr const char* kStudyDataFree = "this study's hypothesis: the input's moments predict usable statistics";

// Per pair: a - b.
std::vector<double> minus(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> out;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) out.push_back(a[i] - b[i]);
  return out;
}

// Per pair: share * gain_of_reference - gain_of_other, both over `base`,
// with `sign` +1 for "other recovers at least share of the reference's gain"
// (other - share * reference >= 0) and -1 for "less than share" (>= 0 where
// share * reference - other > 0).
std::vector<double> share_of_gain(const std::vector<double>& other, const std::vector<double>& reference,
                                  const std::vector<double>& base, double share, double sign) {
  const auto g_other = minus(other, base), g_ref = minus(reference, base);
  std::vector<double> out;
  for (size_t i = 0; i < g_other.size() && i < g_ref.size(); ++i) {
    out.push_back(sign * (g_other[i] - share * g_ref[i]));
  }
  return out;
}

nlohmann::json measurement(const std::string& what, const std::vector<double>& per_pair, const std::string& why) {
  const Spread s = spread(per_pair);
  return {{"what", what},
          {"per_pair", per_pair},
          {"mean", s.mean},
          {"std", s.std ? nlohmann::json(*s.std) : nlohmann::json(nullptr)},
          {"why_not_judged", why}};
}

}  // namespace

StudyJudgement judge_study(const std::vector<FamilyMeasurements>& families,
                           const std::map<std::string, std::map<std::string, std::vector<double>>>& controls) {
  StudyJudgement out;
  for (const auto& f : families) {
    const std::string at = f.family + ", activation matching: ";
    auto has = [&](const char* name) { return f.midpoint.count(name) > 0 && !f.midpoint.at(name).empty(); };
    auto mid = [&](const char* name) { return f.midpoint.at(name); };
    if (!has("interpolated") || !has("repair")) continue;
    const auto base = mid("interpolated"), repair = mid("repair");
    if (has("rescale")) {
      out.claims.push_back(judge_paired_claim(at + "RESCALE's gain over no correction minus 0.9 x REPAIR's (points)",
                                              share_of_gain(mid("rescale"), repair, base, 0.9, 1.0),
                                              "RESCALE (the std alone) recovers at least 90 % of REPAIR's gain",
                                              kQuHorvath));
    }
    if (has("reshift")) {
      out.claims.push_back(judge_paired_claim(at + "0.25 x REPAIR's gain over no correction minus RESHIFT's (points)",
                                              share_of_gain(mid("reshift"), repair, base, 0.25, -1.0),
                                              "RESHIFT (the mean alone) recovers less than 25 % of REPAIR's gain",
                                              kRepairPaper));
      out.measurements.push_back(measurement(at + "REPAIR minus RESHIFT midpoint (points)",
                                             minus(repair, mid("reshift")),
                                             "the claim on RESHIFT's share of REPAIR's gain judges this"));
    }
    if (has("data-free")) {
      out.claims.push_back(
          judge_paired_claim(at + "data-free REPAIR's gain over no correction minus 0.5 x REPAIR's (points)",
                             share_of_gain(mid("data-free"), repair, base, 0.5, 1.0),
                             "data-free REPAIR recovers at least half of REPAIR's gain", kStudyDataFree));
    }
    if (f.batch_norm && has("reset-bn")) {
      std::vector<double> slack;
      for (double d : minus(repair, mid("reset-bn"))) slack.push_back(2.0 - d);
      out.claims.push_back(judge_paired_claim(at + "2 minus REPAIR's midpoint gain over a BatchNorm reset (points)",
                                              slack, "REPAIR gains at most 2 points over a BatchNorm reset",
                                              kRepairBn));
    }
    if (!f.repair_one_batch.empty()) {
      std::vector<double> slack;
      for (double d : minus(f.repair_one_batch, repair)) slack.push_back(1.0 - std::abs(d));
      out.claims.push_back(judge_paired_claim(
          at + "1 minus |REPAIR with one batch of statistics - REPAIR with the default| (points)", slack,
          "one batch of statistics per pass brings REPAIR within 1 point of the default statistics", kStudyBudget));
    }
    const auto c = controls.find(f.family);
    if (c == controls.end()) continue;
    for (const auto& [control, values] : c->second) {
      out.measurements.push_back(measurement(
          f.family + ": REPAIR midpoint, activation matching minus " + control + " (points)", minus(repair, values),
          "tens of points on every net tried: alignment's effect, not a claim "
          "that could fail"));
    }
  }
  return out;
}

}  // namespace repairbench::harness
