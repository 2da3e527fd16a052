#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/verdict.h"

namespace repairbench::harness {

/// What the study's claims are judged on, for one family merged with
/// activation matching: one value per pair of endpoints (seeds 2k+1, 2k+2),
/// the same pairs under every correction, so differences are paired.
struct FamilyMeasurements {
  std::string family;  ///< The study token, e.g. "mlp128@fashion-mnist".
  bool batch_norm = false;
  /// Midpoint test accuracy (%) per pair, by curve name ("interpolated",
  /// "repair", "rescale", "reshift", "reset-bn", "data-free", ...).
  std::map<std::string, std::vector<double>> midpoint;
  /// REPAIR's midpoint per pair with one batch of statistics per pass (empty
  /// where the budget was not run).
  std::vector<double> repair_one_batch;
};

/// The study's verdict: the claims it judges, each a hypothesis with a
/// threshold fixed here before any run, a cited source and a paired
/// interval (judge_paired_claim), and what it measures but does not judge
/// because no plausible data could make it fail (REPAIR against RESHIFT's
/// barrier reduction, aligned against unaligned merging, the output ensemble
/// against a merged net: margins of tens of points).
struct StudyJudgement {
  std::vector<Check> claims;
  nlohmann::json measurements = nlohmann::json::array();
};

/// Judges, per family (a claim is skipped where its corrections did not run):
/// RESCALE recovers at least 90 % of REPAIR's gain over no correction; RESHIFT
/// alone recovers less than 25 % of it; data-free REPAIR at least half of it;
/// on BatchNorm nets REPAIR gains at most 2 points over a BatchNorm reset;
/// and REPAIR with one batch of statistics is within 1 point of the default
/// statistics. `controls` holds, per family, REPAIR's midpoint per pair after
/// no alignment ("none") and a random one ("random"), reported as measurements.
StudyJudgement judge_study(const std::vector<FamilyMeasurements>& families,
                           const std::map<std::string, std::map<std::string, std::vector<double>>>& controls);

}  // namespace repairbench::harness
