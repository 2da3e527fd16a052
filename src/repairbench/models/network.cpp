#include "repairbench/models/network.h"

#include "repairbench/core/error.h"

namespace repairbench::models {

int64_t NetworkImpl::point_index(const std::string& name) const {
  for (size_t i = 0; i < points_.size(); ++i) {
    if (points_[i].name == name) return static_cast<int64_t>(i);
  }
  std::string names;
  for (const auto& p : points_) names += (names.empty() ? "" : ", ") + p.name;
  RB_FAIL(kUsage, config_.describe(), " has no activation point '", name, "'; it has: ", names);
}

int64_t NetworkImpl::add_point(ActivationPoint point) {
  for (const auto& p : points_) {
    RB_CHECK(p.name != point.name, kInternal, "duplicate activation point ", point.name);
  }
  points_.push_back(std::move(point));
  return static_cast<int64_t>(points_.size()) - 1;
}

}  // namespace repairbench::models
