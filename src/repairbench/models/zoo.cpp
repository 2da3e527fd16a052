#include "repairbench/models/zoo.h"

#include "repairbench/models/mlp.h"
#include "repairbench/models/resnet.h"
#include "repairbench/models/vgg.h"

namespace repairbench::models {

Network make_network(const ModelConfig& config) {
  validate(config);
  if (config.family == "mlp") return std::make_shared<MlpImpl>(config);
  if (config.family.rfind("vgg", 0) == 0) return std::make_shared<VggImpl>(config);
  return std::make_shared<ResNetImpl>(config);
}

std::vector<std::string> model_families() {
  return {"mlp",      "vgg11",    "vgg13",           "vgg16",   "vgg19",
          "resnet20", "resnet18", "resnet18_imagenet", "resnet50", "wide_resnet50_2"};
}

}  // namespace repairbench::models
