#include "repairbench/models/zoo.h"

#include "repairbench/models/family.h"
#include "repairbench/models/mlp.h"
#include "repairbench/models/resnet.h"
#include "repairbench/models/state_dict.h"
#include "repairbench/models/vgg.h"

namespace repairbench::models {

Network make_network(const ModelConfig& config) {
  validate(config);
  switch (family_info(config.family).architecture) {
    case Architecture::kMlp:
      return std::make_shared<MlpImpl>(config);
    case Architecture::kVgg:
      return std::make_shared<VggImpl>(config);
    case Architecture::kResNet:
      break;
  }
  return std::make_shared<ResNetImpl>(config);
}

Network copy_network(NetworkImpl& net) {
  Network copy = make_network(net.config());
  load_state_dict(*copy, state_dict(net), "copy");
  copy->to(net.parameters().empty() ? torch::Device(torch::kCPU) : net.parameters()[0].device());
  copy->train(net.is_training());
  return copy;
}

std::vector<std::string> model_families() {
  std::vector<std::string> names;
  for (const FamilyInfo& info : family_infos()) names.push_back(info.name);
  return names;
}

}  // namespace repairbench::models
