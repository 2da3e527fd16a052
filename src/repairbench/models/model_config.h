#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "repairbench/models/family.h"

namespace repairbench::models {

/// Normalization layers of a model.
enum class Norm { kNone, kBatch, kLayer };

/// "none" | "bn" | "ln".
std::string to_string(Norm norm);
/// Inverse of to_string; throws Error(kUsage) for anything else.
Norm parse_norm(const std::string& text);

/// Everything needed to build a model of the zoo; stored in checkpoints so a
/// file says what it holds (the family by its name, family_infos()).
struct ModelConfig {
  Family family = Family::kMlp;
  /// MLP: hidden units. Others: channel width multiplier (the reference's `w`).
  int64_t width = 128;
  /// MLP only: hidden layers after fc1 (the reference's `layers`; the paper's
  /// "10-layer MLP" has depth 10, i.e. 11 hidden Linear+ReLU).
  int64_t depth = 10;
  Norm norm = Norm::kNone;
  int64_t in_channels = 1;
  /// Input height = width in pixels (MLP input size is in_channels * image_size^2).
  int64_t image_size = 28;
  int64_t num_classes = 10;
  /// torchvision ResNets only: give every block without a downsample an
  /// identity 1x1 conv `downsample` (the reference's `add_junctures`), so the
  /// stem and each stage can carry their own residual permutation.
  bool junctures = false;

  /// One-line human description, e.g. "mlp(width=128, depth=10, norm=none)".
  std::string describe() const;
  bool operator==(const ModelConfig& other) const;
  bool operator!=(const ModelConfig& other) const { return !(*this == other); }
};

/// What differs between two configs, field by field, e.g. "width 128 vs 64,
/// depth 10 vs 2"; "" when they are equal (operator==).
std::string config_difference(const ModelConfig& a, const ModelConfig& b);

void to_json(nlohmann::json& j, const ModelConfig& config);
/// Throws Error(kUsage) on missing/invalid fields; numeric fields must be
/// JSON integers (1.5 or 1e300 is refused, not truncated).
void from_json(const nlohmann::json& j, ModelConfig& config);

/// Checks that the combination of fields is buildable; throws Error(kUsage)
/// saying which field is wrong.
void validate(const ModelConfig& config);

}  // namespace repairbench::models
