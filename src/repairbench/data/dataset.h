#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace repairbench::data {

/// Per-channel normalization constants on the 0..255 pixel scale:
/// x_normalized = (x - mean[c]) / std[c]. Values from
/// docs/reference/algorithm.md §3 ("Normalisation constants").
struct Normalization {
  std::vector<double> mean;
  std::vector<double> std;
};

/// A whole data set split held in memory, as in airbench's CifarLoader: one
/// uint8 image tensor and one label tensor, augmented batch-wise on the device.
struct Dataset {
  std::string name;      ///< Canonical name: "mnist", "fashion-mnist", "cifar10", ...
  torch::Tensor images;  ///< (N, C, H, W) uint8, C = 1 for grey sets, 3 for colour.
  torch::Tensor labels;  ///< (N) int64 in [0, num_classes).
  int64_t num_classes = 0;
  Normalization norm;  ///< Constants for `name`; size C.

  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  int64_t channels() const { return images.size(1); }
  int64_t height() const { return images.size(2); }
  int64_t width() const { return images.size(3); }
};

/// The train and test splits of one data set.
struct DatasetSplits {
  Dataset train;
  Dataset test;
};

/// Normalization constants for a canonical data set name (see Dataset::name),
/// dataset_info(name).norm. Throws Error(kUsage) for an unknown name.
Normalization normalization_for(const std::string& name);

/// Checks the invariants of Dataset (dtypes, shapes, label range, channel count
/// of `norm`); `origin` names the file(s) it came from for the error message.
/// Throws Error(kData).
void validate(const Dataset& dataset, const std::string& origin);

/// Checks that `path` is a regular file before a reader opens it, so that a
/// missing file and a directory in its place each get their own message;
/// `what` names the format ("IDX file", ...). Throws Error(kData).
void check_input_file(const std::string& path, const std::string& what);

/// The rows of `dataset` at `indices` ((K) int64), in that order.
Dataset subset(const Dataset& dataset, const torch::Tensor& indices);

/// Two disjoint parts of one training set.
struct DatasetHalves {
  Dataset first;
  Dataset second;
};

/// The two disjoint halves of the paper's split-data experiment
/// (docs/reference/algorithm.md §3, "CIFAR-100 split"): the first half holds a
/// random `fraction` of the images of each class in [0, num_classes/2) and
/// 1 - fraction of each class in [num_classes/2, num_classes); the second half
/// holds the rest. With fraction = 0.8 on CIFAR-100's 50,000 training images
/// each half has 25,000. Deterministic given `seed`.
DatasetHalves class_proportion_split(const Dataset& dataset, double fraction, uint64_t seed);

}  // namespace repairbench::data
