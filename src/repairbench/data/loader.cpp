#include "repairbench/data/loader.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>

#include "repairbench/core/error.h"

namespace repairbench::data {

Loader::Loader(const Dataset& dataset, LoaderOptions options)
    : options_(std::move(options)), generator_(at::make_generator<at::CPUGeneratorImpl>(options_.seed)) {
  RB_CHECK(options_.batch_size > 0, kUsage, "batch size must be positive, got ", options_.batch_size);
  RB_CHECK(options_.max_batches >= 0, kUsage, "the batch budget must be positive (0: every batch), got ",
           options_.max_batches);
  RB_CHECK(dataset.size() > 0, kUsage, "data set ", dataset.name, " is empty");
  RB_CHECK(options_.shard_count >= 1 && options_.shard_rank >= 0 && options_.shard_rank < options_.shard_count, kUsage,
           "shard ", options_.shard_rank, " of ", options_.shard_count, " does not exist");
  RB_CHECK(options_.shard_count == 1 || (options_.drop_last && options_.batch_size % options_.shard_count == 0), kUsage,
           "a batch of ", options_.batch_size, " cannot be split evenly over ", options_.shard_count,
           " processes (sharded loading needs drop_last and a batch size divisible by the process count)");
  RB_CHECK(!options_.drop_last || dataset.size() >= options_.batch_size, kUsage, "data set ", dataset.name, " has ",
           dataset.size(), " images, fewer than one batch of ", options_.batch_size, " (with drop_last)");
  const int64_t stored = dataset.channels();
  const int64_t wanted = options_.channels == 0 ? stored : options_.channels;
  RB_CHECK(wanted == stored || (stored == 1 && wanted == 3), kUsage, "the model expects ", wanted,
           " input channels but ", dataset.name, " has ", stored);
  dataset_ = dataset;
  dataset_.images = dataset.images.to(options_.device);
  dataset_.labels = dataset.labels.to(options_.device);
  auto as_tensor = [&](const std::vector<double>& v) {
    auto t = torch::tensor(v, torch::kFloat32);
    return (stored == 1 && wanted == 3 ? t.repeat({3}) : t).to(options_.device);
  };
  mean_ = as_tensor(dataset.norm.mean);
  std_ = as_tensor(dataset.norm.std);
  fill_ = mean_;  // FFCV Cutout fills with the mean colour
  options_.channels = wanted;
}

int64_t Loader::num_batches() const {
  const int64_t n = dataset_.size(), b = options_.batch_size;
  const int64_t all = options_.drop_last ? n / b : (n + b - 1) / b;
  return options_.max_batches > 0 ? std::min(all, options_.max_batches) : all;
}

int64_t Loader::num_images() const {
  const int64_t b = options_.batch_size, batches = num_batches();
  return options_.drop_last ? batches * b : std::min(dataset_.size(), batches * b);
}

void Loader::new_epoch() {
  const int64_t n = dataset_.size();
  order_ = (options_.shuffle ? torch::randperm(n, generator_, torch::kInt64) : torch::arange(n, torch::kInt64))
               .to(options_.device);
  started_ = true;
}

torch::Tensor Loader::generator_state() const { return generator_.get_state(); }

void Loader::set_generator_state(const torch::Tensor& state) {
  RB_CHECK(state.defined() && state.scalar_type() == torch::kUInt8 && state.dim() == 1 &&
               state.numel() == generator_state().numel(),
           kCheckpoint, "the saved data-order generator state has the wrong shape or type (expected ",
           generator_state().numel(), " bytes)");
  generator_.set_state(state);
}

Batch Loader::batch(int64_t i) {
  RB_CHECK(started_, kInternal, "Loader::batch called before new_epoch");
  RB_CHECK(i >= 0 && i < num_batches(), kInternal, "batch index ", i, " out of range");
  torch::NoGradGuard no_grad;
  const int64_t begin = i * options_.batch_size;
  const int64_t end = std::min(begin + options_.batch_size, dataset_.size());
  const auto index = order_.slice(0, begin, end);
  auto images = dataset_.images.index_select(0, index).to(torch::kFloat32);  // (B, C, H, W), 0..255
  if (options_.channels == 3 && images.size(1) == 1) images = images.expand({-1, 3, -1, -1});
  if (options_.augment.any()) images = augment(images, options_.augment, fill_, generator_);
  auto labels = dataset_.labels.index_select(0, index);
  if (options_.shard_count > 1) {
    const int64_t share = options_.batch_size / options_.shard_count;
    images = images.slice(0, options_.shard_rank * share, (options_.shard_rank + 1) * share);
    labels = labels.slice(0, options_.shard_rank * share, (options_.shard_rank + 1) * share);
  }
  images = (images - mean_.view({1, -1, 1, 1})) / std_.view({1, -1, 1, 1});
  return {images.contiguous(), labels};
}

void Loader::skip(int64_t i) {
  RB_CHECK(started_, kInternal, "Loader::skip called before new_epoch");
  RB_CHECK(i >= 0 && i < num_batches(), kInternal, "batch index ", i, " out of range");
  if (!options_.augment.any()) return;
  const int64_t begin = i * options_.batch_size;
  const int64_t end = std::min(begin + options_.batch_size, dataset_.size());
  skip_augment(end - begin, dataset_.images.size(2), dataset_.images.size(3), options_.augment, generator_);
}

}  // namespace repairbench::data
