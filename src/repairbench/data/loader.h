#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <cstdint>

#include "repairbench/data/augment.h"
#include "repairbench/data/dataset.h"

namespace repairbench::data {

/// How a Loader batches a data set.
struct LoaderOptions {
  int64_t batch_size = 500;
  /// Reshuffle at every epoch (a new permutation from the seeded generator).
  bool shuffle = false;
  /// Drop the last incomplete batch (the reference's train loaders do).
  bool drop_last = false;
  AugmentOptions augment;
  /// Seed of the generator behind shuffling and augmentation.
  uint64_t seed = 0;
  /// Channels the model expects: grey data sets are repeated to 3 channels
  /// when it wants 3 (the reference stores grey images as RGB). 0 = as stored.
  int64_t channels = 0;
  torch::Device device = torch::kCPU;
  /// Data-parallel training: batch(i) returns rows [rank * B / count,
  /// (rank + 1) * B / count) of the global batch of size B = batch_size, after
  /// the whole batch's augmentation, so the ranks together see exactly the
  /// batches (and random augmentations) of one process. B must divide evenly.
  int64_t shard_rank = 0, shard_count = 1;
  /// An epoch is its first max_batches batches (of the shuffled order, when
  /// shuffling); 0 = all of them. The statistics budget of the study target
  ///: how little data the corrections need.
  int64_t max_batches = 0;
};

/// One batch: images normalized with the data set's constants.
struct Batch {
  torch::Tensor images;  ///< (B, C, H, W) float32 on the loader's device.
  torch::Tensor labels;  ///< (B) int64 on the loader's device.
};

/// Batches an in-memory data set the way airbench's CifarLoader does: the
/// uint8 images live on the device once, and every batch is gathered,
/// augmented and normalized there with a few tensor operations.
///
/// Usage:
///   Loader loader(train, options);
///   for (int64_t epoch = 0; epoch < epochs; ++epoch) {
///     loader.new_epoch();
///     for (int64_t i = 0; i < loader.num_batches(); ++i) step(loader.batch(i));
///   }
/// Given the seed, the sequence of batches is deterministic as long as the
/// batches of an epoch are requested in order.
class Loader {
 public:
  Loader(const Dataset& dataset, LoaderOptions options);

  /// Batches per epoch.
  int64_t num_batches() const;
  /// Images per epoch (num_batches * batch_size with drop_last).
  int64_t num_images() const;
  /// Draws the order of the next epoch (identity order without shuffle).
  void new_epoch();
  /// Batch `i` of the current epoch, 0 <= i < num_batches().
  Batch batch(int64_t i);
  /// Passes over batch `i` without returning it, leaving the generator where
  /// batch(i) would: a data-parallel pass that leaves batch i to another rank
  /// still draws the same augmentations for its own later batches. Costs the
  /// random numbers alone (data::skip_augment).
  void skip(int64_t i);

  const Dataset& dataset() const { return dataset_; }
  const LoaderOptions& options() const { return options_; }

  /// The generator behind shuffling and augmentation, as a uint8 tensor; with
  /// set_generator_state a resumed training run draws the same batches as an
  /// uninterrupted one.
  torch::Tensor generator_state() const;
  void set_generator_state(const torch::Tensor& state);

 private:
  Dataset dataset_;  // images/labels moved to options_.device
  LoaderOptions options_;
  at::Generator generator_;
  torch::Tensor order_;              // (N) int64 on the device
  torch::Tensor mean_, std_, fill_;  // (C) float32, 0..255 scale
  bool started_ = false;
};

}  // namespace repairbench::data
