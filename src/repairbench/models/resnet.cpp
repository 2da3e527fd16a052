#include "repairbench/models/resnet.h"

#include <torch/nn/init.h>
#include <torch/nn/modules/container/modulelist.h>

#include "repairbench/core/error.h"
#include "repairbench/models/family.h"
#include "repairbench/models/spec_builder.h"

namespace repairbench::models {
namespace {

// Stage plan of each family (docs/reference/algorithm.md §3).
struct Layout {
  bool torchvision = false;
  bool bottleneck = false;
  std::vector<int64_t> blocks;
  std::vector<int64_t> planes;  // output channels of a stage are planes * expansion
  int64_t expansion = 1;
  int64_t inner_factor = 1;  // bottleneck inner width = planes * inner_factor
  int64_t shortcut_kernel = 1;
  std::string shortcut_name = "downsample";
  std::string fc_name = "fc";
};

Layout layout_for(const ModelConfig& c) {
  Layout l;
  const int64_t w = c.width;
  const Family family = c.family;
  if (family == Family::kResNet20) {
    l.blocks = {3, 3, 3};
    l.planes = {16 * w, 32 * w, 64 * w};
    l.shortcut_kernel = 3;  // the reference's 3x3 stride-2 conv shortcuts (docs/reference/algorithm.md §5.8)
    l.shortcut_name = "shortcut";
    l.fc_name = "linear";
  } else if (family == Family::kResNet18) {
    l.blocks = {2, 2, 2, 2};
    l.planes = {64 * w, 128 * w, 256 * w, 512 * w};
    l.shortcut_name = "shortcut";
    l.fc_name = "linear";
  } else {
    l.torchvision = true;
    l.planes = {64 * w, 128 * w, 256 * w, 512 * w};
    if (family == Family::kResNet18ImageNet) {
      l.blocks = {2, 2, 2, 2};
    } else {
      l.bottleneck = true;
      l.blocks = {3, 4, 6, 3};
      l.expansion = 4;
      l.inner_factor = family == Family::kWideResNet50_2 ? 2 : 1;
    }
  }
  return l;
}

}  // namespace

ResNetImpl::ConvNorm ResNetImpl::make_conv_norm(torch::nn::Module& parent, const std::string& parent_prefix,
                                                const std::string& conv_name, const std::string& norm_name,
                                                torch::nn::Conv2dOptions options) {
  const Norm norm = config().norm;
  const int64_t out = options.out_channels();
  ConvNorm layer;
  layer.conv = parent.register_module(conv_name, torch::nn::Conv2d(options.bias(norm != Norm::kBatch)));
  layer.conv_key = parent_prefix + conv_name;
  layer.conv_point = add_point({layer.conv_key, PointKind::kLayerOutput, out, layer.conv_key + ".weight",
                                norm == Norm::kBatch ? "" : layer.conv_key + ".bias"});
  if (norm == Norm::kNone) return layer;
  if (norm == Norm::kBatch) {
    layer.bn = parent.register_module(norm_name, torch::nn::BatchNorm2d(out));
  } else {
    layer.ln = parent.register_module(norm_name, LayerNorm2d(out));
  }
  layer.norm_key = parent_prefix + norm_name;
  layer.norm_point =
      add_point({layer.norm_key, PointKind::kNormOutput, out, layer.norm_key + ".weight", layer.norm_key + ".bias"});
  return layer;
}

ResNetImpl::ResNetImpl(const ModelConfig& config) : NetworkImpl(config) {
  const Layout l = layout_for(config);
  torchvision_ = l.torchvision;
  fc_key_ = l.fc_name;
  auto opts = [](int64_t in, int64_t out, int64_t k, int64_t stride) {
    return torch::nn::Conv2dOptions(in, out, k).stride(stride).padding(k / 2);
  };

  const int64_t stem_out = l.torchvision ? 64 * config.width : l.planes[0];
  stem_ = make_conv_norm(
      *this, "", "conv1", "bn1",
      l.torchvision ? opts(config.in_channels, stem_out, 7, 2) : opts(config.in_channels, stem_out, 3, 1));
  const std::string stem_relu = (stem_.norm_key.empty() ? stem_.conv_key : stem_.norm_key) + "/relu";
  stem_point_ = add_point({l.torchvision ? "maxpool" : stem_relu, PointKind::kBlockOutput, stem_out, "", ""});

  int64_t in = stem_out;
  for (size_t s = 0; s < l.blocks.size(); ++s) {
    auto list = register_module("layer" + std::to_string(s + 1), torch::nn::ModuleList());
    std::vector<Block> stage;
    const int64_t out = l.planes[s] * l.expansion;
    for (int64_t b = 0; b < l.blocks[s]; ++b) {
      const int64_t stride = (b == 0 && s > 0) ? 2 : 1;
      auto holder = std::make_shared<torch::nn::Module>();
      Block block;
      block.prefix = "layer" + std::to_string(s + 1) + "." + std::to_string(b);
      block.in_channels = in;
      block.out_channels = out;
      const std::string p = block.prefix + ".";
      if (l.bottleneck) {
        const int64_t inner = l.planes[s] * l.inner_factor;
        block.body.push_back(make_conv_norm(*holder, p, "conv1", "bn1", opts(in, inner, 1, 1)));
        block.body.push_back(make_conv_norm(*holder, p, "conv2", "bn2", opts(inner, inner, 3, stride)));
        block.body.push_back(make_conv_norm(*holder, p, "conv3", "bn3", opts(inner, out, 1, 1)));
        block.inner_channels = {inner, inner};
      } else {
        block.body.push_back(make_conv_norm(*holder, p, "conv1", "bn1", opts(in, out, 3, stride)));
        block.body.push_back(make_conv_norm(*holder, p, "conv2", "bn2", opts(out, out, 3, 1)));
        block.inner_channels = {out};
      }
      for (size_t i = 0; i + 1 < block.body.size(); ++i) {
        const auto& pair = block.body[i];
        const std::string source = pair.norm_key.empty() ? pair.conv_key : pair.norm_key;
        block.relu_points.push_back(add_point({source + "/relu", PointKind::kHidden, block.inner_channels[i], "", ""}));
      }
      if (stride != 1 || in != out) {
        // Projection shortcut; the reference's nn.Sequential names its parts 0 and 1.
        auto seq = holder->register_module(l.shortcut_name, std::make_shared<torch::nn::Module>());
        block.shortcut =
            make_conv_norm(*seq, p + l.shortcut_name + ".", "0", "1", opts(in, out, l.shortcut_kernel, stride));
        block.has_shortcut = true;
      } else if (config.junctures) {
        // Identity 1x1 "juncture" (the reference's add_junctures): a no-op
        // until the stream on its two sides is permuted differently.
        ConvNorm juncture;
        juncture.conv = holder->register_module(l.shortcut_name,
                                                torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).bias(false)));
        juncture.conv_key = p + l.shortcut_name;
        juncture.conv_point =
            add_point({juncture.conv_key, PointKind::kLayerOutput, out, juncture.conv_key + ".weight", ""});
        block.shortcut = juncture;
        block.has_shortcut = true;
        block.juncture = true;
      }
      block.output_point = add_point({block.prefix, PointKind::kBlockOutput, out, "", ""});
      list->push_back(holder);
      stage.push_back(std::move(block));
      in = out;
    }
    stages_.push_back(std::move(stage));
    stage_channels_.push_back(out);
  }
  fc_ = register_module(l.fc_name, torch::nn::Linear(in, config.num_classes));
  logits_point_ =
      add_point({l.fc_name, PointKind::kLogits, config.num_classes, l.fc_name + ".weight", l.fc_name + ".bias"});
  initialize();
}

void ResNetImpl::initialize() {
  torch::NoGradGuard no_grad;
  const bool resnet20 = config().family == Family::kResNet20;
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* conv = module->as<torch::nn::Conv2d>()) {
      if (resnet20) {
        // kaiming_normal_(weight): fan_in, gain sqrt(2) (train/resnet-*-cifar/model.py).
        torch::nn::init::kaiming_normal_(conv->weight);
      } else if (torchvision_) {
        torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
      }
    } else if (auto* linear = module->as<torch::nn::Linear>()) {
      if (resnet20) torch::nn::init::kaiming_normal_(linear->weight);
    }
  }
  for (auto& stage : stages_) {
    for (auto& block : stage) {
      if (block.juncture) {
        block.shortcut.conv->weight.copy_(
            torch::eye(block.out_channels).reshape({block.out_channels, block.out_channels, 1, 1}));
      }
    }
  }
}

torch::Tensor ResNetImpl::run(ConvNorm& layer, torch::Tensor x) {
  x = tap(layer.conv_point, layer.conv(x));
  if (layer.bn) return tap(layer.norm_point, layer.bn(x));
  if (layer.ln) return tap(layer.norm_point, layer.ln(x));
  return x;
}

torch::Tensor ResNetImpl::run_block(Block& block, const torch::Tensor& x) {
  torch::Tensor out = x;
  for (size_t i = 0; i < block.body.size(); ++i) {
    out = run(block.body[i], out);
    if (i + 1 < block.body.size()) out = tap(block.relu_points[i], torch::relu(out));
  }
  const torch::Tensor shortcut = block.has_shortcut ? run(block.shortcut, x) : x;
  return tap(block.output_point, torch::relu(out + shortcut));
}

torch::Tensor ResNetImpl::forward(torch::Tensor x) {
  x = torch::relu(run(stem_, x));
  if (torchvision_) x = torch::max_pool2d(x, 3, 2, 1);
  x = tap(stem_point_, x);
  for (auto& stage : stages_) {
    for (auto& block : stage) x = run_block(block, x);
  }
  // Global average pool: (N, C, H, W) -> (N, C). For 32x32 CIFAR inputs this
  // equals the reference's avg_pool2d(out, out.size(3)) and kuangliu's avg_pool2d(4).
  x = x.mean({2, 3});
  return tap(logits_point_, fc_(x));
}

PermutationSpec ResNetImpl::permutation_spec() const {
  SpecBuilder spec;
  const Family family = config().family;
  const bool cifar18 = family == Family::kResNet18;
  auto relu_name = [](const ConvNorm& pair) {
    return (pair.norm_key.empty() ? pair.conv_key : pair.norm_key) + "/relu";
  };
  auto add_conv_norm = [&](const ConvNorm& layer, int out, int in) {
    spec.conv(layer.conv_key, out, in, layer.conv->options.bias());
    if (layer.bn) spec.batch_norm(layer.norm_key, out);
    if (layer.ln) spec.layer_norm(layer.norm_key, out);
  };

  // The stem carries its own permutation only where the first block cannot
  // pass it through an identity shortcut (docs/reference/algorithm.md §2a, junctures).
  const bool stem_alone = stages_[0][0].has_shortcut;
  int stem_group = -1;
  if (stem_alone) {
    stem_group = spec.group("stream0", points()[stem_point_].channels, points()[stem_point_].name);
  }
  std::vector<int> stream(stages_.size());
  for (size_t s = 0; s < stages_.size(); ++s) {
    const auto& stage = stages_[s];
    std::string match = stage.back().prefix;  // output of the stage
    if (family == Family::kResNet20 && s == 2) {
      // Permute-CIFAR10-ResNet20 matches stage 3 at layer3[1] (kk=[3,6,8];
      // docs/reference/algorithm.md §5.7). Alignment options can move it to the stage end.
      match = stage[1].prefix;
    }
    if (cifar18) match = s == 0 ? stem_.conv_key : stage[0].body[1].conv_key;  // raw conv outputs
    stream[s] = spec.group("stream" + std::to_string(s + 1), stage_channels_[s], match);
  }
  if (!stem_alone) stem_group = stream[0];
  add_conv_norm(stem_, stem_group, -1);

  int incoming = stem_group;
  for (size_t s = 0; s < stages_.size(); ++s) {
    for (const auto& block : stages_[s]) {
      int previous = incoming;
      for (size_t i = 0; i < block.body.size(); ++i) {
        const bool last = i + 1 == block.body.size();
        int g = stream[s];
        if (!last) {
          const auto& pair = block.body[i];
          g = spec.group(pair.conv_key, block.inner_channels[i], cifar18 ? pair.conv_key : relu_name(pair));
        }
        add_conv_norm(block.body[i], g, previous);
        previous = g;
      }
      if (block.has_shortcut) add_conv_norm(block.shortcut, stream[s], incoming);
      incoming = stream[s];
    }
  }
  spec.linear(fc_key_, -1, incoming, /*bias=*/true);
  return spec.build();
}

}  // namespace repairbench::models
