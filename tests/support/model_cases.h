#pragma once

#include <string>
#include <vector>

#include "repairbench/models/model_config.h"

namespace repairbench::testing {

/// A model of the zoo under test, named as in tests/fixtures/models/keys.json
/// (written by tools/make_model_fixtures.py).
struct ModelCase {
  std::string name;
  models::ModelConfig config;
};

inline models::ModelConfig make_config(const std::string& family, int64_t width, const std::string& norm,
                                       int64_t in_channels, int64_t image_size, int64_t classes = 10, int64_t depth = 0,
                                       bool junctures = false) {
  models::ModelConfig c;
  c.family = models::parse_family(family);
  c.width = width;
  c.depth = depth;
  c.norm = models::parse_norm(norm);
  c.in_channels = in_channels;
  c.image_size = image_size;
  c.num_classes = classes;
  c.junctures = junctures;
  return c;
}

/// Every family and norm variant, at the sizes the Python fixture uses.
inline std::vector<ModelCase> fixture_cases() {
  return {
      {"mlp_h128_l10", make_config("mlp", 128, "none", 1, 28, 10, 10)},
      {"mlp_bn_h128_l3", make_config("mlp", 128, "bn", 1, 28, 10, 3)},
      {"mlp_h64_l2_cifar", make_config("mlp", 64, "none", 3, 32, 10, 2)},
      {"vgg11_w1", make_config("vgg11", 1, "none", 3, 32)},
      {"vgg13_w1", make_config("vgg13", 1, "none", 3, 32)},
      {"vgg16_w1", make_config("vgg16", 1, "none", 3, 32)},
      {"vgg19_w1", make_config("vgg19", 1, "none", 3, 32)},
      {"vgg11_bn_w2", make_config("vgg11", 2, "bn", 3, 32)},
      {"resnet20_bn_w1", make_config("resnet20", 1, "bn", 3, 32)},
      {"resnet20_bn_w4", make_config("resnet20", 4, "bn", 3, 32)},
      {"resnet20_ln_w2", make_config("resnet20", 2, "ln", 3, 32)},
      {"resnet20_none_w1", make_config("resnet20", 1, "none", 3, 32)},
      {"resnet18_cifar", make_config("resnet18", 1, "bn", 3, 32)},
      {"resnet18_imagenet", make_config("resnet18_imagenet", 1, "bn", 3, 224, 1000)},
      {"resnet18_imagenet_junctures", make_config("resnet18_imagenet", 1, "bn", 3, 224, 1000, 0, true)},
      {"resnet50", make_config("resnet50", 1, "bn", 3, 224, 1000)},
      {"wide_resnet50_2", make_config("wide_resnet50_2", 1, "bn", 3, 224, 1000)},
  };
}

}  // namespace repairbench::testing
