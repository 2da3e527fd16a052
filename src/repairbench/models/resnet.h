#pragma once

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <string>
#include <vector>

#include "repairbench/models/layer_norm2d.h"
#include "repairbench/models/network.h"

namespace repairbench::models {

/// The residual networks of the paper, in three layouts (docs/reference/algorithm.md
/// sections 2a and 3):
///  - "resnet20": the reference's train/resnet-*-cifar model: stem conv3x3 16w,
///    3 stages x 3 BasicBlocks (16w/32w/64w), 3x3 stride-2 conv + norm
///    shortcuts (`shortcut.0/1`), `linear`. Norm bn (bias-free convs), ln
///    (LayerNorm2d, convs with bias) or none (convs with bias). Kaiming-normal init.
///  - "resnet18": kuangliu's CIFAR ResNet18: stem conv3x3 64w, 4 x 2 BasicBlocks,
///    1x1 conv + BN shortcuts, `linear`.
///  - "resnet18_imagenet", "resnet50", "wide_resnet50_2": torchvision layouts
///    (7x7 stem + max-pool, `downsample.0/1`, `fc`), optionally with identity
///    1x1 "juncture" convs as `downsample` on every identity shortcut.
///
/// Points: every conv output ("layer1.0.conv1"), norm output ("layer1.0.bn1"),
/// post-ReLU inside blocks ("layer1.0.bn1/relu"), block outputs ("layer1.0"),
/// the stem output ("bn1/relu", or "maxpool" for torchvision) and the logits.
class ResNetImpl : public NetworkImpl {
 public:
  explicit ResNetImpl(const ModelConfig& config);
  torch::Tensor forward(torch::Tensor x) override;
  PermutationSpec permutation_spec() const override;

 private:
  // A conv followed by an optional norm, with their keys and points.
  struct ConvNorm {
    torch::nn::Conv2d conv{nullptr};
    torch::nn::BatchNorm2d bn{nullptr};
    LayerNorm2d ln{nullptr};
    std::string conv_key, norm_key;  // norm_key "" without norm
    int64_t conv_point = -1, norm_point = -1;
  };
  struct Block {
    std::string prefix;                // "layer1.0"
    std::vector<ConvNorm> body;        // 2 (basic) or 3 (bottleneck) conv+norm pairs
    std::vector<int64_t> relu_points;  // after every body pair but the last
    bool has_shortcut = false;         // projection shortcut or juncture
    bool juncture = false;             // identity-initialized 1x1 conv, no norm
    ConvNorm shortcut;
    int64_t output_point = -1;
    int64_t in_channels = 0, out_channels = 0;
    std::vector<int64_t> inner_channels;  // channels of the body's inner groups
  };

  ConvNorm make_conv_norm(torch::nn::Module& parent, const std::string& parent_prefix, const std::string& conv_name,
                          const std::string& norm_name, torch::nn::Conv2dOptions options);
  torch::Tensor run(ConvNorm& layer, torch::Tensor x);
  torch::Tensor run_block(Block& block, const torch::Tensor& x);
  void initialize();

  bool torchvision_ = false;  // torchvision layout vs CIFAR layouts
  ConvNorm stem_;
  int64_t stem_point_ = -1;
  std::vector<std::vector<Block>> stages_;
  std::vector<int64_t> stage_channels_;
  torch::nn::Linear fc_{nullptr};
  std::string fc_key_;
  int64_t logits_point_ = -1;
};

}  // namespace repairbench::models
