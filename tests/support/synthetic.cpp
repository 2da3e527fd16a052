#include "synthetic.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "repairbench/data/synthetic.h"

namespace repairbench::testing {

data::Dataset random_dataset(int64_t n, int64_t channels, int64_t size, int64_t classes, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  data::Dataset d;
  d.name = "random";
  d.num_classes = classes;
  d.images = torch::randint(0, 256, {n, channels, size, size}, gen, torch::kInt64).to(torch::kUInt8);
  d.labels = torch::randint(0, classes, {n}, gen, torch::kInt64);
  d.norm.mean.assign(static_cast<size_t>(channels), 127.5);
  d.norm.std.assign(static_cast<size_t>(channels), 64.0);
  return d;
}

data::Dataset template_dataset(int64_t n, int64_t channels, int64_t size, int64_t classes, uint64_t seed) {
  return data::synthetic_dataset("templates", n, channels, size, classes, seed);
}

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
