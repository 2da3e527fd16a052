#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "repairbench/data/dataset.h"
#include "repairbench/dist/dist.h"
#include "repairbench/models/network.h"
#include "repairbench/train/recipe.h"

namespace repairbench::train {

/// Where training is, for progress displays; passed after every iteration.
struct TrainProgress {
  int64_t epoch = 0, epochs = 0;   ///< 0-based epoch, total epochs.
  int64_t batch = 0, batches = 0;  ///< 0-based batch within the epoch, batches per epoch.
  double loss = 0;                 ///< Mean training loss of the epoch so far.
  double lr = 0;                   ///< Learning rate of the last iteration.
  double images_per_second = 0;    ///< Since the start of training.
  double elapsed_seconds = 0;
};

/// One finished epoch.
struct EpochLog {
  int64_t epoch = 0;
  double train_loss = 0;      ///< Mean loss over the epoch's (augmented) batches.
  double train_accuracy = 0;  ///< Percent correct on those batches, in train mode.
  double seconds = 0;
};

struct TrainOptions {
  Recipe recipe;
  /// Seeds the data order and augmentation (the model's initialization is
  /// seeded where the model is built).
  uint64_t seed = 0;
  torch::Device device = torch::kCPU;
  /// Stop each epoch after this many batches (0 = all); for smoke tests.
  int64_t max_batches_per_epoch = 0;
  std::function<void(const TrainProgress&)> on_iteration;
  std::function<void(const EpochLog&)> on_epoch;
  /// Training-state file for crash safety: weights, SGD momenta, the data-order
  /// generator, the GradScaler emulation and the epoch logs, written atomically
  /// after every `checkpoint_every` epochs. "" = none. When the file exists,
  /// train() resumes from it (it must come from the same model, data set,
  /// recipe and seed); on the CPU the final weights are then bitwise those of
  /// an uninterrupted run. The caller removes it once the final model is
  /// stored: a leftover file means the run did not finish.
  std::string state_path;
  int64_t checkpoint_every = 1;
  /// Data-parallel training (null: one process). Every rank starts from rank
  /// 0's weights, computes its 1/size share of each global batch of
  /// recipe.batch_size (data::LoaderOptions::shard_rank), and the gradients are
  /// averaged over ranks in buckets all-reduced while backward runs
  /// (dist::GradientAverager), so the ranks take the steps of one process with
  /// the same global batch up to float summation order. BatchNorm statistics
  /// stay per rank (no SyncBatchNorm), as in PyTorch's
  /// DistributedDataParallel. Only rank 0 writes the state file.
  std::shared_ptr<dist::Group> group;
  /// Gradient bucket size of data-parallel training: 25 MiB as PyTorch DDP's
  /// bucket_cap_mb. A model smaller than one bucket gets one all-reduce after
  /// backward; overlap pays off when communication is slower than the cores
  /// (on the 2-core machine, 1 MiB buckets measured no faster: docs/scaling.md).
  int64_t bucket_bytes = int64_t{25} << 20;
  /// Keep 4-d weights and batches in channels-last (NHWC) memory order while
  /// training, which oneDNN's convolutions may run faster
  /// (docs/performance.md); the network is handed back in the default order. The same
  /// computation in another order: results differ in float rounding only.
  bool channels_last = false;
};

struct TrainResult {
  std::vector<EpochLog> epochs;
  int64_t iterations = 0;
  int64_t skipped_steps = 0;             ///< Steps skipped by the GradScaler emulation (Recipe::grad_scaler).
  int64_t resumed_epochs = 0;            ///< Epochs restored from TrainOptions::state_path (0 = a fresh start).
  double seconds = 0;                    ///< Training wall time, the interrupted runs before a resume included.
  double this_run_training_seconds = 0;  ///< This process's part of `seconds` (all of it for a fresh start).
  double images_per_second = 0;
};

/// Trains `net` in place with SGD + momentum following `options.recipe`
/// (per-iteration learning rate, drop_last shuffled batches, augmentation on
/// the device). Deterministic on the CPU given the seeds. A non-finite loss
/// stops training with Error(kNumeric) naming the epoch and iteration, unless
/// the recipe emulates GradScaler, which skips such steps (and stops only
/// when every step of an epoch is skipped). A stopped run leaves its last
/// state file in place, and the error says where.
TrainResult train(models::NetworkImpl& net, const data::Dataset& train_set, const TrainOptions& options);

}  // namespace repairbench::train
