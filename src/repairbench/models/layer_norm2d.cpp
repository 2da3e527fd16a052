#include "repairbench/models/layer_norm2d.h"

#include <torch/torch.h>

namespace repairbench::models {

void LayerNorm2dImpl::reset() {
  weight = register_parameter("weight", torch::ones({channels_}));
  bias = register_parameter("bias", torch::zeros({channels_}));
}

torch::Tensor LayerNorm2dImpl::forward(const torch::Tensor& x) {
  auto centered = x - x.mean(1, /*keepdim=*/true);
  auto normalized = centered / x.std(1, /*unbiased=*/false, /*keepdim=*/true);
  return normalized * weight.reshape({1, -1, 1, 1}) + bias.reshape({1, -1, 1, 1});
}

}  // namespace repairbench::models
