#include "repairbench/models/mlp.h"

#include <torch/nn/modules/activation.h>

#include "repairbench/core/error.h"
#include "repairbench/models/family.h"
#include "repairbench/models/spec_builder.h"
#include "repairbench/models/state_dict.h"
#include "repairbench/models/zoo.h"

namespace repairbench::models {

MlpImpl::MlpImpl(const ModelConfig& config) : NetworkImpl(config) {
  const bool bn = config.norm == Norm::kBatch;
  const int64_t h = config.width;
  const int64_t in = config.in_channels * config.image_size * config.image_size;

  auto declare = [&](Hidden& layer) {
    layer.out_point = add_point({layer.linear_key, PointKind::kLayerOutput, h, layer.linear_key + ".weight",
                                 bn ? "" : layer.linear_key + ".bias"});
    std::string relu_source = layer.linear_key;
    if (bn) {
      layer.norm_point =
          add_point({layer.norm_key, PointKind::kNormOutput, h, layer.norm_key + ".weight", layer.norm_key + ".bias"});
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

namespace {
// torch::nn::BatchNorm1d's default eps, which MlpImpl's norm layers keep.
constexpr double kBatchNormEps = 1e-5;
}  // namespace

Network fuse_mlp_batchnorm(NetworkImpl& net) {
  ModelConfig plain = net.config();
  RB_CHECK(family_info(plain.family).architecture == Architecture::kMlp && plain.norm == Norm::kBatch, kUsage,
           "cannot fuse BatchNorm of ", plain.describe(),
           ": only a BatchNorm MLP (family mlp, norm bn) has BatchNorm1d layers to fold");
  plain.norm = Norm::kNone;
  Network fused = make_network(plain);
  const StateDict source = state_dict(net);
  StateDict target;
  // Hidden layer k: BN net keys (fc1, bn1) or (layers.3(k-1), layers.3(k-1)+1);
  // plain net key fc1 or layers.2(k-1).
  for (int64_t k = 0; k <= plain.depth; ++k) {
    const std::string linear = k == 0 ? "fc1" : "layers." + std::to_string(3 * (k - 1));
    const std::string norm = k == 0 ? "bn1" : "layers." + std::to_string(3 * (k - 1) + 1);
    const std::string out = k == 0 ? "fc1" : "layers." + std::to_string(2 * (k - 1));
    const auto& w = find(source, linear + ".weight");  // (h, in)
    const auto gain =
        find(source, norm + ".weight") / torch::sqrt(find(source, norm + ".running_var") + kBatchNormEps);  // (h)
    target.emplace_back(out + ".weight", w * gain.unsqueeze(1));
    target.emplace_back(out + ".bias", find(source, norm + ".bias") - gain * find(source, norm + ".running_mean"));
  }
  target.emplace_back("fc2.weight", find(source, "fc2.weight").clone());
  target.emplace_back("fc2.bias", find(source, "fc2.bias").clone());
  load_state_dict(*fused, target, "BatchNorm-fused " + plain.describe());
  fused->eval();
  return fused;
}

}  // namespace repairbench::models
