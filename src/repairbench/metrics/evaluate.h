#pragma once

#include <cstdint>

#include "repairbench/data/dataset.h"
#include "repairbench/models/network.h"

namespace repairbench::metrics {

/// Accuracy and loss of a model on a data set.
struct EvalResult {
  double accuracy = 0;  ///< Percent correct (top-1).
  /// Mean over batches of the batch-mean cross-entropy, as the reference's
  /// evaluate2 computes it (repair_reference.md section 2d).
  double loss = 0;
  int64_t count = 0;    ///< Images evaluated.
};

/// Evaluates `net` in eval mode (running BN statistics), without augmentation,
/// in batches of `batch_size`, on `device`. Restores the module's training
/// flag afterwards. Grey data is repeated to 3 channels when the model's
/// config asks for 3 input channels.
EvalResult evaluate(models::NetworkImpl& net, const data::Dataset& dataset, int64_t batch_size,
                    const torch::Device& device);

}  // namespace repairbench::metrics
