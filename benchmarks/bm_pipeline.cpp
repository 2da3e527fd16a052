// The REPAIR pipeline's kernels at the paper's batch sizes, on the CPU or the
// device LibTorch is built for:
//   BM_Sgemm/2048                 this machine's float32 matmul peak (GFLOP/s), the
//                                 yardstick training steps are reported against;
//   BM_TrainStep/<family>         one train::train epoch of steps_for(family) SGD steps,
//                                 images/s and GFLOP/s (3x the counted forward FLOPs);
//                                 resnet20_channels_last: the same in NHWC memory order;
//   BM_ActivationMatching/<family> correlation statistics of all groups in one pass plus the
//                                 assignments, images/s;
//   BM_Repair/<family>            endpoint statistics of both endpoints (one pass) and one
//                                 forward-pass REPAIR with fusion, images/s;
//   BM_Translate/<kernel>         the translate augmentation of a 2000-image batch, the CPU
//                                 row-copy kernel against the generic gather;
//   BM_ApplyPermutations/resnet20x4 permuting a state dict;
//   BM_Pipeline/fashion_mnist_mlp  align + REPAIR + the 11-point curve of the paper's
//                                 Fashion-MNIST MLP (width 128, 10 extra layers).
// Every benchmark checks its result once before timing and refuses (SkipWithError)
// to time a wrong one.
#include <ATen/CPUGeneratorImpl.h>
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>

#include "repairbench/align/matching.h"
#include "repairbench/data/augment.h"
#include "repairbench/data/registry.h"
#include "repairbench/data/synthetic.h"
#include "repairbench/metrics/flops.h"
#include "repairbench/models/state_dict.h"
#include "repairbench/models/zoo.h"
#include "repairbench/pipeline/defaults.h"
#include "repairbench/pipeline/merge.h"
#include "repairbench/repair/repair.h"
#include "repairbench/stats/pair_stats.h"
#include "repairbench/train/recipe.h"
#include "repairbench/train/trainer.h"

namespace {

using namespace repairbench;

// Steps per timed train::train call. The MLP's is a whole Fashion-MNIST epoch
// (60,000 images in batches of 2000), as training runs it, so the per-call
// set-up (loader, optimizer) weighs what it weighs in a real run; the conv
// nets' steps take seconds each, so 4 keep the suite's time bounded.
int64_t steps_for(const std::string& family) { return family == "mlp" ? 30 : 4; }

struct Family {
  models::ModelConfig config;
  std::string dataset;  // shape and recipe
};

Family family(const std::string& name) {
  Family f;
  f.config.family = models::parse_family(name);
  f.config.width = 1;
  if (name == "mlp") {
    f.config.width = 128;
    f.config.depth = 10;
    f.config.in_channels = 1;
    f.config.image_size = 28;
    f.dataset = "fashion-mnist";
  } else {
    f.config.norm = name == "resnet20" ? models::Norm::kBatch : models::Norm::kNone;
    f.config.in_channels = 3;
    f.config.image_size = 32;
    f.dataset = "cifar10";
  }
  return f;
}

data::Dataset synthetic(const Family& f, int64_t n) {
  return data::synthetic_dataset(f.dataset, n, f.config.in_channels, f.config.image_size, 10, 3);
}

void BM_Sgemm(benchmark::State& state) {
  const int64_t n = state.range(0);
  torch::manual_seed(0);
  const auto a = torch::randn({n, n}), b = torch::randn({n, n});
  const auto reference = torch::mm(a.to(torch::kFloat64), b.to(torch::kFloat64));
  const double error = (torch::mm(a, b).to(torch::kFloat64) - reference).abs().max().item<double>() /
                       reference.abs().max().item<double>();
  if (!(error < 1e-4)) {
    state.SkipWithError(("float32 matmul differs from float64 by " + std::to_string(error)).c_str());
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(torch::mm(a, b));
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * n * n * n * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_TrainStep(benchmark::State& state, const std::string& name, bool channels_last) {
  const Family f = family(name);
  train::TrainOptions options;
  options.channels_last = channels_last;
  options.recipe = pipeline::default_recipe(f.config, f.dataset);
  options.recipe.epochs = 1;
  const int64_t steps = steps_for(name);
  options.max_batches_per_epoch = steps;
  const auto data = synthetic(f, steps * options.recipe.batch_size);
  // Check: a few epochs on learnable data lower the training loss.
  {
    torch::manual_seed(1);
    auto net = models::make_network(f.config);
    train::TrainOptions check = options;
    // From the full recipe, so that its warm-up is scaled to 3 epochs (from
    // the 1-epoch timing recipe it would be 15 epochs long and the lr would
    // never leave the start of its ramp).
    check.recipe = train::with_epochs(pipeline::default_recipe(f.config, f.dataset), 3);
    const auto r = train::train(*net, data, check);
    if (!(r.epochs.back().train_loss < r.epochs.front().train_loss)) {
      state.SkipWithError("training does not lower the loss on learnable data");
      return;
    }
  }
  torch::manual_seed(2);
  auto net = models::make_network(f.config);
  const auto flops = metrics::forward_flops(*net, {1, f.config.in_channels, f.config.image_size, f.config.image_size});
  for (auto _ : state) train::train(*net, data, options);
  const double images = static_cast<double>(steps * options.recipe.batch_size);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(images));
  state.counters["batch"] = static_cast<double>(options.recipe.batch_size);
  state.counters["GFLOP/s"] =
      benchmark::Counter(3.0 * flops.per_image * images * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

data::Loader stats_loader(const Family& f, const data::Dataset& d) {
  auto options = pipeline::stats_defaults(f.config, f.dataset).loader;
  options.batch_size = std::min<int64_t>(options.batch_size, d.size());
  return data::Loader(d, options);
}

void BM_ActivationMatching(benchmark::State& state, const std::string& name) {
  const Family f = family(name);
  const auto data = synthetic(f, 2000);
  auto loader = stats_loader(f, data);
  torch::manual_seed(3);
  auto net = models::make_network(f.config);
  torch::manual_seed(4);
  auto other = models::make_network(f.config);
  // Check: every group's result is a permutation, and the exact assignment never
  // pairs channels worse (in mean correlation) than the identity pairing.
  const auto check = align::activation_matching(*net, *other, loader, {});
  for (size_t g = 0; g < check.perms.size(); ++g) {
    const auto& p = check.perms[g];
    if (!std::get<0>(p.sort()).equal(torch::arange(p.size(0))) ||
        check.correlation_after[g] < check.correlation_before[g] - 1e-9) {
      state.SkipWithError(("matching of group " + check.groups[g] + " is not an improving permutation").c_str());
      return;
    }
  }
  for (auto _ : state) benchmark::DoNotOptimize(align::activation_matching(*net, *other, loader, {}));
  state.SetItemsProcessed(state.iterations() * loader.num_images());
}

void BM_Repair(benchmark::State& state, const std::string& name) {
  const Family f = family(name);
  const auto data = synthetic(f, 2000);
  auto loader = stats_loader(f, data);
  torch::manual_seed(5);
  auto net = models::make_network(f.config);
  repair::RepairOptions options;
  options.method = repair::RepairMethod::kForward;  // BN nets: their BN outputs, the statistics REPAIR needs
  const auto points = repair::repair_points(*net, options);
  const auto x = synthetic(f, 64).images.to(torch::kFloat32).sub(127.5).div(64.0);
  // Calibrate once (BatchNorm statistics from the data), then check: REPAIR of
  // a model "merged" with a copy of itself changes little, because every
  // corrected channel already has its target statistics (up to the batch-wise
  // estimate).
  {
    auto twin = models::copy_network(*net);
    repair::repair(*net, repair::endpoint_stats(*net, *twin, loader, points, 1), 0.5, loader, options);
  }
  auto twin = models::copy_network(*net);
  {
    auto merged = models::copy_network(*net);
    const auto stats = repair::endpoint_stats(*net, *twin, loader, points, 1);
    repair::repair(*merged, stats, 0.5, loader, options);
    torch::NoGradGuard no_grad;
    net->eval();
    merged->eval();
    const auto a = net->forward(x), b = merged->forward(x);
    const double rel = (a - b).norm().item<double>() / a.norm().item<double>();
    if (!(rel < 0.05)) {
      state.SkipWithError(("REPAIR of a model with itself moved its logits by " + std::to_string(rel)).c_str());
      return;
    }
  }
  for (auto _ : state) {
    auto merged = models::copy_network(*net);
    const auto stats = repair::endpoint_stats(*net, *twin, loader, points, 1);
    benchmark::DoNotOptimize(repair::repair(*merged, stats, 0.5, loader, options));
  }
  state.SetItemsProcessed(state.iterations() * 2 * loader.num_images());
}

// The translate augmentation of one MLP training batch (2000 Fashion-MNIST-
// sized images, translate 4): the row-copy kernel augment() takes for a
// contiguous float32 CPU batch against the generic padded gather it takes for
// any other layout (here the same batch as a strided view, each row padded).
void BM_Translate(benchmark::State& state, bool fast) {
  torch::manual_seed(5);
  const auto x = torch::randint(0, 256, {2000, 1, 28, 28}, torch::kFloat32);
  auto strided = torch::zeros({2000, 1, 28, 30});
  strided.narrow(3, 1, 28).copy_(x);
  const auto input = fast ? x : strided.narrow(3, 1, 28);
  data::AugmentOptions options;
  options.translate = 4;
  const auto fill = torch::zeros({1});
  auto draw = [&] {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(9);
    return data::augment(input, options, fill, generator);
  };
  {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(9);
    const auto reference = data::augment(x.to(torch::kFloat64), options, fill.to(torch::kFloat64), generator);
    if (!draw().to(torch::kFloat64).equal(reference)) {
      state.SkipWithError("translate differs from the float64 gather");
      return;
    }
  }
  for (auto _ : state) benchmark::DoNotOptimize(draw());
  state.SetItemsProcessed(state.iterations() * x.size(0));
}

void BM_ApplyPermutations(benchmark::State& state) {
  models::ModelConfig config = family("resnet20").config;
  config.width = 4;
  torch::manual_seed(6);
  auto net = models::make_network(config);
  const auto spec = net->permutation_spec();
  std::vector<torch::Tensor> perms;
  for (const auto& g : spec.groups) perms.push_back(torch::randperm(g.size));
  const auto state_dict = models::state_dict(*net);
  // Check: the permuted network computes the same logits.
  {
    auto copy = models::make_network(config);
    models::load_state_dict(*copy, models::apply_permutations(spec, state_dict, perms), "permuted");
    torch::NoGradGuard no_grad;
    net->eval();
    copy->eval();
    const auto x = torch::randn({8, 3, 32, 32});
    if (!torch::allclose(net->forward(x), copy->forward(x), 1e-4, 1e-4)) {
      state.SkipWithError("the permuted network computes different logits");
      return;
    }
  }
  for (auto _ : state) benchmark::DoNotOptimize(models::apply_permutations(spec, state_dict, perms));
}

void BM_Pipeline(benchmark::State& state) {
  const Family f = family("mlp");
  const bool real = data::dataset_available("fashion-mnist", "");
  const auto splits =
      real ? data::load_dataset("fashion-mnist", "") : data::synthetic_splits("fashion-mnist", 60000, 10000, 7);
  const auto defaults = pipeline::stats_defaults(f.config, f.dataset);
  pipeline::MergeOptions options = pipeline::merge_options(defaults);
  torch::manual_seed(7);
  auto a = models::make_network(f.config);
  auto b = models::make_network(f.config);
  data::Loader loader(splits.train, defaults.loader);
  // Check: the curve starts at endpoint A and ends at endpoint B.
  const auto check = pipeline::merge(*a, *b, loader, splits.test, nullptr, options, torch::kCPU);
  const auto& points = check.curves.front().points;
  if (std::abs(points.front().test.accuracy - check.endpoint0_test.accuracy) > 1e-9 ||
      std::abs(points.back().test.accuracy - check.endpoint1_test.accuracy) > 1e-9) {
    state.SkipWithError("the interpolation curve does not start and end at the endpoints");
    return;
  }
  for (auto _ : state)
    benchmark::DoNotOptimize(pipeline::merge(*a, *b, loader, splits.test, nullptr, options, torch::kCPU));
  state.SetLabel(real ? "Fashion-MNIST" : "synthetic Fashion-MNIST-shaped data");
}

}  // namespace

BENCHMARK(BM_Sgemm)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_TrainStep, mlp, std::string("mlp"), false)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_TrainStep, resnet20, std::string("resnet20"), false)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_TrainStep, resnet20_channels_last, std::string("resnet20"), true)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_TrainStep, vgg11, std::string("vgg11"), false)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_ActivationMatching, mlp, std::string("mlp"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_ActivationMatching, resnet20, std::string("resnet20"))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_ActivationMatching, vgg11, std::string("vgg11"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Repair, mlp, std::string("mlp"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Repair, resnet20, std::string("resnet20"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Repair, vgg11, std::string("vgg11"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Translate, row_copy, true)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Translate, gather, false)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ApplyPermutations)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Pipeline)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);
