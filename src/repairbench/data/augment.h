#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <cstdint>
#include <string>

namespace repairbench::data {

/// Batched data augmentation, applied to whole batches on the batch's device
/// (no per-sample loops over pixels). The defaults do nothing.
struct AugmentOptions {
  /// Horizontal flip with probability 1/2 (torchvision RandomHorizontalFlip).
  bool flip = false;
  /// Pad by `translate` pixels of value 0 and crop back to the original size at
  /// a uniformly random offset: FFCV RandomTranslate(padding) and torchvision
  /// RandomCrop(size, padding) (docs/reference/algorithm.md §5.16). 0 = off.
  /// Offsets are drawn in [0, 2 * translate], both ends included, as FFCV's
  /// RandomTranslate draws them (numpy randint(0, 2 * pad + 1)).
  int64_t translate = 0;
  /// Variants for the Fashion-MNIST recipe search: fill the border
  /// with the data set's mean colour instead of 0 ("translate4-fillmean"), and
  /// draw the offsets in [0, 2 * translate) ("translate4-halfopen").
  bool translate_fill_mean = false;
  bool translate_half_open = false;
  /// Cutout: a `cutout` x `cutout` square, placed uniformly inside the image,
  /// set to the data set's mean colour (FFCV Cutout(size, fill=mean)). 0 = off.
  int64_t cutout = 0;
  /// Random-resized crop to `resized_crop` x `resized_crop` pixels (area scale
  /// in [0.08, 1], aspect ratio in [3/4, 4/3], bilinear), as torchvision's
  /// RandomResizedCrop for ImageNet training. 0 = off.
  int64_t resized_crop = 0;

  bool any() const { return flip || translate > 0 || cutout > 0 || resized_crop > 0; }
  /// e.g. "flip+translate4+cutout12", "translate4-fillmean", or "none".
  std::string describe() const;
};

/// Parses a description such as "flip+translate4+cutout12" (or "none") into
/// options; throws Error(kUsage) naming the unknown part.
AugmentOptions parse_augment(const std::string& text);

/// Applies `options` to a float batch of raw pixel values x (N, C, H, W) on
/// any device, drawing all randomness from `generator` (a CPU generator, so a
/// seed gives the same augmentation on every device). `fill` (C) is the cutout
/// colour (and the translate border's with translate_fill_mean) on the same
/// 0..255 scale. Returns (N, C, H', W'), where H' = W' =
/// resized_crop when that is on.
torch::Tensor augment(const torch::Tensor& x, const AugmentOptions& options, const torch::Tensor& fill,
                      at::Generator& generator);

/// Draws from `generator` exactly what augment() draws for a batch of `n`
/// images of `height` x `width`, without touching any image: a data-parallel
/// pass that leaves a batch to another rank keeps its generator in step for
/// the cost of the random numbers alone.
void skip_augment(int64_t n, int64_t height, int64_t width, const AugmentOptions& options, at::Generator& generator);

}  // namespace repairbench::data
