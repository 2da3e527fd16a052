#pragma once

#include <torch/nn/module.h>

#include <cstdint>
#include <string>

#include "repairbench/data/dataset.h"

namespace repairbench::testing {

/// A data set of uniformly random pixels and labels, normalized with zero
/// mean / unit-free constants (mean 127.5, std 64), deterministic given `seed`.
/// Good for statistics and symmetry tests that need no learnable signal.
data::Dataset random_dataset(int64_t n, int64_t channels, int64_t size, int64_t classes, uint64_t seed);

/// A learnable data set: each class is a fixed random template plus noise
/// (data::synthetic_dataset).
data::Dataset template_dataset(int64_t n, int64_t channels, int64_t size, int64_t classes, uint64_t seed);

/// Re-draws every Linear/Conv weight with Kaiming-normal (gain sqrt 2) and
/// every bias from N(0, 0.1^2), so activations keep unit-order variance with
/// depth. PyTorch's default init shrinks them layer after layer, and then
/// random networks on random data have near-constant deep channels whose
/// correlations are all dominated by the reference's 1e-4 in the denominator.
void kaiming_init(torch::nn::Module& net);

}  // namespace repairbench::testing
