#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>

#include "repairbench/data/dataset.h"

namespace repairbench::data {

/// Reads an IDX file (the MNIST / Fashion-MNIST format), raw or gzip-compressed
/// (detected from the content, not the name). Header: two zero bytes, the
/// element type (only 0x08, unsigned byte, is supported), the number of dims,
/// then each dim as a big-endian uint32. Returns a uint8 tensor shaped as the
/// header says, e.g. (60000, 28, 28) for MNIST training images.
/// Throws Error(kData) naming the file when it is missing, has a bad header,
/// or holds fewer or more bytes than its dims say.
torch::Tensor read_idx(const std::string& path);

/// Writes a uint8 tensor of any shape (at most 255 dims, each < 2^32) as a raw
/// IDX file, atomically. Used to cache converted data sets.
void write_idx(const std::string& path, const torch::Tensor& array);

/// Reads an image file ((N, H, W) IDX) and a label file ((N) IDX) into a
/// Dataset: images (N, 1, H, W) uint8, labels (N) int64, checked to lie in
/// [0, num_classes); `name` picks the normalization constants.
/// Throws Error(kData) naming the file at fault.
Dataset read_idx_dataset(const std::string& images_path, const std::string& labels_path, const std::string& name,
                         int64_t num_classes);

}  // namespace repairbench::data
