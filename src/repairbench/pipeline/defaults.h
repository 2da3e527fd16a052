#pragma once

#include <string>

#include "repairbench/data/loader.h"
#include "repairbench/models/model_config.h"
#include "repairbench/stats/pair_stats.h"
#include "repairbench/train/recipe.h"

namespace repairbench::pipeline {

/// The statistics data and settings the reference uses for alignment and
/// REPAIR of each model family (docs/reference/algorithm.md §3, "Statistics /
/// matching data, per experiment", and docs/reference/algorithm.md §5.5, §5.6 and §5.14). Always training
/// data, never the test set.
struct StatsDefaults {
  data::LoaderOptions loader;   ///< Batch size, augmentation, shuffling.
  int64_t endpoint_epochs = 1;  ///< Passes for the endpoints' REPAIR statistics.
  int64_t merged_epochs = 1;    ///< Passes through the merged net.
  double target_std_eps = 0.0;  ///< See RepairOptions::target_std_eps.
  stats::StdEstimate std_estimate = stats::StdEstimate::kMoment;
  std::string source;  ///< Which notebook these follow.
};

/// The order of the statistics batches: the reference's (shuffled, with the
/// family's augmentation), or one un-augmented pass in data-set order, which
/// every implementation reads alike (`merge --stats-order`).
enum class StatsOrder { kShuffled, kSequential };
/// "shuffled" or "sequential".
const char* stats_order_name(StatsOrder order);
/// Throws Error(kUsage) for any other name.
StatsOrder parse_stats_order(const std::string& name);

/// What the reference does for one experiment: how it trains the endpoints
/// and which statistics it aligns and REPAIRs them with.
struct ExperimentDefaults {
  train::Recipe recipe;
  StatsDefaults stats;
};

/// The defaults of `model` (its family and norm) trained on `dataset`, from
/// one table (docs/reference/algorithm.md §3): the data set decides only the
/// augmentations that would change a label (flips of digits, cutout on
/// MNIST and SVHN). Throws Error(kInternal) for a family the table lacks.
ExperimentDefaults experiment_defaults(const models::ModelConfig& model, const std::string& dataset);

/// experiment_defaults(model, dataset).recipe: the preset the paper uses.
train::Recipe default_recipe(const models::ModelConfig& model, const std::string& dataset);

/// experiment_defaults(model, dataset).stats.
StatsDefaults stats_defaults(const models::ModelConfig& model, const std::string& dataset);

}  // namespace repairbench::pipeline
