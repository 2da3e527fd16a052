#include "repairbench/models/permutation_spec.h"

#include "repairbench/core/error.h"

namespace repairbench::models {

int PermutationSpec::add_group(std::string name, int64_t size, std::string match_point) {
  groups.push_back({std::move(name), size, std::move(match_point)});
  return static_cast<int>(groups.size()) - 1;
}

void PermutationSpec::set_axis(const std::string& key, int64_t rank, int64_t axis, int group) {
  auto& entry = axes[key];
  if (entry.empty()) entry.assign(static_cast<size_t>(rank), -1);
  RB_CHECK(static_cast<int64_t>(entry.size()) == rank && axis < rank, kInternal,
           "permutation spec: inconsistent rank for ", key);
  RB_CHECK(entry[axis] == -1 || entry[axis] == group, kInternal, "permutation spec: axis ", axis, " of ", key,
           " claimed by two groups");
  entry[axis] = group;
}

int PermutationSpec::group_index(const std::string& name) const {
  for (size_t i = 0; i < groups.size(); ++i) {
    if (groups[i].name == name) return static_cast<int>(i);
  }
  RB_FAIL(kUsage, "no permutation group called '", name, "'");
}

void check_permutation(const torch::Tensor& perm, int64_t n, const std::string& what) {
  RB_CHECK(perm.defined() && perm.dim() == 1 && perm.size(0) == n, kUsage, what, ": expected a permutation of length ",
           n);
  RB_CHECK(perm.scalar_type() == torch::kInt64, kUsage, what, ": permutation must be int64");
  const auto sorted = std::get<0>(perm.cpu().sort());
  RB_CHECK(sorted.equal(torch::arange(n, torch::kInt64)), kUsage, what, ": not a permutation of 0..", n - 1);
}

StateDict apply_permutations(const PermutationSpec& spec, const StateDict& state,
                             const std::vector<torch::Tensor>& perms) {
  RB_CHECK(perms.size() == spec.groups.size(), kUsage, "expected ", spec.groups.size(),
           " permutations (one per group), got ", perms.size());
  for (size_t g = 0; g < perms.size(); ++g) {
    check_permutation(perms[g], spec.groups[g].size, "permutation of group " + spec.groups[g].name);
  }
  StateDict out;
  out.reserve(state.size());
  size_t matched = 0;
  for (const auto& [key, tensor] : state) {
    auto it = spec.axes.find(key);
    if (it == spec.axes.end()) {
      out.emplace_back(key, tensor);
      continue;
    }
    ++matched;
    const auto& axes = it->second;
    RB_CHECK(static_cast<int64_t>(axes.size()) == tensor.dim(), kInternal, "permutation spec gives ", axes.size(),
             " axes for ", key, " of rank ", tensor.dim());
    torch::Tensor result = tensor;
    for (size_t axis = 0; axis < axes.size(); ++axis) {
      const int g = axes[axis];
      if (g < 0) continue;
      RB_CHECK(tensor.size(static_cast<int64_t>(axis)) == spec.groups[g].size, kInternal, key, " axis ", axis, " has ",
               tensor.size(static_cast<int64_t>(axis)), " channels but group ", spec.groups[g].name, " has ",
               spec.groups[g].size);
      result = result.index_select(static_cast<int64_t>(axis), perms[g].to(tensor.device()));
    }
    out.emplace_back(key, result);
  }
  RB_CHECK(matched == spec.axes.size(), kInternal, "permutation spec names ", spec.axes.size(),
           " entries but the state dict has only ", matched, " of them");
  return out;
}

std::vector<torch::Tensor> identity_permutations(const PermutationSpec& spec) {
  std::vector<torch::Tensor> perms;
  perms.reserve(spec.groups.size());
  for (const auto& group : spec.groups) perms.push_back(torch::arange(group.size, torch::kInt64));
  return perms;
}

}  // namespace repairbench::models
