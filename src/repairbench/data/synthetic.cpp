#include "repairbench/data/synthetic.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "repairbench/core/error.h"
#include "repairbench/data/dataset_info.h"

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
  const DatasetInfo* info = find_dataset_info(like);
  RB_CHECK(info != nullptr, kUsage, "no synthetic stand-in for data set '", like, "'");
  const int64_t channels = info->channels, size = info->synthetic_size, classes = info->synthetic_classes;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto templates = torch::rand({classes, channels, size, size}, gen) * 255.0;
  return {from_templates("synthetic-" + like, templates, n_train, gen),
          from_templates("synthetic-" + like, templates, n_test, gen)};
}

}  // namespace repairbench::data
