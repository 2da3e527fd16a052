#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "repairbench/data/augment.h"
#include "repairbench/train/schedule.h"

namespace repairbench::train {

/// A training recipe: SGD with momentum, per-iteration schedule, weight decay,
/// label smoothing and augmentation. The named presets are the paper's
/// Table 1 and the official code's trainers (docs/reference/algorithm.md §3).
struct Recipe {
  std::string name;
  int64_t batch_size = 500;
  int64_t epochs = 100;
  Schedule schedule;
  double momentum = 0.9;
  bool nesterov = false;
  double weight_decay = 0.0;
  /// Exempt norm-layer parameters from weight decay (the ImageNet trainer's
  /// rule: parameters whose name contains "bn").
  bool no_decay_on_norm = false;
  double label_smoothing = 0.0;
  /// Emulates torch.cuda.amp.GradScaler's skip rule (the reference trains with
  /// fp16 autocast + GradScaler, docs/reference/algorithm.md §3): a loss scale
  /// S starts at 2^16, halves on every overflow and doubles after 2000 steps
  /// without one; a step whose loss or parameter gradients are not finite, or
  /// whose scaled gradients would overflow fp16 (max |g| S > 65504), is skipped.
  /// Only the overflow rule is emulated: the arithmetic stays fp32. Off by
  /// default (and then absent from the recipe's JSON, so cached endpoints keep
  /// their keys).
  bool grad_scaler = false;
  /// Re-initialize every Linear/Conv weight from N(0, 2 / fan_in) (He et al.'s
  /// kaiming_normal_ with ReLU gain) and zero its bias before training,
  /// instead of PyTorch's default init, which the paper's MLP uses
  /// (docs/reference/algorithm.md §3). A candidate of the Fashion-MNIST recipe
  /// search: the default init shrinks a deep ReLU MLP's signal
  /// layer by layer, and our width-128 runs sit 20-30 epochs on the loss
  /// plateau ln 10. Off by default (and then absent from the JSON).
  bool kaiming_init = false;
  data::AugmentOptions augment;
  /// Where the numbers come from.
  std::string source;
};

/// Names of the presets: "mlp" (Table 1 as stated), "mlp_he" (the same with
/// He init and the GradScaler skip rule), "mlp_he_lr0.1" (mlp_he at peak lr
/// 0.1: the norm-free MLPs' default), "mlp_bn", "vgg", "resnet20", "resnet20_ln",
/// "resnet18_cifar", "resnet18_imagenet", "resnet50_imagenet".
std::vector<std::string> recipe_names();

/// A preset by name, with the augmentation the reference uses on `dataset`
/// (e.g. ResNet20 drops flip and cutout on MNIST and SVHN). Throws Error(kUsage).
Recipe recipe_preset(const std::string& name, const std::string& dataset);

/// pipeline::default_recipe picks the preset the paper uses for a model on a
/// data set, in one table with the statistics it is merged with.

/// `recipe` run for `epochs` instead (the quick presets): the warm-up keeps its
/// share of the run (5 of 200 epochs stays 2.5%), so a short run still decays.
/// Throws Error(kUsage) for epochs < 1.
Recipe with_epochs(Recipe recipe, int64_t epochs);

/// Checks that every number of `recipe` is finite and in its range (batch
/// size and epochs >= 1, peak lr > 0, warm-up >= 0, momentum and
/// label smoothing in [0, 1), weight decay >= 0), so a bad override is refused
/// before any work starts rather than failing in LibTorch mid-run (as
/// `--lr nan` would). Throws Error(kUsage) naming the `repairbench train` flag that
/// sets the field, its range and the value.
void validate(const Recipe& recipe);

void to_json(nlohmann::json& j, const Recipe& recipe);

}  // namespace repairbench::train
