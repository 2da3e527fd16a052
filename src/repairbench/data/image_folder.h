#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "repairbench/data/dataset.h"

namespace repairbench::data {

/// How `read_image_folder` decodes and picks images. The defaults are the
/// reference's ImageNet evaluation decoder, CenterCropRGBImageDecoder((256,
/// 256), ratio=1.0).
struct ImageFolderOptions {
  int64_t size = 256;       ///< Output side length: every image becomes size x size.
  double crop_ratio = 1.0;  ///< In (0, 1]: the crop covers this share of the short side.
  int64_t max_images = 0;   ///< If > 0 and fewer than the folder holds: a seeded random subset.
  uint64_t seed = 0;        ///< Seed of the `max_images` selection.
  /// Class names in label order; empty means the sorted sub-directory names of
  /// the root. Pass the training set's list when reading its validation set.
  std::vector<std::string> classes;
  std::string name = "imagenet";  ///< Dataset::name; picks the normalization constants.
};

/// The sorted names of the sub-directories of `root` (one per class).
/// Throws Error(kData) if `root` is not a directory or has none.
std::vector<std::string> image_folder_classes(const std::string& root);

/// Reads an ImageNet-style folder `<root>/<class>/<image file>` with OpenCV.
/// Each image is center-cropped to a square of side crop_ratio * short side
/// and resized (INTER_AREA) to size x size: the same geometry as resizing the
/// short side to size / crop_ratio and center-cropping size x size, done
/// crop-first as the reference's decoder does. Files whose names start with
/// '.' are skipped; every other file must be an image OpenCV can decode.
/// Images are ordered by class, then file name; `max_images` keeps a uniform
/// random subset (seeded) in that order. Returns images (N, 3, size, size)
/// uint8 RGB and labels (N) int64 = index of the class in `classes`.
/// Throws Error(kData) naming the file that could not be decoded, or the
/// directory that is missing, empty or holds an unknown class.
Dataset read_image_folder(const std::string& root, const ImageFolderOptions& options = {});

}  // namespace repairbench::data
