#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "repairbench/data/dataset.h"

namespace repairbench::data {

/// What repairbench knows about a data set it can load, in one table
/// (data/registry.cpp) instead of re-derived from the name where it is used.
struct DatasetInfo {
  std::string name;      ///< Canonical name, e.g. "fashion-mnist".
  int64_t channels = 3;  ///< As stored: 1 for the grey sets.
  /// Height = width of a model's input: the stored size (28, 32), 224 for
  /// ImageNet (resized crops, docs/reference/algorithm.md §4.1).
  int64_t image_size = 32;
  int64_t synthetic_size = 32;  ///< Of the synthetic stand-in (64 for ImageNet).
  int64_t classes = 10;
  int64_t synthetic_classes = 10;  ///< Of the stand-in (10 for ImageNet: smoke runs stay small).
  /// Per-channel constants on the 0..255 scale (docs/reference/algorithm.md §3,
  /// "Normalisation constants").
  Normalization norm;
  /// A horizontal flip keeps the label: not for digits (MNIST, SVHN), which
  /// the reference trains without flips or cutout (docs/reference/algorithm.md §3).
  bool flips_safe = true;
};

/// Every data set `load_dataset` accepts, in dataset_names() order.
const std::vector<DatasetInfo>& dataset_infos();

/// The entry of `name`; throws Error(kUsage) naming the known data sets.
const DatasetInfo& dataset_info(const std::string& name);

/// The entry of `name`, or nullptr for a name that is not a data set (a
/// synthetic stand-in's, a test's).
const DatasetInfo* find_dataset_info(const std::string& name);

}  // namespace repairbench::data
