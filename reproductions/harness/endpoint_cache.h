#pragma once

#include <torch/types.h>

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "repairbench/data/dataset.h"
#include "repairbench/models/network.h"
#include "repairbench/train/recipe.h"
#include "repairbench/train/trainer.h"

namespace repairbench::harness {

/// Everything that determines a trained endpoint. Two specs with the same
/// key train the same model bit for bit on the same machine.
struct EndpointSpec {
  models::ModelConfig model;
  std::string dataset;  ///< Canonical data set name (or a synthetic stand-in).
  train::Recipe recipe;
  uint64_t seed = 0;  ///< Initialization, data order and augmentation.
  int64_t max_batches_per_epoch = 0;
};

/// The spec as canonical JSON, including the training-code version.
nlohmann::json to_json(const EndpointSpec& spec);
/// What identifies a trained endpoint: to_json(spec) without the recipe's
/// `source`, a description for the reader, so that rewording it keeps every
/// cache entry. Takes a stored spec too (a checkpoint's meta["spec"]).
nlohmann::json identity(nlohmann::json spec_json);
/// 16 hex digits of a hash of identity(to_json(spec)).
std::string cache_key(const EndpointSpec& spec);

/// A trained endpoint and where it came from.
struct Endpoint {
  models::Network net;
  std::string path;
  bool trained_now = false;
  /// Training wall time this process spent on it: 0 when loaded from the
  /// cache, less than meta["train_seconds"] (every run's, summed) when
  /// this process resumed an interrupted training.
  double this_run_training_seconds = 0;
  nlohmann::json meta;  ///< The checkpoint's metadata (recipe, test accuracy, train seconds, ...).
};

/// An endpoint as reports list it: path, whether this process trained it,
/// this run's and every run's training seconds, seed.
nlohmann::json to_json(const Endpoint& endpoint);

/// Loads the endpoint `spec` describes from `cache_dir` or, when it is not
/// there (or `retrain`), trains it on `splits.train`, evaluates it on
/// `splits.test` and stores it. The cache file is
/// <cache_dir>/<family>_<key>.pt; a lock file serializes processes that need
/// the same endpoint, so it is trained once and never half-written. With a
/// `log`, says what it loads or trains and shows the training's progress.
/// Entries stored under an earlier key (one that hashed the recipe's `source`
/// as well) are found by their stored spec and renamed to the current key
/// once per cache folder (`.keys-from-fields` marks it done); a read-only
/// folder's are read where they are.
Endpoint train_or_load(const EndpointSpec& spec, const data::DatasetSplits& splits, const std::string& cache_dir,
                       bool retrain, const torch::Device& device, std::ostream* log = nullptr);

}  // namespace repairbench::harness
