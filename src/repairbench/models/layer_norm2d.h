#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

namespace repairbench::models {

/// The reference's LayerNorm2d (train/resnet-layernorm-cifar/model.py): at
/// every spatial position, subtract the mean over channels and divide by the
/// biased std over channels, with NO epsilon (docs/reference/algorithm.md
/// §5.16), then a per-channel affine map (weight init 1, bias init 0).
class LayerNorm2dImpl : public torch::nn::Cloneable<LayerNorm2dImpl> {
 public:
  explicit LayerNorm2dImpl(int64_t channels) : channels_(channels) { reset(); }
  void reset() override;
  /// x: (N, C, H, W) -> (N, C, H, W).
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight, bias;

 private:
  int64_t channels_;
};
TORCH_MODULE(LayerNorm2d);

}  // namespace repairbench::models
