#include "repairbench/metrics/evaluate.h"

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <vector>

#include "repairbench/core/error.h"
#include "repairbench/data/loader.h"

namespace repairbench::metrics {
namespace {

// Accuracy and mean batch loss of `logits_of` over `dataset` in batches.
EvalResult run(const data::Dataset& dataset, int64_t batch_size, int64_t channels, const torch::Device& device,
               dist::Group* group, const std::function<torch::Tensor(const torch::Tensor&)>& logits_of) {
  data::LoaderOptions options;
  options.batch_size = batch_size;
  options.channels = channels;
  options.device = device;
  data::Loader loader(dataset, options);
  loader.new_epoch();
  torch::InferenceMode inference;
  const dist::PassShare share = dist::share_pass(group, loader.num_batches());
  int64_t correct = 0, count = 0;
  double loss_sum = 0;
  for (int64_t i = 0; i < loader.num_batches(); ++i) {
    if (!share.owns(i)) continue;  // no augmentation: nothing to keep in step
    const auto batch = loader.batch(i);
    const auto logits = logits_of(batch.images);  // (B, classes)
    correct += logits.argmax(1).eq(batch.labels).sum().item<int64_t>();
    count += batch.labels.size(0);
    loss_sum += torch::nn::functional::cross_entropy(logits, batch.labels).item<double>();
  }
  if (share.split()) {
    // float64 holds these counts exactly (< 2^53 images).
    auto totals = torch::tensor({static_cast<double>(correct), static_cast<double>(count), loss_sum}, torch::kFloat64);
    group->allreduce_sum(totals);
    correct = static_cast<int64_t>(totals[0].item<double>());
    count = static_cast<int64_t>(totals[1].item<double>());
    loss_sum = totals[2].item<double>();
  }
  EvalResult result;
  result.count = count;
  result.accuracy = 100.0 * static_cast<double>(correct) / static_cast<double>(count);
  result.loss = loss_sum / static_cast<double>(loader.num_batches());
  return result;
}

}  // namespace

EvalResult evaluate(models::NetworkImpl& net, const data::Dataset& dataset, int64_t batch_size,
                    const torch::Device& device, bool flip_tta, dist::Group* group) {
  const models::ModeScope eval_mode(net, false);
  return run(dataset, batch_size, net.config().in_channels, device, group, [&](const torch::Tensor& x) {
    if (!flip_tta) return net.forward(x);
    return 0.5 * (net.forward(x) + net.forward(x.flip({3})));  // flip the width axis of (B, C, H, W)
  });
}

EvalResult evaluate_ensemble(models::NetworkImpl& net0, models::NetworkImpl& net1, double alpha,
                             const data::Dataset& dataset, int64_t batch_size, const torch::Device& device) {
  return evaluate_ensemble({&net0, &net1}, {1.0 - alpha, alpha}, dataset, batch_size, device);
}

EvalResult evaluate_ensemble(const std::vector<models::NetworkImpl*>& nets, const std::vector<double>& weights,
                             const data::Dataset& dataset, int64_t batch_size, const torch::Device& device) {
  RB_CHECK(!nets.empty() && nets.size() == weights.size(), kUsage, "an ensemble of ", nets.size(),
           " networks needs as many weights, got ", weights.size());
  std::vector<std::unique_ptr<models::ModeScope>> eval_modes;
  for (auto* net : nets) eval_modes.push_back(std::make_unique<models::ModeScope>(*net, false));
  return run(dataset, batch_size, nets.front()->config().in_channels, device, nullptr, [&](const torch::Tensor& x) {
    torch::Tensor logits = weights[0] * nets[0]->forward(x);
    for (size_t i = 1; i < nets.size(); ++i) logits = logits + weights[i] * nets[i]->forward(x);
    return logits;
  });
}

}  // namespace repairbench::metrics
