#pragma once

#include <string>

#include "repairbench/data/dataset.h"

namespace repairbench::data {

/// Reads one SVHN "cropped digits" file (train_32x32.mat / test_32x32.mat, a
/// MATLAB v5 file): variable X, a 32x32x3xN uint8 array stored column-major,
/// and y, an Nx1 double array of labels 1..10 where 10 means the digit 0.
/// Returns images (N, 3, 32, 32) uint8 and labels (N) int64 in [0, 10).
/// Throws Error(kData) naming the file when it is missing, not a MAT file, or
/// X / y have the wrong type, shape or values.
Dataset read_svhn_mat(const std::string& path);

/// SVHN from `dir`: train_32x32.mat (73,257 images) and test_32x32.mat (26,032).
DatasetSplits load_svhn(const std::string& dir);

}  // namespace repairbench::data
