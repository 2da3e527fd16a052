#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "harness/sweep.h"
#include "harness/target_cli.h"
#include "repairbench/models/model_config.h"
#include "repairbench/repair/repair.h"

namespace repairbench::harness {

/// One family of the study grid, "<model>@<data set>": model
/// mlp<width> (the mlp_datasets MLP, 10 extra hidden layers) or
/// resnet20-<bn|ln|none> (width 1, the resnet20_datasets nets).
struct StudyFamily {
  std::string token;
  models::ModelConfig model;
  std::string dataset;
};

/// Parses a family token; throws Error(kUsage) naming what it accepts.
StudyFamily parse_study_family(const std::string& token);

/// The corrections the study applies to `model`: reset-bn (BatchNorm nets),
/// repair, rescale and reshift (every net), closed-form and data-free
/// (norm-free MLPs, the only nets their statistics predictions cover).
std::vector<repair::RepairMethod> study_corrections(const models::ModelConfig& model);

struct StudyGrid {
  std::vector<StudyFamily> families;
  std::vector<pipeline::Matcher> matchers;
  /// The statistics budget: batches per pass, one pass for the endpoints and
  /// one through the merged net, on the first family with activation matching.
  std::vector<int64_t> budgets;
  /// Many-model merging on the first family: N = 2 .. max_models endpoints (seeds 1..N).
  int64_t max_models = 5;
};

/// The sweep: one point per (family, matcher) with the family's corrections
/// at alpha 0.5 only, then one per budget. Every point of a family merges the
/// same cached endpoints.
Plan study_plan(const TargetSettings& settings, const StudyGrid& grid);

/// What the study adds once the sweep ran: the table of midpoint accuracy,
/// loss and barrier reduction per (family, matcher, correction) with the
/// spread over pairs; the per-layer variance ratios after each correction;
/// the budget curves; many-model merging against the best endpoint and the
/// output ensemble; heat maps and charts; and the claims it tests, judged on
/// these measurements.
Extension study_results(const TargetSettings& settings, const StudyGrid& grid,
                        const std::vector<PointOutcome>& outcomes);

}  // namespace repairbench::harness
