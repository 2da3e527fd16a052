#include "synthetic.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

namespace repairbench::testing {
namespace {

data::Dataset with_norm(std::string name, torch::Tensor images, torch::Tensor labels, int64_t classes) {
  data::Dataset d;
  d.name = std::move(name);
  d.num_classes = classes;
  const auto c = static_cast<size_t>(images.size(1));
  d.norm.mean.assign(c, 127.5);
  d.norm.std.assign(c, 64.0);
  d.images = std::move(images);
  d.labels = std::move(labels);
  return d;
}

}  // namespace

data::Dataset random_dataset(int64_t n, int64_t channels, int64_t size, int64_t classes, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto images = torch::randint(0, 256, {n, channels, size, size}, gen, torch::kInt64).to(torch::kUInt8);
  auto labels = torch::randint(0, classes, {n}, gen, torch::kInt64);
  return with_norm("random", images, labels, classes);
}

data::Dataset template_dataset(int64_t n, int64_t channels, int64_t size, int64_t classes, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto templates = torch::rand({classes, channels, size, size}, gen) * 255.0;
  auto labels = torch::randint(0, classes, {n}, gen, torch::kInt64);
  const auto noise = torch::randn({n, channels, size, size}, gen) * 40.0;
  auto images = (templates.index_select(0, labels) + noise).clamp(0, 255).round().to(torch::kUInt8);
  return with_norm("templates", images, labels, classes);
}

}  // namespace repairbench::testing

namespace repairbench::testing {

void kaiming_init(torch::nn::Module& net) {
  torch::NoGradGuard no_grad;
  auto reinit = [](torch::Tensor& weight, torch::Tensor& bias) {
    torch::nn::init::kaiming_normal_(weight);
    if (bias.defined()) bias.normal_(0, 0.1);
  };
  for (auto& module : net.modules(/*include_self=*/false)) {
    if (auto* linear = module->as<torch::nn::Linear>()) reinit(linear->weight, linear->bias);
    if (auto* conv = module->as<torch::nn::Conv2d>()) reinit(conv->weight, conv->bias);
  }
}

}  // namespace repairbench::testing
