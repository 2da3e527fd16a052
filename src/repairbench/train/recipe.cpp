#include "repairbench/train/recipe.h"

#include <cmath>

#include "repairbench/core/error.h"
#include "repairbench/data/dataset_info.h"

namespace repairbench::train {
namespace {

// Digits are trained without flips or cutout; a name that is not a data set
// (a test's) gets the conv nets' full augmentation.
bool is_digit_like(const std::string& dataset) {
  const data::DatasetInfo* info = data::find_dataset_info(dataset);
  return info != nullptr && !info->flips_safe;
}

}  // namespace

std::vector<std::string> recipe_names() {
  return {"mlp",         "mlp_he",         "mlp_he_lr0.1",      "mlp_bn",           "vgg", "resnet20",
          "resnet20_ln", "resnet18_cifar", "resnet18_imagenet", "resnet50_imagenet"};
}

Recipe recipe_preset(const std::string& name, const std::string& dataset) {
  Recipe r;
  r.name = name;
  if (name == "mlp" || name == "mlp_he" || name == "mlp_he_lr0.1") {
    r.batch_size = 2000;
    r.epochs = 100;
    r.schedule = {ScheduleKind::kTriangular, 0.2, 5, 0.0};
    r.augment.translate = 4;
    r.source = "paper Table 1 (MLP): batch 2000, 100 epochs, linear 0.2, wd 0, translate";
    if (name != "mlp") {
      // The recipe search of issue #14 (README, "The Fashion-MNIST recipe
      // search"): with PyTorch's default init the 10-layer MLP sits 20-30
      // epochs on the ln 10 plateau, ends 3 points below the paper's
      // endpoints and diverges at widths 256 and 512 in fp32. He init removes
      // the plateau; it still diverged at width 256 (seed 1, epoch 6) until
      // the GradScaler skip rule of the reference's fp16 training was added.
      // (The source text below is part of the endpoint cache key: keep it.)
      r.kaiming_init = true;
      r.grad_scaler = true;
      r.source += "; He init instead of PyTorch's default (repairbench's recipe search, issue #14)";
    }
    if (name == "mlp_he_lr0.1") {
      // mlp_he still diverged for one seed in three at widths 32, 128 and 512
      // (the scale fell below 2^-24); at half the peak lr every one of 11
      // seeds trained at widths 32-512, as accurate as mlp_he where both
      // trained (README, "The Fashion-MNIST recipe search").
      r.schedule.peak_lr = 0.1;
      r.source += "; peak lr 0.1 (issue #14: every seed trains at widths 32-512)";
    }
  } else if (name == "mlp_bn") {
    r.batch_size = 2000;
    r.epochs = 50;
    r.schedule = {ScheduleKind::kTriangular, 0.05, 5, 0.0};
    r.source =
        "repair_reference.md section 3, MLP + BN (depth study): batch 2000, 50 epochs, lr 0.05, no wd, "
        "no augmentation";
  } else if (name == "vgg") {
    r.batch_size = 500;
    r.epochs = 100;
    r.schedule = {ScheduleKind::kTriangular, 0.08, 5, 0.0};
    r.weight_decay = 5e-4;
    r.augment.flip = true;
    r.augment.translate = 4;
    r.source = "paper Table 1 (VGG): batch 500, 100 epochs, 0.08, wd 5e-4, flip + translate";
  } else if (name == "resnet20" || name == "resnet20_ln") {
    const bool ln = name == "resnet20_ln";
    r.batch_size = ln ? 100 : 500;
    r.epochs = ln ? 250 : 200;
    r.schedule = {ScheduleKind::kWarmupCosine, ln ? 0.1 : 0.4, 5, 1e-6};
    r.weight_decay = 1e-4;
    r.augment.translate = 4;
    if (!is_digit_like(dataset)) {
      r.augment.flip = true;
      r.augment.cutout = 12;
    }
    r.source = ln ? "train/resnet-layernorm-cifar: batch 100, lr 0.1, wd 1e-4, 250 epochs, cosine"
                  : "paper Table 1 (ResNet20): batch 500, 200 epochs, cosine 0.4, wd 1e-4, "
                    "flip + translate + cutout (no flip/cutout on MNIST, SVHN)";
  } else if (name == "resnet18_cifar") {
    r.batch_size = 512;
    r.epochs = 200;
    r.schedule = {ScheduleKind::kTriangular, 0.4, 5, 0.0};
    r.weight_decay = 5e-4;
    r.label_smoothing = 0.1;
    r.augment.flip = true;
    r.augment.translate = 4;
    r.augment.cutout = 16;
    r.source = "Train-CIFAR10-ResNet18.ipynb: batch 512, 200 epochs, 0.4, wd 5e-4, label smoothing 0.1";
  } else if (name == "resnet18_imagenet") {
    r.batch_size = 1024;
    r.epochs = 100;
    r.schedule = {ScheduleKind::kTriangular, 0.5, 2, 1e-4};
    r.weight_decay = 5e-5;
    r.no_decay_on_norm = true;
    r.augment.flip = true;
    r.augment.resized_crop = 192;
    r.source =
        "train/resnet18-imagenet/rn18.yaml: batch 1024, 100 epochs, lr 0.5 peak at epoch 2, "
        "wd 5e-5 (not on bn), res 192";
  } else if (name == "resnet50_imagenet") {
    r.batch_size = 512;
    r.epochs = 300;
    r.schedule = {ScheduleKind::kTriangular, 0.5, 5, 0.0};
    r.weight_decay = 1e-4;
    r.augment.flip = true;
    r.augment.resized_crop = 224;
    r.source = "paper Table 1 (ResNet50 / ImageNet): batch 512, 300 epochs, linear 0.5, wd 1e-4";
  } else {
    std::string names;
    for (const auto& n : recipe_names()) names += (names.empty() ? "" : ", ") + n;
    RB_FAIL(kUsage, "unknown recipe '", name, "'; expected one of ", names);
  }
  return r;
}

Recipe with_epochs(Recipe recipe, int64_t epochs) {
  RB_CHECK(epochs >= 1, kUsage, "a recipe needs at least one epoch, got ", epochs);
  recipe.schedule.warmup_epochs *= static_cast<double>(epochs) / static_cast<double>(recipe.epochs);
  recipe.epochs = epochs;
  recipe.name += "-" + std::to_string(epochs) + "ep";
  return recipe;
}

void validate(const Recipe& r) {
  // NaN fails every comparison, so each check is written as "in range".
  const auto check = [](bool ok, const char* flag, const char* range, double value) {
    RB_CHECK(ok && std::isfinite(value), kUsage, flag, " must be ", range, ", got ", value);
  };
  const auto in = [](double v, double lo, double hi) { return v >= lo && v < hi; };
  check(r.batch_size >= 1, "--batch-size", "a whole number >= 1", static_cast<double>(r.batch_size));
  check(r.epochs >= 1, "--epochs", "a whole number >= 1", static_cast<double>(r.epochs));
  check(r.schedule.peak_lr > 0, "--lr", "a finite number > 0", r.schedule.peak_lr);
  check(r.schedule.warmup_epochs >= 0, "--warmup-epochs", "a finite number >= 0", r.schedule.warmup_epochs);
  check(r.schedule.start >= 0 && r.schedule.start <= 1, "the schedule's start", "in [0, 1]", r.schedule.start);
  check(in(r.momentum, 0, 1), "--momentum", "a number in [0, 1)", r.momentum);
  check(r.weight_decay >= 0, "--weight-decay", "a finite number >= 0", r.weight_decay);
  check(in(r.label_smoothing, 0, 1), "--label-smoothing", "a number in [0, 1)", r.label_smoothing);
}

void to_json(nlohmann::json& j, const Recipe& r) {
  j = nlohmann::json{{"name", r.name},
                     {"batch_size", r.batch_size},
                     {"epochs", r.epochs},
                     {"schedule", to_string(r.schedule.kind)},
                     {"peak_lr", r.schedule.peak_lr},
                     {"warmup_epochs", r.schedule.warmup_epochs},
                     {"warmup_start", r.schedule.start},
                     {"momentum", r.momentum},
                     {"nesterov", r.nesterov},
                     {"weight_decay", r.weight_decay},
                     {"no_decay_on_norm", r.no_decay_on_norm},
                     {"label_smoothing", r.label_smoothing},
                     {"augment", r.augment.describe()},
                     {"source", r.source}};
  if (r.grad_scaler) j["grad_scaler"] = true;
  if (r.kaiming_init) j["kaiming_init"] = true;
}

}  // namespace repairbench::train
