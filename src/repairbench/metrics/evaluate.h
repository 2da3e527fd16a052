#pragma once

#include <cstdint>
#include <vector>

#include "repairbench/data/dataset.h"
#include "repairbench/dist/dist.h"
#include "repairbench/models/network.h"

namespace repairbench::metrics {

/// Accuracy and loss of a model on a data set.
struct EvalResult {
  double accuracy = 0;  ///< Percent correct (top-1).
  /// Mean over batches of the batch-mean cross-entropy, as the reference's
  /// evaluate2 computes it (docs/reference/algorithm.md §2d).
  double loss = 0;
  int64_t count = 0;  ///< Images evaluated.
};

/// Evaluates `net` in eval mode (running BN statistics), without augmentation,
/// in batches of `batch_size`, on `device`. Restores the module's training
/// flag afterwards. Grey data is repeated to 3 channels when the model's
/// config asks for 3 input channels. With `flip_tta` the logits are the mean
/// of the image's and its mirror image's (the ImageNet notebooks' flip-TTA,
/// docs/reference/algorithm.md §2d). With `group`, data-parallel: each rank evaluates
/// its share of the batches (dist::share_pass) and the counts and loss sums
/// are all-reduced, so every rank gets one process's result.
EvalResult evaluate(models::NetworkImpl& net, const data::Dataset& dataset, int64_t batch_size,
                    const torch::Device& device, bool flip_tta = false, dist::Group* group = nullptr);

/// The output ensemble of two models at weight `alpha`: logits
/// (1 - alpha) net0(x) + alpha net1(x), evaluated like `evaluate` (the
/// CIFAR-100 split experiment's ensemble curve averages outputs; whether the
/// paper averaged logits or probabilities is not recorded, docs/reference/algorithm.md §4.3).
EvalResult evaluate_ensemble(models::NetworkImpl& net0, models::NetworkImpl& net1, double alpha,
                             const data::Dataset& dataset, int64_t batch_size, const torch::Device& device);

/// The output ensemble of any number of models: logits sum_i weights[i] nets[i](x).
EvalResult evaluate_ensemble(const std::vector<models::NetworkImpl*>& nets, const std::vector<double>& weights,
                             const data::Dataset& dataset, int64_t batch_size, const torch::Device& device);

}  // namespace repairbench::metrics
