#include "repairbench/train/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "repairbench/core/atomic_file.h"
#include "repairbench/core/clock.h"
#include "repairbench/core/error.h"
#include "repairbench/core/integrity.h"
#include "repairbench/data/loader.h"

namespace repairbench::train {
namespace {

using Clock = std::chrono::steady_clock;

// Recipe::kaiming_init: every Linear/Conv weight (out, in[, kh, kw]) from
// N(0, 2 / fan_in) with fan_in = in * kh * kw, every bias 0; norm layers keep
// theirs. Drawn from a generator of its own seeded by `seed`, so the same
// seed gives the same start on every device and thread count.
void kaiming_reinit(models::NetworkImpl& net, uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (auto& module : net.modules(/*include_self=*/false)) {
    const bool layer = module->as<torch::nn::Linear>() != nullptr || module->as<torch::nn::Conv2d>() != nullptr;
    if (!layer) continue;
    for (auto& item : module->named_parameters(/*recurse=*/false)) {
      torch::Tensor& p = item.value();
      if (item.key() == "weight") {
        const double fan_in = static_cast<double>(p.numel() / p.size(0));
        p.copy_(torch::randn(p.sizes(), gen, torch::kFloat32) * std::sqrt(2.0 / fan_in));
      } else if (item.key() == "bias") {
        p.zero_();
      }
    }
  }
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

// What a resumed run needs besides the weights and the optimizer: where the
// loop stood and the GradScaler emulation's state (PyTorch's defaults).
struct LoopState {
  int64_t epochs_done = 0, iteration = 0;
  double scale = 65536.0;
  int64_t steps_since_overflow = 0, skipped_steps = 0;
  double seconds = 0;  // wall time of the earlier, interrupted runs
  std::vector<EpochLog> logs;
};

// Identifies the run a state file belongs to: resuming someone else's state
// would silently produce a model nobody asked for.
std::string run_fingerprint(const models::NetworkImpl& net, const data::Dataset& train_set,
                            const TrainOptions& options) {
  return nlohmann::json{{"model", net.config()},      {"dataset", train_set.name},
                        {"images", train_set.size()}, {"recipe", options.recipe},
                        {"seed", options.seed},       {"max_batches_per_epoch", options.max_batches_per_epoch}}
      .dump();
}

void save_state(const std::string& path, const std::string& fingerprint, models::NetworkImpl& net,
                const torch::optim::SGD& optimizer, const data::Loader& loader, const LoopState& s) {
  torch::serialize::OutputArchive archive, model_archive, optimizer_archive;
  net.save(model_archive);
  optimizer.save(optimizer_archive);
  archive.write("fingerprint", c10::IValue(fingerprint));
  archive.write("model", model_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("loader_generator", loader.generator_state());
  archive.write("counters", torch::tensor({s.epochs_done, s.iteration, s.steps_since_overflow, s.skipped_steps}));
  archive.write("scale_seconds", torch::tensor({s.scale, s.seconds}, torch::kFloat64));
  // (epochs_done, 4) float64: epoch, train loss, train accuracy, seconds.
  std::vector<double> logs;
  for (const auto& l : s.logs)
    logs.insert(logs.end(), {static_cast<double>(l.epoch), l.train_loss, l.train_accuracy, l.seconds});
  archive.write("epoch_logs", torch::tensor(logs, torch::kFloat64).view({-1, 4}));
  std::ostringstream bytes;
  archive.save_to(bytes);
  write_file_atomic(path, seal(bytes.str()));
}

LoopState load_state(const std::string& path, const std::string& fingerprint, models::NetworkImpl& net,
                     torch::optim::SGD& optimizer, data::Loader& loader, const torch::Device& device) {
  const std::string file = read_file(path);
  // LibTorch's archive reader checks no CRC: a flipped bit in a weight would
  // be resumed and trained on.
  const std::string_view bytes = unseal(file, "the training state " + path, ErrorKind::kCheckpoint,
                                        "delete it (or give --restart / --retrain) to train from scratch");
  LoopState s;
  c10::IValue saved_fingerprint;
  torch::Tensor counters, scale_seconds, logs, generator;
  try {
    torch::serialize::InputArchive archive, model_archive, optimizer_archive;
    archive.load_from(bytes.data(), bytes.size(), device);
    archive.read("fingerprint", saved_fingerprint);
    RB_CHECK(saved_fingerprint.isString() && saved_fingerprint.toStringRef() == fingerprint, kCheckpoint,
             "the training state ", path,
             " belongs to another run (model, data set, recipe or seed differ); "
             "delete it to train from scratch");
    archive.read("model", model_archive);
    net.load(model_archive);
    archive.read("optimizer", optimizer_archive);
    optimizer.load(optimizer_archive);
    archive.read("loader_generator", generator);
    archive.read("counters", counters);
    archive.read("scale_seconds", scale_seconds);
    archive.read("epoch_logs", logs);
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::kCheckpoint, "cannot resume from the training state " + path + ": " +
                                            e.what_without_backtrace() + "; delete it to train from scratch");
  }
  RB_CHECK(counters.numel() == 4 && scale_seconds.numel() == 2 && logs.dim() == 2 && logs.size(1) == 4, kCheckpoint,
           "the training state ", path, " is malformed; delete it to train from scratch");
  loader.set_generator_state(generator.cpu());
  const auto c = counters.cpu().to(torch::kInt64);
  s.epochs_done = c[0].item<int64_t>();
  s.iteration = c[1].item<int64_t>();
  s.steps_since_overflow = c[2].item<int64_t>();
  s.skipped_steps = c[3].item<int64_t>();
  s.scale = scale_seconds[0].item<double>();
  s.seconds = scale_seconds[1].item<double>();
  const auto l = logs.cpu().contiguous();
  RB_CHECK(l.size(0) == s.epochs_done, kCheckpoint, "the training state ", path, " is malformed (", l.size(0),
           " epoch logs for ", s.epochs_done, " epochs); delete it to train from scratch");
  for (int64_t e = 0; e < l.size(0); ++e) {
    s.logs.push_back({static_cast<int64_t>(l[e][0].item<double>()), l[e][1].item<double>(), l[e][2].item<double>(),
                      l[e][3].item<double>()});
  }
  return s;
}

// Puts every 4-d parameter and buffer of `net` in `format` for its lifetime
// and back in the default order afterwards, also when training throws.
class MemoryFormatScope {
 public:
  MemoryFormatScope(models::NetworkImpl& net, bool channels_last) : net_(net), active_(channels_last) {
    if (active_) set(at::MemoryFormat::ChannelsLast);
  }
  ~MemoryFormatScope() {
    if (active_) set(at::MemoryFormat::Contiguous);
  }
  MemoryFormatScope(const MemoryFormatScope&) = delete;
  MemoryFormatScope& operator=(const MemoryFormatScope&) = delete;

 private:
  void set(at::MemoryFormat format) {
    torch::NoGradGuard no_grad;
    for (auto& t : net_.parameters()) {
      if (t.dim() == 4) t.set_data(t.data().contiguous(format));
    }
    for (auto& t : net_.buffers()) {
      if (t.dim() == 4) t.set_data(t.contiguous(format));
    }
  }
  models::NetworkImpl& net_;
  bool active_;
};

// Appended to a divergence error: where the last good state is.
std::string kept_state_note(const TrainOptions& options, const LoopState& state) {
  if (options.state_path.empty() || state.epochs_done == 0) return "";
  return "; the state after epoch " + std::to_string(state.epochs_done) + " is kept in " + options.state_path;
}

}  // namespace

TrainResult train(models::NetworkImpl& net, const data::Dataset& train_set, const TrainOptions& options) {
  const Recipe& r = options.recipe;
  validate(r);
  RB_CHECK(options.checkpoint_every > 0, kUsage, "checkpoint_every must be positive, got ", options.checkpoint_every);
  data::LoaderOptions loader_options;
  loader_options.batch_size = r.batch_size;
  loader_options.shuffle = true;
  loader_options.drop_last = true;
  loader_options.augment = r.augment;
  loader_options.seed = options.seed;
  loader_options.channels = net.config().in_channels;
  loader_options.device = options.device;
  const bool parallel = options.group && options.group->size() > 1;
  if (parallel) {
    loader_options.shard_rank = options.group->rank();
    loader_options.shard_count = options.group->size();
  }
  data::Loader loader(train_set, loader_options);

  int64_t batches = loader.num_batches();
  if (options.max_batches_per_epoch > 0) batches = std::min(batches, options.max_batches_per_epoch);

  if (r.kaiming_init) kaiming_reinit(net, options.seed);
  net.to(options.device);
  net.train();
  if (parallel) {
    std::vector<torch::Tensor> weights;
    torch::NoGradGuard no_grad;
    for (const auto& t : net.parameters()) weights.push_back(t.data());
    for (const auto& t : net.buffers()) weights.push_back(t);
    options.group->broadcast_from_root(weights);
  }
  // Data-parallel: the mean of every rank's gradients, all-reduced in buckets
  // while backward runs (DistributedDataParallel's scheme).
  std::unique_ptr<dist::GradientAverager> averager;
  if (parallel) {
    averager = std::make_unique<dist::GradientAverager>(options.group, net.parameters(), options.bucket_bytes);
  }
  const bool writes_state = !options.state_path.empty() && (!options.group || options.group->rank() == 0);
  const MemoryFormatScope memory_format(net, options.channels_last);
  auto optimizer = make_optimizer(net, r);
  const auto loss_options = torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(r.label_smoothing);

  const std::string fingerprint = options.state_path.empty() ? "" : run_fingerprint(net, train_set, options);
  LoopState state;
  if (!options.state_path.empty() && std::filesystem::exists(options.state_path)) {
    state = load_state(options.state_path, fingerprint, net, optimizer, loader, options.device);
  }
  TrainResult result;
  result.resumed_epochs = state.epochs_done;
  result.epochs = state.logs;
  const auto start = Clock::now();
  const int64_t first_iteration = state.iteration;
  int64_t it = state.iteration;
  constexpr double kFp16Max = 65504.0;
  // GradScaler itself never gives up; its scale just keeps halving. Below
  // 2^-24 (fp16's smallest subnormal) a step is skipped only for gradients
  // above 65504 * 2^24 ~ 1e12 or not finite: the run has diverged.
  const double kMinScale = std::ldexp(1.0, -24);
  for (int64_t epoch = state.epochs_done; epoch < r.epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    loader.new_epoch();
    // The epoch's loss and accuracy are over every batch whose loss is
    // finite, steps skipped by the GradScaler emulation included (the
    // reference logs every batch).
    double loss_sum = 0;
    int64_t correct = 0, seen = 0, measured = 0;
    for (int64_t b = 0; b < batches; ++b, ++it) {
      const double lr = r.schedule.lr_at(it, batches, r.epochs);
      for (auto& group : optimizer.param_groups()) {
        static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
      }
      const auto batch = loader.batch(b);
      optimizer.zero_grad();
      const auto logits = net.forward(options.channels_last && batch.images.dim() == 4
                                          ? batch.images.contiguous(at::MemoryFormat::ChannelsLast)
                                          : batch.images);
      const auto loss = torch::nn::functional::cross_entropy(logits, batch.labels, loss_options);
      double loss_value = loss.item<double>();
      if (parallel) {  // every rank decides on divergence and overflow from the same global loss
        auto global = torch::tensor({loss_value}, torch::kFloat64);
        options.group->allreduce_sum(global);
        loss_value = global.item<double>() / static_cast<double>(options.group->size());
      }
      if (!r.grad_scaler && !std::isfinite(loss_value)) {
        throw Error(ErrorKind::kNumeric,
                    "training diverged at epoch " + std::to_string(epoch + 1) + ", iteration " +
                        std::to_string(it + 1) + ": the loss is " + std::to_string(loss_value) + " (learning rate " +
                        std::to_string(lr) +
                        "). Lower the learning rate or change the seed; deep plain ReLU MLPs with the "
                        "default initialization are known to be fragile" +
                        kept_state_note(options, state));
      }
      // A non-finite loss gets this far only under the GradScaler emulation.
      bool overflow = !std::isfinite(loss_value);
      if (!overflow) {
        ++measured;
        loss_sum += loss_value;
        correct += logits.argmax(1).eq(batch.labels).sum().item<int64_t>();
        seen += batch.labels.size(0);
      }
      if (!overflow) {
        loss.backward();
        if (averager) averager->finish();
        if (r.grad_scaler) {
          // One reduction and one host sync per step, not one per parameter.
          std::vector<torch::Tensor> maxes;
          for (const auto& p : net.parameters()) {
            if (p.grad().defined()) maxes.push_back(p.grad().abs().max());
          }
          const double max_grad = maxes.empty() ? 0.0 : torch::stack(maxes).max().item<double>();
          overflow = !std::isfinite(max_grad) || max_grad * state.scale > kFp16Max;
        }
      }
      if (r.grad_scaler) {
        if (overflow) {
          state.scale /= 2;
          state.steps_since_overflow = 0;
          ++state.skipped_steps;
          if (state.scale < kMinScale) {
            throw Error(ErrorKind::kNumeric, "training diverged at epoch " + std::to_string(epoch + 1) +
                                                 ", iteration " + std::to_string(it + 1) +
                                                 ": the emulated GradScaler's loss scale fell below 2^-24 "
                                                 "(gradients above 1e12 or not finite; learning rate " +
                                                 std::to_string(lr) + "). Lower the learning rate or change the seed" +
                                                 kept_state_note(options, state));
          }
          continue;
        }
        if (++state.steps_since_overflow == 2000) {
          state.scale *= 2;
          state.steps_since_overflow = 0;
        }
      }
      optimizer.step();
      if (options.on_iteration) {
        const double elapsed = seconds_since(start);
        options.on_iteration({epoch, r.epochs, b, batches, loss_sum / static_cast<double>(measured), lr,
                              static_cast<double>((it + 1 - first_iteration) * r.batch_size) / elapsed,
                              state.seconds + elapsed});
      }
    }
    if (measured == 0) {
      throw Error(ErrorKind::kNumeric, "training diverged: the loss of every batch of epoch " +
                                           std::to_string(epoch + 1) + " is not finite" +
                                           kept_state_note(options, state));
    }
    if (parallel) {
      auto counts = torch::tensor({correct, seen}, torch::kInt64);
      options.group->allreduce_sum(counts);
      correct = counts[0].item<int64_t>();
      seen = counts[1].item<int64_t>();
    }
    EpochLog log{epoch, loss_sum / static_cast<double>(measured),
                 100.0 * static_cast<double>(correct) / static_cast<double>(seen), seconds_since(epoch_start)};
    result.epochs.push_back(log);
    if (writes_state && (epoch + 1) % options.checkpoint_every == 0) {
      state.epochs_done = epoch + 1;  // also what a divergence error names as kept
      LoopState saved = state;
      saved.iteration = it;
      saved.logs = result.epochs;
      saved.seconds += seconds_since(start);
      save_state(options.state_path, fingerprint, net, optimizer, loader, saved);
    }
    if (options.on_epoch) options.on_epoch(log);
  }
  result.iterations = it;
  result.skipped_steps = state.skipped_steps;
  result.this_run_training_seconds = seconds_since(start);
  result.seconds = state.seconds + result.this_run_training_seconds;
  result.images_per_second =
      static_cast<double>((it - first_iteration) * r.batch_size) / std::max(result.this_run_training_seconds, 1e-9);
  net.eval();
  return result;
}

}  // namespace repairbench::train
