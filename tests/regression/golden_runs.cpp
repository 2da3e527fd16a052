// golden_runs: the small deterministic runs behind the golden regression
// reports (tests/regression/golden/). For every model family a
// pair is trained for a few steps (on a 2,048-image slice of the real
// Fashion-MNIST where the family takes it, on synthetic data of the family's
// input shape otherwise), then merged with every matcher (activation, weight,
// none; the study's cases: covariance, inner-product, random) and every
// correction the case names, with curves at
// alphas 0, 0.5 and 1; every number a science result flows through (endpoint
// metrics, permutations, correlations, curves, barriers, reductions, variance
// ratios) goes into <out-dir>/<case>.json.
//
//   golden_runs OUT_DIR [CASE...]    (no CASE: all of them; --list names them,
//                                    --blas-core prints the OpenBLAS kernel it runs)
//
// `make golden` writes the committed files with it; the `regression` tests
// rerun each case and compare it with `repairbench compare --tolerances
// tests/regression/tolerances.json`.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "model_cases.h"
#include "repairbench/core/atomic_file.h"
#include "repairbench/core/error.h"
#include "repairbench/core/runtime.h"
#include "repairbench/data/registry.h"
#include "repairbench/data/synthetic.h"
#include "repairbench/models/mlp.h"
#include "repairbench/models/zoo.h"
#include "repairbench/pipeline/defaults.h"
#include "repairbench/pipeline/merge.h"
#include "repairbench/report/context.h"
#include "repairbench/report/merge_report.h"
#include "repairbench/train/trainer.h"

namespace repairbench {
namespace {

using repair::RepairMethod;

struct GoldenCase {
  std::string name;
  models::ModelConfig model;
  /// Real Fashion-MNIST (a fixed slice) when true; else synthetic images of
  /// the model's input shape. Sizes are kept small enough for the whole set
  /// to run in about a minute on one core.
  bool real = false;
  std::vector<RepairMethod> repairs;
  /// The depth study's preparation: BatchNorm folded into the linears before merging.
  bool fuse_batchnorm = false;
  /// The matchers each merge runs with (MergeOptions::match names).
  std::vector<std::string> matchers = {"activation", "weight", "none"};
};

// One case per family and norm (the targets' variants): the corrections the
// paper applies to it, and the others that run on it. The conv nets' global
// average pool takes any input size, so the ResNets run on 16x16 (CIFAR
// layouts) and 32x32 (torchvision layout) images; VGG's classifier needs 32x32.
std::vector<GoldenCase> cases() {
  using testing::make_config;
  const std::vector<RepairMethod> norm_free = {RepairMethod::kForward, RepairMethod::kClosedForm};
  const std::vector<RepairMethod> batch_norm = {RepairMethod::kResetBn, RepairMethod::kForward};
  return {
      {"mlp_fmnist", make_config("mlp", 32, "none", 1, 28, 10, 3), true, norm_free},
      {"mlp_bn_fused_fmnist", make_config("mlp", 32, "bn", 1, 28, 10, 3), true, norm_free, true},
      {"vgg11_none", make_config("vgg11", 1, "none", 3, 32), false, norm_free},
      {"vgg11_bn", make_config("vgg11", 1, "bn", 3, 32), false, batch_norm},
      {"resnet20_bn", make_config("resnet20", 1, "bn", 3, 16), false, batch_norm},
      {"resnet20_ln", make_config("resnet20", 1, "ln", 3, 16), false, {RepairMethod::kForward}},
      {"resnet20_none", make_config("resnet20", 1, "none", 3, 16), false, norm_free},
      {"resnet18_cifar", make_config("resnet18", 1, "bn", 3, 16), false, batch_norm},
      {"resnet18_imagenet_junctures",
       make_config("resnet18_imagenet", 1, "bn", 3, 32, 10, 0, true),
       false,
       {RepairMethod::kResetBn, RepairMethod::kBlocks}},
      // The study's corrections and matchers, apart from the
      // paper's cases so that adding them moved none of those numbers.
      {"study_mlp_fmnist",
       make_config("mlp", 32, "none", 1, 28, 10, 3),
       true,
       {RepairMethod::kRescale, RepairMethod::kReshift, RepairMethod::kDataFree},
       false,
       {"covariance", "inner-product", "random"}},
      {"study_resnet20_bn",
       make_config("resnet20", 1, "bn", 3, 16),
       false,
       {RepairMethod::kRescale, RepairMethod::kReshift},
       false,
       {"covariance", "random"}},
  };
}

// The data set whose recipe and statistics defaults a case follows.
std::string reference_dataset(const GoldenCase& c) { return c.real ? "fashion-mnist" : "cifar10"; }

// Synthetic images per split.
constexpr int64_t kSyntheticImages = 64;

// The ImageNet recipes crop to 192 (training) and 224 (statistics) pixels;
// here the same random-resized crop and flip keep the small input size, or
// every batch would be 49 times the work.
void keep_input_size(const GoldenCase& c, data::AugmentOptions& augment) {
  if (augment.resized_crop > 0) augment.resized_crop = c.model.image_size;
}

// Small splits: 2,048 / 1,024 images of the real Fashion-MNIST (its first
// images, so the slice is fixed), or synthetic ones.
data::DatasetSplits splits_for(const GoldenCase& c) {
  if (c.real) {
    const data::DatasetSplits full = data::load_dataset("fashion-mnist", "");
    return {data::subset(full.train, torch::arange(2048)), data::subset(full.test, torch::arange(1024))};
  }
  const int64_t channels = c.model.in_channels, size = c.model.image_size, n = kSyntheticImages;
  return {data::synthetic_dataset("synthetic", n, channels, size, 10, 7),
          data::synthetic_dataset("synthetic", n, channels, size, 10, 8)};
}

// Images per training and statistics batch.
int64_t batch_size(const GoldenCase& c) { return c.real ? 128 : 32; }

// The family's paper recipe, shortened to 3 epochs of the Fashion-MNIST slice
// or 4 of the synthetic set (48 and 8 steps), seeded. On the synthetic sets
// the peak learning rate is at most 0.01: in 8 steps the recipes' 0.08-0.4
// (and 0.05) make the norm-free ResNet20 diverge.
models::Network train_endpoint(const GoldenCase& c, const data::Dataset& train_set, uint64_t seed,
                               nlohmann::json& recipe_json) {
  torch::manual_seed(seed);
  models::Network net = models::make_network(c.model);
  train::TrainOptions options;
  options.recipe = train::with_epochs(pipeline::default_recipe(c.model, reference_dataset(c)), c.real ? 3 : 4);
  options.recipe.batch_size = batch_size(c);
  keep_input_size(c, options.recipe.augment);
  if (!c.real) options.recipe.schedule.peak_lr = std::min(options.recipe.schedule.peak_lr, 0.01);
  options.seed = seed;
  recipe_json = options.recipe;
  train::train(*net, train_set, options);
  net->eval();
  return c.fuse_batchnorm ? models::fuse_mlp_batchnorm(*net) : net;
}

nlohmann::json run_case(const GoldenCase& c) {
  const data::DatasetSplits splits = splits_for(c);
  nlohmann::json recipe;
  models::Network a = train_endpoint(c, splits.train, 1, recipe);
  models::Network b = train_endpoint(c, splits.train, 2, recipe);

  const pipeline::StatsDefaults defaults = pipeline::stats_defaults(a->config(), reference_dataset(c));
  data::LoaderOptions loader_options = defaults.loader;
  loader_options.batch_size = batch_size(c);
  keep_input_size(c, loader_options.augment);
  loader_options.seed = 0;
  pipeline::MergeOptions options = pipeline::merge_options(defaults);
  options.repairs = c.repairs;
  options.repair.endpoint_epochs = options.repair.merged_epochs = 1;
  options.alphas = {0.0, 0.5, 1.0};
  // The train-set metrics too where the data are real; the synthetic train
  // sets are what the statistics already read.
  options.eval_train = c.real;
  options.eval_batch_size = 512;
  options.weight.seed = 0;
  // Weight matching sweeps until no group improves; on the 512-channel nets
  // that is minutes of sweeps that move little. Three sweeps still run every
  // part of it.
  options.weight.max_iterations = 3;

  nlohmann::json results = nlohmann::json::object();
  for (const std::string& match : c.matchers) {
    options.match = pipeline::parse_matcher(match);
    // A fresh loader per matcher: every merge reads the same batches.
    data::Loader stats_loader(splits.train, loader_options);
    const pipeline::MergeResult merged =
        pipeline::merge(*a, *b, stats_loader, splits.test, c.real ? &splits.train : nullptr, options, torch::kCPU);
    results[match] = report::merge_results_json(merged);
  }
  std::vector<std::string> repairs;
  for (RepairMethod m : c.repairs) repairs.push_back(repair::to_string(m));
  const RuntimeInfo runtime = runtime_info();
  return {{"format_version", 1},
          {"kind", "golden"},
          {"context",
           {{"git_commit", report::git_commit()},
            {"torch_version", runtime.torch_version},
            {"blas_core", runtime.blas_core},
            {"threads", runtime.threads}}},
          {"settings",
           {{"case", c.name},
            {"model", a->config()},
            {"dataset",
             c.real ? "fashion-mnist (first 2048 train / 1024 test images)" : "synthetic (64 train / 64 test images)"},
            {"fuse_batchnorm", c.fuse_batchnorm},
            {"recipe", recipe},
            {"repairs", repairs},
            {"matchers", c.matchers},
            {"alphas", options.alphas},
            {"weight_matching_max_iterations", options.weight.max_iterations},
            {"statistics_batch_size", loader_options.batch_size},
            {"statistics_augment", loader_options.augment.describe()}}},
          {"results", results}};
}

int run(int argc, char** argv) {
  init_runtime(argc, argv);
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 1 && args[0] == "--list") {
    for (const GoldenCase& c : cases()) std::cout << c.name << "\n";
    return 0;
  }
  if (args.size() == 1 && args[0] == "--blas-core") {
    // The kernel a run would use (after init_runtime's re-execution), so that
    // check_golden.sh skips a golden of another kernel before running it.
    std::cout << runtime_info().blas_core << "\n";
    return 0;
  }
  RB_CHECK(!args.empty() && args[0][0] != '-', kUsage, "usage: golden_runs OUT_DIR [CASE...] | --list | --blas-core");
  const std::string out_dir = args[0];
  const std::vector<std::string> wanted(args.begin() + 1, args.end());
  for (const std::string& name : wanted) {
    bool known = false;
    for (const GoldenCase& c : cases()) known = known || c.name == name;
    RB_CHECK(known, kUsage, "unknown golden case '", name, "' (golden_runs --list names them)");
  }
  for (const GoldenCase& c : cases()) {
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), c.name) == wanted.end()) continue;
    const std::string path = out_dir + "/" + c.name + ".json";
    const auto start = std::chrono::steady_clock::now();
    write_file_atomic(path, run_case(c).dump(1) + "\n");
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "golden_runs: " << path << " (" << seconds << " s)\n";
  }
  return 0;
}

}  // namespace
}  // namespace repairbench

int main(int argc, char** argv) {
  try {
    return repairbench::run(argc, argv);
  } catch (const repairbench::Error& e) {
    std::cerr << "golden_runs: error: " << e.what() << "\n";
    return repairbench::exit_code(e.kind());
  } catch (const std::exception& e) {
    std::cerr << "golden_runs: error: " << e.what() << "\n";
    return repairbench::exit_code(repairbench::ErrorKind::kInternal);
  }
}
