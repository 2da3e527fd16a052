#include "repairbench/train/trainer.h"

#include <chrono>
#include <cmath>

#include <torch/torch.h>

#include "repairbench/core/error.h"
#include "repairbench/data/loader.h"

namespace repairbench::train {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// SGD as in the reference (momentum 0.9, no dampening, weight decay added to
// the gradient). With no_decay_on_norm, parameters whose name contains "bn"
// form a second group without weight decay (the ImageNet trainer's rule).
torch::optim::SGD make_optimizer(models::NetworkImpl& net, const Recipe& r) {
  auto options = torch::optim::SGDOptions(r.schedule.peak_lr)
                     .momentum(r.momentum)
                     .nesterov(r.nesterov)
                     .weight_decay(r.weight_decay);
  if (!r.no_decay_on_norm) return torch::optim::SGD(net.parameters(), options);
  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& p : net.named_parameters()) {
    (p.key().find("bn") != std::string::npos ? no_decay : decay).push_back(p.value());
  }
  auto no_decay_options = std::make_unique<torch::optim::SGDOptions>(options);
  no_decay_options->weight_decay(0.0);
  return torch::optim::SGD({torch::optim::OptimizerParamGroup(decay),
                            torch::optim::OptimizerParamGroup(no_decay, std::move(no_decay_options))},
                           options);
}

}  // namespace

TrainResult train(models::NetworkImpl& net, const data::Dataset& train_set, const TrainOptions& options) {
  const Recipe& r = options.recipe;
  RB_CHECK(r.epochs > 0, kUsage, "epochs must be positive, got ", r.epochs);
  data::LoaderOptions loader_options;
  loader_options.batch_size = r.batch_size;
  loader_options.shuffle = true;
  loader_options.drop_last = true;
  loader_options.augment = r.augment;
  loader_options.seed = options.seed;
  loader_options.channels = net.config().in_channels;
  loader_options.device = options.device;
  data::Loader loader(train_set, loader_options);

  int64_t batches = loader.num_batches();
  if (options.max_batches_per_epoch > 0) batches = std::min(batches, options.max_batches_per_epoch);

  net.to(options.device);
  net.train();
  auto optimizer = make_optimizer(net, r);
  const auto loss_options = torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(r.label_smoothing);

  TrainResult result;
  const auto start = Clock::now();
  int64_t it = 0;
  // GradScaler emulation state (Recipe::grad_scaler): PyTorch's defaults.
  constexpr double kFp16Max = 65504.0;
  double scale = 65536.0;
  int64_t steps_since_overflow = 0;
  for (int64_t epoch = 0; epoch < r.epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    loader.new_epoch();
    double loss_sum = 0;
    int64_t correct = 0, seen = 0, stepped = 0;
    for (int64_t b = 0; b < batches; ++b, ++it) {
      const double lr = r.schedule.lr_at(it, batches, r.epochs);
      for (auto& group : optimizer.param_groups()) {
        static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
      }
      const auto batch = loader.batch(b);
      optimizer.zero_grad();
      const auto logits = net.forward(batch.images);
      const auto loss = torch::nn::functional::cross_entropy(logits, batch.labels, loss_options);
      const double loss_value = loss.item<double>();
      RB_CHECK(r.grad_scaler || std::isfinite(loss_value), kNumeric, "training diverged at epoch ", epoch + 1,
               ", iteration ", it + 1, ": the loss is ", loss_value, " (learning rate ", lr,
               "). Lower the learning rate or change the seed; deep plain ReLU MLPs with the "
               "default initialization are known to be fragile");
      if (r.grad_scaler) {
        bool overflow = !std::isfinite(loss_value);
        if (!overflow) {
          loss.backward();
          // One reduction and one host sync per step, not one per parameter.
          std::vector<torch::Tensor> maxes;
          for (const auto& p : net.parameters()) {
            if (p.grad().defined()) maxes.push_back(p.grad().abs().max());
          }
          const double max_grad = maxes.empty() ? 0.0 : torch::stack(maxes).max().item<double>();
          overflow = !std::isfinite(max_grad) || max_grad * scale > kFp16Max;
        }
        if (overflow) {
          scale /= 2;
          steps_since_overflow = 0;
          ++result.skipped_steps;
          continue;
        }
        if (++steps_since_overflow == 2000) {
          scale *= 2;
          steps_since_overflow = 0;
        }
      } else {
        loss.backward();
      }
      optimizer.step();
      ++stepped;
      loss_sum += loss_value;
      correct += logits.argmax(1).eq(batch.labels).sum().item<int64_t>();
      seen += batch.labels.size(0);
      if (options.on_iteration) {
        const double elapsed = seconds_since(start);
        options.on_iteration({epoch, r.epochs, b, batches, loss_sum / static_cast<double>(stepped), lr,
                              static_cast<double>((it + 1) * r.batch_size) / elapsed, elapsed});
      }
    }
    RB_CHECK(stepped > 0, kNumeric, "training diverged: every step of epoch ", epoch + 1,
             " overflowed the emulated fp16 gradient range (GradScaler emulation)");
    EpochLog log{epoch, loss_sum / static_cast<double>(stepped),
                 100.0 * static_cast<double>(correct) / static_cast<double>(seen),
                 seconds_since(epoch_start)};
    result.epochs.push_back(log);
    if (options.on_epoch) options.on_epoch(log);
  }
  result.iterations = it;
  result.seconds = seconds_since(start);
  result.images_per_second = static_cast<double>(it * r.batch_size) / result.seconds;
  net.eval();
  return result;
}

}  // namespace repairbench::train
