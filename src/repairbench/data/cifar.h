#pragma once

#include <string>
#include <vector>

#include "repairbench/data/dataset.h"

namespace repairbench::data {

/// Which CIFAR-100 label byte to use: the 100 fine classes (the default, as
/// the paper's split experiment) or the 20 coarse super-classes.
enum class Cifar100Labels { kFine, kCoarse };

/// Reads CIFAR-10 binary batch files (records of 1 label byte + 3072 pixel
/// bytes, channel-major 3x32x32) and concatenates them in the given order.
/// Returns images (N, 3, 32, 32) uint8 and labels (N) int64 in [0, 10).
/// Throws Error(kData) naming the file when it is missing, its size is not a
/// multiple of 3073 bytes, or a label is out of range.
Dataset read_cifar10(const std::vector<std::string>& batch_paths);

/// Reads one CIFAR-100 binary file (records of coarse label byte, fine label
/// byte, 3072 pixel bytes). Returns images (N, 3, 32, 32) uint8 and labels (N)
/// int64 in [0, 100) (fine) or [0, 20) (coarse). Throws Error(kData) as above.
Dataset read_cifar100(const std::string& path, Cifar100Labels labels = Cifar100Labels::kFine);

/// The six files of the CIFAR-10 binary version inside `batches_dir`
/// (cifar-10-batches-bin): data_batch_1..5.bin, then test_batch.bin.
std::vector<std::string> cifar10_files(const std::string& batches_dir);

/// The two files of the CIFAR-100 binary version inside `binary_dir`
/// (cifar-100-binary): train.bin, test.bin.
std::vector<std::string> cifar100_files(const std::string& binary_dir);

/// CIFAR-10 from `batches_dir`: 50,000 training and 10,000 test images.
DatasetSplits load_cifar10(const std::string& batches_dir);

/// CIFAR-100 from `binary_dir`: 50,000 training and 10,000 test images.
DatasetSplits load_cifar100(const std::string& binary_dir, Cifar100Labels labels = Cifar100Labels::kFine);

}  // namespace repairbench::data
