#include "repairbench/models/vgg.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/pooling.h>

#include "repairbench/core/error.h"
#include "repairbench/models/family.h"
#include "repairbench/models/spec_builder.h"

namespace repairbench::models {

std::vector<int64_t> VggImpl::cfg(Family family) {
  const FamilyInfo& info = family_info(family);
  RB_CHECK(info.architecture == Architecture::kVgg, kUsage, "unknown VGG family ", info.name);
  return info.vgg_layers;
}

VggImpl::VggImpl(const ModelConfig& config) : NetworkImpl(config) {
  const bool bn = config.norm == Norm::kBatch;
  torch::nn::Sequential features;
  int64_t in = config.in_channels;
  for (int64_t entry : cfg(config.family)) {
    Stage stage;
    if (entry < 0) {
      stage.pool = true;
      features->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2).stride(2)));
      stages_.push_back(stage);
      continue;
    }
    const int64_t out = entry * config.width;
    stage.channels = out;
    stage.conv = torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1));
    stage.conv_key = "features." + std::to_string(features->size());
    features->push_back(stage.conv);
    stage.out_point =
        add_point({stage.conv_key, PointKind::kLayerOutput, out, stage.conv_key + ".weight", stage.conv_key + ".bias"});
    std::string relu_source = stage.conv_key;
    if (bn) {
      stage.norm = torch::nn::BatchNorm2d(out);
      stage.norm_key = "features." + std::to_string(features->size());
      features->push_back(stage.norm);
      stage.norm_point = add_point(
          {stage.norm_key, PointKind::kNormOutput, out, stage.norm_key + ".weight", stage.norm_key + ".bias"});
      relu_source = stage.norm_key;
    }
    features->push_back(torch::nn::ReLU());
    stage.relu_point = add_point({relu_source + "/relu", PointKind::kHidden, out, "", ""});
    stages_.push_back(stage);
    in = out;
  }
  // The reference ends `features` with AvgPool2d(1, 1), a no-op kept so the
  // module indices (and hence state-dict keys) line up.
  features->push_back(torch::nn::AvgPool2d(torch::nn::AvgPool2dOptions(1).stride(1)));
  register_module("features", features);
  classifier_ = register_module("classifier", torch::nn::Linear(512 * config.width, config.num_classes));
  logits_point_ =
      add_point({"classifier", PointKind::kLogits, config.num_classes, "classifier.weight", "classifier.bias"});
}

torch::Tensor VggImpl::forward(torch::Tensor x) {
  for (auto& stage : stages_) {
    if (stage.pool) {
      x = torch::max_pool2d(x, 2, 2);
      continue;
    }
    x = tap(stage.out_point, stage.conv(x));  // (N, C, H, W)
    if (stage.norm) x = tap(stage.norm_point, stage.norm(x));
    x = tap(stage.relu_point, torch::relu(x));
  }
  x = x.reshape({x.size(0), -1});  // (N, 512w): the feature map is 1x1 after five pools
  return tap(logits_point_, classifier_(x));
}

PermutationSpec VggImpl::permutation_spec() const {
  SpecBuilder spec;
  int previous = -1;
  for (const auto& stage : stages_) {
    if (stage.pool) continue;
    const std::string relu_source = stage.norm_key.empty() ? stage.conv_key : stage.norm_key;
    const int g = spec.group(stage.conv_key, stage.channels, relu_source + "/relu");
    spec.conv(stage.conv_key, g, previous, /*bias=*/true);
    if (stage.norm) spec.batch_norm(stage.norm_key, g);
    previous = g;
  }
  spec.linear("classifier", -1, previous, /*bias=*/true);
  return spec.build();
}

}  // namespace repairbench::models
