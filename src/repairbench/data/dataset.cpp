#include "repairbench/data/dataset.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "repairbench/core/error.h"
#include "repairbench/data/dataset_info.h"

namespace repairbench::data {
void check_input_file(const std::string& path, const std::string& what) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  RB_CHECK(fs::exists(status), kData, what, " ", path, " does not exist");
  RB_CHECK(!fs::is_directory(status), kData, what, " ", path, " is a directory, not a file");
  RB_CHECK(fs::is_regular_file(status), kData, what, " ", path, " is not a regular file");
}

Normalization normalization_for(const std::string& name) { return dataset_info(name).norm; }

void validate(const Dataset& dataset, const std::string& origin) {
  const std::string where = " (data set '" + dataset.name + "' from " + origin + ")";
  RB_CHECK(dataset.images.defined() && dataset.labels.defined(), kData, "images or labels missing", where);
  RB_CHECK(dataset.images.scalar_type() == torch::kUInt8 && dataset.images.dim() == 4, kData,
           "images must be a (N, C, H, W) uint8 tensor, got ", dataset.images.scalar_type(), " ",
           dataset.images.sizes(), where);
  RB_CHECK(dataset.labels.scalar_type() == torch::kInt64 && dataset.labels.dim() == 1, kData,
           "labels must be a (N) int64 tensor, got ", dataset.labels.scalar_type(), " ", dataset.labels.sizes(), where);
  const int64_t n = dataset.images.size(0);
  RB_CHECK(n > 0, kData, "the data set holds no images", where);
  RB_CHECK(dataset.labels.size(0) == n, kData, n, " images but ", dataset.labels.size(0), " labels", where);
  const int64_t c = dataset.images.size(1);
  RB_CHECK(c == 1 || c == 3, kData, "images have ", c, " channels, expected 1 or 3", where);
  RB_CHECK(dataset.images.size(2) > 0 && dataset.images.size(3) > 0, kData, "empty image size ", dataset.images.sizes(),
           where);
  RB_CHECK(dataset.num_classes > 0, kData, "num_classes is ", dataset.num_classes, where);
  const int64_t lo = dataset.labels.min().item<int64_t>();
  const int64_t hi = dataset.labels.max().item<int64_t>();
  RB_CHECK(lo >= 0 && hi < dataset.num_classes, kData, "labels span [", lo, ", ", hi, "], outside [0, ",
           dataset.num_classes, ")", where);
  RB_CHECK(static_cast<int64_t>(dataset.norm.mean.size()) == c && static_cast<int64_t>(dataset.norm.std.size()) == c,
           kData, "normalization has ", dataset.norm.mean.size(), " means and ", dataset.norm.std.size(), " stds for ",
           c, " channels", where);
  for (double s : dataset.norm.std) {
    RB_CHECK(s > 0, kData, "normalization std ", s, " is not positive", where);
  }
}

Dataset subset(const Dataset& dataset, const torch::Tensor& indices) {
  RB_CHECK(indices.defined() && indices.dim() == 1 && indices.scalar_type() == torch::kInt64, kUsage,
           "subset indices must be a (K) int64 tensor");
  if (indices.numel() > 0) {
    const int64_t lo = indices.min().item<int64_t>();
    const int64_t hi = indices.max().item<int64_t>();
    RB_CHECK(lo >= 0 && hi < dataset.size(), kUsage, "subset indices span [", lo, ", ", hi, "] but data set '",
             dataset.name, "' has ", dataset.size(), " images");
  }
  Dataset out;
  out.name = dataset.name;
  out.num_classes = dataset.num_classes;
  out.norm = dataset.norm;
  const torch::Tensor idx = indices.to(dataset.images.device());
  out.images = dataset.images.index_select(0, idx);
  out.labels = dataset.labels.index_select(0, idx.to(dataset.labels.device()));
  return out;
}

DatasetHalves class_proportion_split(const Dataset& dataset, double fraction, uint64_t seed) {
  RB_CHECK(fraction >= 0.0 && fraction <= 1.0, kUsage, "split fraction ", fraction, " is outside [0, 1]");
  RB_CHECK(dataset.num_classes > 0 && dataset.size() > 0, kUsage, "cannot split the empty data set '", dataset.name,
           "'");
  const torch::Tensor labels = dataset.labels.to(torch::kCPU);
  // All indices grouped by class, ascending within a class (stable sort): one
  // pass over the labels instead of one per class.
  const torch::Tensor by_class = std::get<1>(torch::sort(labels, /*stable=*/c10::optional<bool>(true), 0));
  const torch::Tensor counts = torch::bincount(labels, {}, dataset.num_classes);
  const auto* count_of = counts.data_ptr<int64_t>();
  // One generator for all classes in order: re-seeding per class would give
  // every class of equal size the same permutation.
  torch::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<torch::Tensor> first_parts;
  std::vector<torch::Tensor> second_parts;
  int64_t start = 0;
  for (int64_t c = 0; c < dataset.num_classes; ++c) {
    const int64_t count = count_of[c];
    const torch::Tensor members = by_class.slice(0, start, start + count);
    start += count;
    if (count == 0) continue;
    const torch::Tensor shuffled = members.index_select(0, torch::randperm(count, gen));
    const double share = c < dataset.num_classes / 2 ? fraction : 1.0 - fraction;
    const auto take = static_cast<int64_t>(std::llround(share * static_cast<double>(count)));
    first_parts.push_back(shuffled.slice(0, 0, take));
    second_parts.push_back(shuffled.slice(0, take, count));
  }
  // Each half keeps the original image order, so it does not depend on how
  // the classes were visited.
  auto ordered = [](const std::vector<torch::Tensor>& parts) { return std::get<0>(torch::sort(torch::cat(parts))); };
  return {subset(dataset, ordered(first_parts)), subset(dataset, ordered(second_parts))};
}

}  // namespace repairbench::data
