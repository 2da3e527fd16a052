#pragma once

#include <string>

#include "repairbench/data/loader.h"
#include "repairbench/models/model_config.h"
#include "repairbench/stats/pair_stats.h"
#include "repairbench/train/recipe.h"

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

/// What the reference does for one experiment: how it trains the endpoints
/// and which statistics it aligns and REPAIRs them with.
struct ExperimentDefaults {
  train::Recipe recipe;
  StatsDefaults stats;
};

/// The defaults of `model` (its family and norm) trained on `dataset`, from
/// one table (repair_reference.md section 3): the data set decides only the
/// augmentations that would change a label (flips of digits, cutout on
/// MNIST and SVHN). Throws Error(kInternal) for a family the table lacks.
ExperimentDefaults experiment_defaults(const models::ModelConfig& model, const std::string& dataset);

/// experiment_defaults(model, dataset).recipe: the preset the paper uses.
train::Recipe default_recipe(const models::ModelConfig& model, const std::string& dataset);

/// experiment_defaults(model, dataset).stats.
StatsDefaults stats_defaults(const models::ModelConfig& model, const std::string& dataset);

}  // namespace repairbench::pipeline
