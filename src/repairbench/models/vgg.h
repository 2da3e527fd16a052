#pragma once

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <vector>

#include "repairbench/models/network.h"

namespace repairbench::models {

/// VGG11/13/16/19 for 32x32 inputs as in the REPAIR notebooks (kuangliu's
/// cfg; docs/reference/algorithm.md §3): `features` = [Conv3x3(pad 1, bias) +
/// (BatchNorm2d) + ReLU | MaxPool2x2] per cfg entry, then AvgPool(1, 1), then
/// `classifier` = Linear(512w, classes). Every conv is `width` times wider.
///
/// Points per conv at features index i: "features.<i>" (conv output),
/// "features.<i+1>" (BN output, bn only), "<last>/relu"; logits "classifier".
class VggImpl : public NetworkImpl {
 public:
  explicit VggImpl(const ModelConfig& config);
  torch::Tensor forward(torch::Tensor x) override;
  PermutationSpec permutation_spec() const override;

  /// The channel configuration of a family (-1 = max-pool).
  static std::vector<int64_t> cfg(Family family);

 private:
  struct Stage {  // one cfg entry
    bool pool = false;
    torch::nn::Conv2d conv{nullptr};
    torch::nn::BatchNorm2d norm{nullptr};
    std::string conv_key, norm_key;
    int64_t channels = 0;
    int64_t out_point = -1, norm_point = -1, relu_point = -1;
  };
  std::vector<Stage> stages_;
  torch::nn::Linear classifier_{nullptr};
  int64_t logits_point_ = -1;
};

}  // namespace repairbench::models
