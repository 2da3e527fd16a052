#pragma once

#include <cstdint>
#include <string>

#include "repairbench/data/dataset.h"

namespace repairbench::data {

/// A small learnable stand-in for a real data set, for smoke runs of the
/// reproduction targets and for tests: each class is a fixed random image
/// template plus Gaussian noise (std 40 on the 0..255 scale). Normalized with
/// mean 127.5 / std 64. Deterministic given `seed`.
Dataset synthetic_dataset(const std::string& name, int64_t n, int64_t channels, int64_t size, int64_t classes,
                          uint64_t seed);

/// Train (n_train images) and test (n_test) splits drawn from the same
/// templates, shaped like the real data set `like` (e.g. 1x28x28 for
/// "fashion-mnist", 3x32x32 for "cifar10"); named "synthetic-<like>".
DatasetSplits synthetic_splits(const std::string& like, int64_t n_train, int64_t n_test, uint64_t seed);

}  // namespace repairbench::data
