#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace repairbench::models {

/// One set of channels that must be permuted together: the output channels of
/// one layer (and its norm), or a residual stream shared by every producer
/// that feeds it.
struct PermutationGroup {
  std::string name;         ///< e.g. "fc1", "layer1.0.conv1", "stream1".
  int64_t size = 0;         ///< Number of channels.
  std::string match_point;  ///< Activation point activation matching correlates.
};

/// Declarative description of an architecture's permutation symmetries, in the
/// form of Ainsworth et al.'s Git Re-Basin `axes_to_perm`: for every state-dict
/// entry, which group (if any) permutes each of its axes. Producers carry their
/// group on axis 0 (Linear/Conv weight, bias, norm weight/bias/running stats),
/// consumers on axis 1 (the next layer's input). See
/// docs/reference/algorithm.md §2a for the layouts.
struct PermutationSpec {
  std::vector<PermutationGroup> groups;
  /// key -> per-axis group index, or -1 for an axis no group permutes. Keys
  /// not listed (e.g. num_batches_tracked, the input layer's input axis) are
  /// never permuted.
  std::map<std::string, std::vector<int>> axes;

  /// Adds a group and returns its index.
  int add_group(std::string name, int64_t size, std::string match_point);
  /// Marks axis `axis` of entry `key` (of rank `rank`) as permuted by `group`.
  void set_axis(const std::string& key, int64_t rank, int64_t axis, int group);
  /// Index of the group called `name`; throws Error(kUsage) if absent.
  int group_index(const std::string& name) const;
};

/// A state dict: ordered (key, tensor) pairs as module.named_parameters() and
/// named_buffers() give them.
using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

/// Applies one permutation per group ((size) int64, perm[i] = channel of the
/// input that goes to position i) to every entry the spec names, returning a
/// new state dict; entries the spec does not name are shared, not copied.
/// Checks that every permutation has its group's size and that every key in the
/// spec exists with a matching extent.
StateDict apply_permutations(const PermutationSpec& spec, const StateDict& state,
                             const std::vector<torch::Tensor>& perms);

/// Identity permutations for every group of `spec`.
std::vector<torch::Tensor> identity_permutations(const PermutationSpec& spec);

/// Checks that `perm` is a permutation of 0..n-1; throws Error(kUsage) otherwise.
void check_permutation(const torch::Tensor& perm, int64_t n, const std::string& what);

}  // namespace repairbench::models
