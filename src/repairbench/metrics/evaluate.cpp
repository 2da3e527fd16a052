#include "repairbench/metrics/evaluate.h"

#include <torch/torch.h>

#include "repairbench/data/loader.h"

namespace repairbench::metrics {

EvalResult evaluate(models::NetworkImpl& net, const data::Dataset& dataset, int64_t batch_size,
                    const torch::Device& device) {
  data::LoaderOptions options;
  options.batch_size = batch_size;
  options.channels = net.config().in_channels;
  options.device = device;
  data::Loader loader(dataset, options);
  loader.new_epoch();

  const bool was_training = net.is_training();
  net.eval();
  torch::InferenceMode inference;
  int64_t correct = 0, count = 0;
  double loss_sum = 0;
  for (int64_t i = 0; i < loader.num_batches(); ++i) {
    const auto batch = loader.batch(i);
    const auto logits = net.forward(batch.images);
    correct += logits.argmax(1).eq(batch.labels).sum().item<int64_t>();
    count += batch.labels.size(0);
    loss_sum += torch::nn::functional::cross_entropy(logits, batch.labels).item<double>();
  }
  net.train(was_training);
  EvalResult result;
  result.count = count;
  result.accuracy = 100.0 * static_cast<double>(correct) / static_cast<double>(count);
  result.loss = loss_sum / static_cast<double>(loader.num_batches());
  return result;
}

}  // namespace repairbench::metrics
