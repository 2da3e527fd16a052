#include "repairbench/pipeline/defaults.h"

#include "repairbench/data/dataset_info.h"
#include "repairbench/models/family.h"
#include "repairbench/train/recipe.h"

namespace repairbench::pipeline {

StatsDefaults stats_defaults(const models::ModelConfig& model, const std::string& dataset) {
  StatsDefaults d;
  d.loader.shuffle = true;
  d.loader.drop_last = true;
  d.loader.channels = model.in_channels;
  const models::FamilyInfo& family = models::family_info(model.family);
  const bool mlp = family.architecture == models::Architecture::kMlp;
  const bool vgg = family.architecture == models::Architecture::kVgg;
  if (mlp && model.norm == models::Norm::kBatch) {
    d.loader.batch_size = 1000;
    d.endpoint_epochs = 2;
    d.merged_epochs = 3;
    d.target_std_eps = 1e-7;
    d.std_estimate = stats::StdEstimate::kAverage;
    d.source = "Train-and-Permute-MNIST-MLP-BatchNorm.ipynb: un-augmented train loader, batch 1000";
  } else if (mlp) {
    d.loader.batch_size = 2000;
    d.loader.augment.translate = 4;
    // The notebook flips the sets where a flip keeps the label (Fashion-MNIST
    // and CIFAR-10 of the four it covers).
    const data::DatasetInfo* info = data::find_dataset_info(dataset);
    d.loader.augment.flip = info != nullptr && info->flips_safe;
    d.endpoint_epochs = 2;
    d.merged_epochs = 3;
    d.target_std_eps = 1e-7;
    d.std_estimate = stats::StdEstimate::kAverage;
    d.source =
        "Permute-Datasets-MLP.ipynb: augmented train loader, batch 2000 (translate 4; flip too on "
        "Fashion-MNIST and CIFAR-10), 1 epoch matching, 2 endpoint / 3 merged epochs, eps 1e-7";
  } else if (vgg && model.norm == models::Norm::kBatch) {
    // The BN VGG notebook is not one of the two that estimate the std from
    // moments (repair_reference.md 2a names Train-Merge-REPAIR-VGG11* and
    // Merge-ResNet50 only), so it averages per-batch stds like the others.
    d.loader.batch_size = 500;
    d.loader.augment = train::default_recipe(model, dataset).augment;
    d.std_estimate = stats::StdEstimate::kAverage;
    d.source = "Train-and-Permute-CIFAR10-VGG11-BatchNorm.ipynb: train_aug_loader, batch 500, one epoch each";
  } else if (vgg) {
    d.loader.batch_size = 500;
    d.loader.augment = train::default_recipe(model, dataset).augment;
    d.std_estimate = stats::StdEstimate::kMoment;
    d.source = "Train-Merge-REPAIR-VGG11.ipynb: train_aug_loader, batch 500, one epoch each";
  } else if (family.family == models::Family::kResNet20) {
    d.loader.batch_size = 500;
    d.loader.augment = train::default_recipe(model, dataset).augment;
    d.std_estimate = stats::StdEstimate::kAverage;
    d.source = "Permute-CIFAR10-ResNet20.ipynb: train_aug_loader, batch 500, one epoch each";
  } else if (family.family == models::Family::kResNet18) {
    d.loader.batch_size = 512;
    d.loader.augment.flip = true;
    d.loader.augment.translate = 2;
    d.loader.augment.cutout = 12;
    d.std_estimate = stats::StdEstimate::kAverage;
    d.source =
        "Permute-CIFAR10-ResNet18.ipynb: BN reset on flip + translate 2 + cutout 12, batch 512 "
        "(the notebook matches on the un-augmented loader)";
  } else {
    d.loader.batch_size = 200;
    d.loader.augment.flip = true;
    d.loader.augment.resized_crop = 224;
    d.target_std_eps = 1e-5;
    d.std_estimate = stats::StdEstimate::kMoment;
    d.source = "Permute-ImageNet-ResNet*.ipynb: train5k with RandomResizedCrop(224) + flip, batch 200";
  }
  return d;
}

}  // namespace repairbench::pipeline
