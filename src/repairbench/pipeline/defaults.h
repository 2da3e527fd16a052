#pragma once

#include <string>

#include "repairbench/data/loader.h"
#include "repairbench/models/model_config.h"
#include "repairbench/stats/pair_stats.h"

namespace repairbench::pipeline {

/// The statistics data and settings the reference uses for alignment and
/// REPAIR of each model family (repair_reference.md section 3, "Statistics /
/// matching data, per experiment", and pitfalls 5, 6, 14). Always training
/// data, never the test set.
struct StatsDefaults {
  data::LoaderOptions loader;   ///< Batch size, augmentation, shuffling.
  int64_t endpoint_epochs = 1;  ///< Passes for the endpoints' REPAIR statistics.
  int64_t merged_epochs = 1;    ///< Passes through the merged net.
  double target_std_eps = 0.0;  ///< See RepairOptions::target_std_eps.
  stats::StdEstimate std_estimate = stats::StdEstimate::kMoment;
  std::string source;  ///< Which notebook these follow.
};

StatsDefaults stats_defaults(const models::ModelConfig& model, const std::string& dataset);

}  // namespace repairbench::pipeline
