#pragma once

#include <string>

#include "repairbench/models/permutation_spec.h"

namespace repairbench::models {

/// Builds a PermutationSpec layer by layer. Group -1 means "not permuted";
/// entries whose axes are all -1 are left out of the spec.
class SpecBuilder {
 public:
  /// Adds a group of `size` channels matched at activation point `match_point`.
  int group(const std::string& name, int64_t size, const std::string& match_point) {
    return spec_.add_group(name, size, match_point);
  }
  /// Linear `key`: weight (out, in), bias (out).
  void linear(const std::string& key, int out, int in, bool bias) {
    entry(key + ".weight", {out, in});
    if (bias) entry(key + ".bias", {out});
  }
  /// Conv2d `key`: weight (out, in, kh, kw), bias (out).
  void conv(const std::string& key, int out, int in, bool bias) {
    entry(key + ".weight", {out, in, -1, -1});
    if (bias) entry(key + ".bias", {out});
  }
  /// BatchNorm `key`: affine and running statistics follow their producer.
  void batch_norm(const std::string& key, int g) {
    for (const char* name : {".weight", ".bias", ".running_mean", ".running_var"}) {
      entry(key + name, {g});
    }
  }
  /// LayerNorm2d `key`: its statistics are over channels, hence invariant to
  /// their order; only the per-channel affine follows the producer.
  void layer_norm(const std::string& key, int g) {
    entry(key + ".weight", {g});
    entry(key + ".bias", {g});
  }
  PermutationSpec build() const { return spec_; }

 private:
  void entry(const std::string& key, std::initializer_list<int> groups) {
    int64_t axis = 0;
    for (int g : groups) {
      if (g >= 0) spec_.set_axis(key, static_cast<int64_t>(groups.size()), axis, g);
      ++axis;
    }
  }
  PermutationSpec spec_;
};

}  // namespace repairbench::models
