#include "repairbench/models/mlp.h"

#include "repairbench/models/spec_builder.h"

namespace repairbench::models {

MlpImpl::MlpImpl(const ModelConfig& config) : NetworkImpl(config) {
  const bool bn = config.norm == Norm::kBatch;
  const int64_t h = config.width;
  const int64_t in = config.in_channels * config.image_size * config.image_size;

  auto declare = [&](Hidden& layer) {
    layer.out_point = add_point({layer.linear_key, PointKind::kLayerOutput, h,
                                 layer.linear_key + ".weight", bn ? "" : layer.linear_key + ".bias"});
    std::string relu_source = layer.linear_key;
    if (bn) {
      layer.norm_point = add_point({layer.norm_key, PointKind::kNormOutput, h,
                                    layer.norm_key + ".weight", layer.norm_key + ".bias"});
      relu_source = layer.norm_key;
    }
    layer.relu_point = add_point({relu_source + "/relu", PointKind::kHidden, h, "", ""});
  };

  Hidden first;
  first.linear = register_module("fc1", torch::nn::Linear(torch::nn::LinearOptions(in, h).bias(!bn)));
  first.linear_key = "fc1";
  if (bn) {
    first.norm = register_module("bn1", torch::nn::BatchNorm1d(h));
    first.norm_key = "bn1";
  }
  declare(first);
  hidden_.push_back(first);

  // `layers` mirrors the reference's nn.Sequential so keys read layers.<i>.*;
  // forward() walks hidden_ instead, to tap between the modules.
  torch::nn::Sequential layers;
  for (int64_t k = 0; k < config.depth; ++k) {
    Hidden layer;
    layer.linear = torch::nn::Linear(torch::nn::LinearOptions(h, h).bias(!bn));
    layer.linear_key = "layers." + std::to_string(layers->size());
    layers->push_back(layer.linear);
    if (bn) {
      layer.norm = torch::nn::BatchNorm1d(h);
      layer.norm_key = "layers." + std::to_string(layers->size());
      layers->push_back(layer.norm);
    }
    layers->push_back(torch::nn::ReLU());
    declare(layer);
    hidden_.push_back(layer);
  }
  register_module("layers", layers);
  fc2_ = register_module("fc2", torch::nn::Linear(h, config.num_classes));
  logits_point_ = add_point({"fc2", PointKind::kLogits, config.num_classes, "fc2.weight", "fc2.bias"});
}

torch::Tensor MlpImpl::forward(torch::Tensor x) {
  x = x.reshape({x.size(0), -1});  // (N, C*H*W)
  for (auto& layer : hidden_) {
    x = tap(layer.out_point, layer.linear(x));  // (N, h)
    if (layer.norm) x = tap(layer.norm_point, layer.norm(x));
    x = tap(layer.relu_point, torch::relu(x));
  }
  return tap(logits_point_, fc2_(x));
}

PermutationSpec MlpImpl::permutation_spec() const {
  SpecBuilder spec;
  int previous = -1;  // fc1's input (the pixels) is never permuted
  for (const auto& layer : hidden_) {
    const std::string relu_source = layer.norm_key.empty() ? layer.linear_key : layer.norm_key;
    const int g = spec.group(layer.linear_key, config().width, relu_source + "/relu");
    spec.linear(layer.linear_key, g, previous, /*bias=*/!layer.norm);
    if (layer.norm) spec.batch_norm(layer.norm_key, g);
    previous = g;
  }
  spec.linear("fc2", -1, previous, /*bias=*/true);
  return spec.build();
}

}  // namespace repairbench::models
