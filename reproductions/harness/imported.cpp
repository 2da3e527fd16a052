#include "harness/imported.h"

#include <filesystem>
#include <iostream>
#include <map>

#include "harness/endpoint_cache.h"
#include "repairbench/core/error.h"
#include "repairbench/data/registry.h"
#include "repairbench/models/checkpoint.h"
#include "repairbench/pipeline/defaults.h"
#include "repairbench/train/recipe.h"

namespace repairbench::harness {
namespace {

std::string checkpoint_path(const std::string& dir, const std::string& name, uint64_t seed) {
  return dir + "/" + name + "_" + std::to_string(seed) + ".pt";
}

// Trains a tiny endpoint on the synthetic stand-in (one epoch of two batches
// of 32, from the cache when it is there) and exports it as a state dict.
std::string smoke_checkpoint(const TargetSettings& s, const ImportedCheckpoints& from,
                             const models::ModelConfig& config, uint64_t seed) {
  EndpointSpec spec;
  spec.model = config;
  spec.dataset = "synthetic-" + from.dataset;
  spec.recipe = train::with_epochs(pipeline::default_recipe(config, from.dataset), 1);
  spec.recipe.batch_size = 32;
  spec.max_batches_per_epoch = 2;
  spec.seed = seed;
  const auto splits = target_data(s, from.dataset);
  auto endpoint = train_or_load(spec, splits, s.cache_dir, s.retrain, s.device, &std::cerr);
  std::filesystem::create_directories(from.dir);
  const std::string path = checkpoint_path(from.dir, models::family_name(config.family), seed);
  models::export_state_dict(path, *endpoint.net);
  return path;
}

}  // namespace

models::ModelConfig torchvision_config(const std::string& name, bool smoke) {
  // torchvision's model names -> our family names (models/family.cpp), one row each.
  static const std::map<std::string, models::Family> kTorchvision = {
      {"resnet18", models::Family::kResNet18ImageNet},
      {"resnet50", models::Family::kResNet50},
      {"wide_resnet50_2", models::Family::kWideResNet50_2}};
  const auto it = kTorchvision.find(name);
  RB_CHECK(it != kTorchvision.end(), kUsage, "--models takes resnet18, resnet50 and wide_resnet50_2, got '", name, "'");
  models::ModelConfig c;
  c.family = it->second;
  c.norm = models::Norm::kBatch;
  c.width = 1;
  c.junctures = true;
  c.in_channels = 3;
  c.image_size = smoke ? 64 : 224;
  c.num_classes = smoke ? 10 : 1000;
  return c;
}

void require_checkpoints(const TargetSettings& settings, ImportedCheckpoints& from,
                         const std::vector<std::string>& names) {
  if (from.dir.empty()) {
    const std::string data_dir = settings.data_dir.empty() ? data::default_data_dir() : settings.data_dir;
    from.dir =
        settings.smoke ? settings.out_dir + "/smoke-checkpoints" : data_dir + "/" + from.dataset + "/checkpoints";
  }
  if (settings.smoke) return;
  for (const auto& name : names) {
    for (int64_t seed = 1; seed <= 2 * settings.pairs; ++seed) {
      const std::string path = checkpoint_path(from.dir, name, static_cast<uint64_t>(seed));
      RB_CHECK(std::filesystem::exists(path), kData, "endpoint checkpoint ", path,
               " not found: put the state dicts "
               "of two ",
               name, " models trained on ", from.dataset, " from different seeds there as ", name, "_1.pt and ", name,
               "_2.pt (torch.save(model.state_dict()); see datasets/README.md), or pass "
               "--checkpoint-dir");
    }
  }
}

EndpointSource imported_endpoints(const TargetSettings& settings, const ImportedCheckpoints& from,
                                  const std::string& name, const models::ModelConfig& config) {
  return [&settings, from, name, config](int64_t k) {
    std::pair<Endpoint, Endpoint> ends;
    for (int side = 0; side < 2; ++side) {
      const uint64_t seed = static_cast<uint64_t>(2 * k + 1 + side);
      const std::string path =
          settings.smoke ? smoke_checkpoint(settings, from, config, seed) : checkpoint_path(from.dir, name, seed);
      auto& e = side == 0 ? ends.first : ends.second;
      e.net = models::load_network(path, &config, from.strip_prefix);
      e.path = path;
      e.meta = {{"seed", seed}, {"imported", true}};
    }
    return ends;
  };
}

}  // namespace repairbench::harness
