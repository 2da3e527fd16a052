#include "repairbench/models/family.h"

#include "repairbench/core/error.h"

namespace repairbench::models {

const std::vector<FamilyInfo>& family_infos() {
  constexpr int64_t M = -1;
  // clang-format off
  static const std::vector<FamilyInfo> table = {
      {Family::kMlp, "mlp", Architecture::kMlp, 65536, {}},
      {Family::kVgg11, "vgg11", Architecture::kVgg, 64, {64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M}},
      {Family::kVgg13, "vgg13", Architecture::kVgg, 64,
       {64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M}},
      {Family::kVgg16, "vgg16", Architecture::kVgg, 64,
       {64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M}},
      {Family::kVgg19, "vgg19", Architecture::kVgg, 64,
       {64, 64, M, 128, 128, M, 256, 256, 256, 256, M, 512, 512, 512, 512, M, 512, 512, 512, 512, M}},
      {Family::kResNet20, "resnet20", Architecture::kResNet, 64, {}, false, false, true},
      {Family::kResNet18, "resnet18", Architecture::kResNet, 64, {}, false, true, false},
      {Family::kResNet18ImageNet, "resnet18_imagenet", Architecture::kResNet, 64, {}, true, true, false},
      {Family::kResNet50, "resnet50", Architecture::kResNet, 64, {}, true, true, false},
      {Family::kWideResNet50_2, "wide_resnet50_2", Architecture::kResNet, 64, {}, true, true, false},
  };
  // clang-format on
  return table;
}

const FamilyInfo* find_family(const std::string& name) {
  for (const FamilyInfo& info : family_infos()) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

const FamilyInfo& family_info(const std::string& name) {
  const FamilyInfo* info = find_family(name);
  if (info == nullptr) {
    std::string known;
    for (const FamilyInfo& f : family_infos()) known += (known.empty() ? "" : ", ") + f.name;
    RB_FAIL(kUsage, "unknown model family '", name, "'; expected one of ", known);
  }
  return *info;
}

const FamilyInfo& family_info(Family family) {
  for (const FamilyInfo& info : family_infos()) {
    if (info.family == family) return info;
  }
  RB_FAIL(kInternal, "family ", static_cast<int>(family), " has no row in family_infos()");
}

Family parse_family(const std::string& name) { return family_info(name).family; }

const std::string& family_name(Family family) { return family_info(family).name; }

}  // namespace repairbench::models
