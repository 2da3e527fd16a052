#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace repairbench::models {

/// The architectures of the zoo.
enum class Family {
  kMlp,
  kVgg11,
  kVgg13,
  kVgg16,
  kVgg19,
  kResNet20,          ///< The reference's CIFAR ResNet20 (train/resnet-*-cifar).
  kResNet18,          ///< CIFAR ResNet18 (kuangliu layout).
  kResNet18ImageNet,  ///< torchvision's resnet18.
  kResNet50,
  kWideResNet50_2,
};

/// Which module builds a family.
enum class Architecture { kMlp, kVgg, kResNet };

/// What differs between the families, one row each (torchvision's cfg
/// tables), instead of tests of the name where it is used.
struct FamilyInfo {
  Family family;
  std::string name;  ///< As ModelConfig::family and checkpoints spell it.
  Architecture architecture;
  int64_t max_width;  ///< MLP: hidden units; others: the width multiplier.
  /// VGG: output channels of each 3x3 conv, -1 for a 2x2 max-pool (the
  /// reference's cfg, docs/reference/algorithm.md §3).
  std::vector<int64_t> vgg_layers;
  /// torchvision's ImageNet layout: BatchNorm only, junctures possible.
  bool torchvision = false;
  /// Only BatchNorm is defined (CIFAR resnet18 and the torchvision ResNets).
  bool batchnorm_only = false;
  /// LayerNorm is defined (resnet20 only: the reference's resnet-layernorm-cifar).
  bool layernorm = false;
};

/// Every family, in model_families() order.
const std::vector<FamilyInfo>& family_infos();

/// The row of `name`; throws Error(kUsage) "unknown model family '<name>'"
/// with the known names.
const FamilyInfo& family_info(const std::string& name);

/// The row of `name`, or nullptr for a name that is not a family.
const FamilyInfo* find_family(const std::string& name);

/// The row of `family`.
const FamilyInfo& family_info(Family family);

/// The family called `name` (family_info(name).family); throws Error(kUsage)
/// with the known names.
Family parse_family(const std::string& name);

/// The family's name, as ModelConfig's JSON and checkpoints spell it.
const std::string& family_name(Family family);

}  // namespace repairbench::models
