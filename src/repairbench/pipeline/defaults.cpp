#include "repairbench/pipeline/defaults.h"

#include <optional>
#include <vector>

#include "repairbench/core/error.h"
#include "repairbench/core/named.h"
#include "repairbench/data/dataset_info.h"
#include "repairbench/models/family.h"

namespace repairbench::pipeline {
namespace {

using models::Architecture;
using models::Family;
using models::Norm;
using stats::StdEstimate;

// Where the statistics loader's augmentation comes from.
enum class StatsAugment {
  kNone,    // un-augmented train loader
  kRecipe,  // the endpoints' training augmentation (the notebooks' train_aug_loader)
  kOwn,     // the row's own (`augment`)
};

// One experiment of the reference: which models it covers (an architecture,
// optionally one family of it and one norm; the first row that matches
// wins), the recipe preset they train with and their statistics settings.
struct Row {
  Architecture architecture;
  std::optional<Family> family;  // nullopt: every family of the architecture
  std::optional<Norm> norm;      // nullopt: every norm
  const char* recipe;            // train::recipe_preset name
  int64_t stats_batch;
  StatsAugment stats_augment;
  data::AugmentOptions augment;  // with kOwn
  // The MLP notebook also flips the sets where a flip keeps the label
  // (Fashion-MNIST and CIFAR-10 of the four it covers).
  bool flip_if_label_safe;
  int64_t endpoint_epochs, merged_epochs;
  double target_std_eps;
  StdEstimate std_estimate;
  const char* source;
};

data::AugmentOptions augment(bool flip, int64_t translate, int64_t cutout, int64_t resized_crop) {
  data::AugmentOptions a;
  a.flip = flip;
  a.translate = translate;
  a.cutout = cutout;
  a.resized_crop = resized_crop;
  return a;
}

const std::vector<Row>& table() {
  const data::AugmentOptions none;
  // clang-format off
  static const std::vector<Row> rows = {
      {Architecture::kMlp, std::nullopt, Norm::kBatch, "mlp_bn", 1000, StatsAugment::kNone, none, false, 2, 3, 1e-7,
       StdEstimate::kAverage,
       "Train-and-Permute-MNIST-MLP-BatchNorm.ipynb: un-augmented train loader, batch 1000"},
      {Architecture::kMlp, std::nullopt, std::nullopt, "mlp_he_lr0.1", 2000, StatsAugment::kOwn,
       augment(false, 4, 0, 0), true, 2, 3, 1e-7, StdEstimate::kAverage,
       "Permute-Datasets-MLP.ipynb: augmented train loader, batch 2000 (translate 4; flip too on "
       "Fashion-MNIST and CIFAR-10), 1 epoch matching, 2 endpoint / 3 merged epochs, eps 1e-7"},
      // The BN VGG notebook is not one of the two that estimate the std from
      // moments (docs/reference/algorithm.md §2a names Train-Merge-REPAIR-VGG11* and
      // Merge-ResNet50 only), so it averages per-batch stds like the others.
      {Architecture::kVgg, std::nullopt, Norm::kBatch, "vgg", 500, StatsAugment::kRecipe, none, false, 1, 1, 0.0,
       StdEstimate::kAverage,
       "Train-and-Permute-CIFAR10-VGG11-BatchNorm.ipynb: train_aug_loader, batch 500, one epoch each"},
      {Architecture::kVgg, std::nullopt, std::nullopt, "vgg", 500, StatsAugment::kRecipe, none, false, 1, 1, 0.0,
       StdEstimate::kMoment, "Train-Merge-REPAIR-VGG11.ipynb: train_aug_loader, batch 500, one epoch each"},
      {Architecture::kResNet, Family::kResNet20, Norm::kLayer, "resnet20_ln", 500, StatsAugment::kRecipe, none, false,
       1, 1, 0.0, StdEstimate::kAverage,
       "Permute-CIFAR10-ResNet20.ipynb: train_aug_loader, batch 500, one epoch each"},
      {Architecture::kResNet, Family::kResNet20, std::nullopt, "resnet20", 500, StatsAugment::kRecipe, none, false,
       1, 1, 0.0, StdEstimate::kAverage,
       "Permute-CIFAR10-ResNet20.ipynb: train_aug_loader, batch 500, one epoch each"},
      {Architecture::kResNet, Family::kResNet18, std::nullopt, "resnet18_cifar", 512, StatsAugment::kOwn,
       augment(true, 2, 12, 0), false, 1, 1, 0.0, StdEstimate::kAverage,
       "Permute-CIFAR10-ResNet18.ipynb: BN reset on flip + translate 2 + cutout 12, batch 512 "
       "(the notebook matches on the un-augmented loader)"},
      {Architecture::kResNet, Family::kResNet18ImageNet, std::nullopt, "resnet18_imagenet", 200, StatsAugment::kOwn,
       augment(true, 0, 0, 224), false, 1, 1, 1e-5, StdEstimate::kMoment,
       "Permute-ImageNet-ResNet*.ipynb: train5k with RandomResizedCrop(224) + flip, batch 200"},
      {Architecture::kResNet, std::nullopt, std::nullopt, "resnet50_imagenet", 200, StatsAugment::kOwn,
       augment(true, 0, 0, 224), false, 1, 1, 1e-5, StdEstimate::kMoment,
       "Permute-ImageNet-ResNet*.ipynb: train5k with RandomResizedCrop(224) + flip, batch 200"},
  };
  // clang-format on
  return rows;
}

constexpr Named<StatsOrder> kStatsOrders[] = {{StatsOrder::kShuffled, "shuffled"},
                                              {StatsOrder::kSequential, "sequential"}};

}  // namespace

const char* stats_order_name(StatsOrder order) { return name_of(kStatsOrders, order); }

StatsOrder parse_stats_order(const std::string& name) { return parse_named(kStatsOrders, name, "--stats-order"); }

ExperimentDefaults experiment_defaults(const models::ModelConfig& model, const std::string& dataset) {
  const models::FamilyInfo& family = models::family_info(model.family);
  for (const Row& row : table()) {
    if (row.architecture != family.architecture || (row.family && *row.family != family.family) ||
        (row.norm && *row.norm != model.norm)) {
      continue;
    }
    ExperimentDefaults d;
    d.recipe = train::recipe_preset(row.recipe, dataset);
    StatsDefaults& s = d.stats;
    s.loader.shuffle = true;
    s.loader.drop_last = true;
    s.loader.channels = model.in_channels;
    s.loader.batch_size = row.stats_batch;
    if (row.stats_augment == StatsAugment::kRecipe) s.loader.augment = d.recipe.augment;
    if (row.stats_augment == StatsAugment::kOwn) s.loader.augment = row.augment;
    if (row.flip_if_label_safe) {
      const data::DatasetInfo* info = data::find_dataset_info(dataset);
      s.loader.augment.flip = info != nullptr && info->flips_safe;
    }
    s.endpoint_epochs = row.endpoint_epochs;
    s.merged_epochs = row.merged_epochs;
    s.target_std_eps = row.target_std_eps;
    s.std_estimate = row.std_estimate;
    s.source = row.source;
    return d;
  }
  RB_FAIL(kInternal, "no default recipe or statistics for family ", family.name, " with norm ", to_string(model.norm));
}

train::Recipe default_recipe(const models::ModelConfig& model, const std::string& dataset) {
  return experiment_defaults(model, dataset).recipe;
}

StatsDefaults stats_defaults(const models::ModelConfig& model, const std::string& dataset) {
  return experiment_defaults(model, dataset).stats;
}

}  // namespace repairbench::pipeline
