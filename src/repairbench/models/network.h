#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "repairbench/models/model_config.h"
#include "repairbench/models/permutation_spec.h"

namespace repairbench::models {

/// Where in a forward pass an activation point sits. LibTorch has no forward
/// hooks, so every model calls `tap()` at these points by name; alignment and
/// REPAIR observe or rescale the activations there through an ActivationProbe.
enum class PointKind {
  kLayerOutput,  ///< Output of a Linear/Conv2d, bias included, before any norm.
  kNormOutput,   ///< Output of a BatchNorm/LayerNorm (the input of the ReLU, or of the add).
  kHidden,       ///< A post-ReLU hidden unit inside a block or MLP layer.
  kBlockOutput,  ///< Output of a residual block (after the add and ReLU), or of the stem.
  kLogits,       ///< Output of the final Linear (its weight/bias are named like a layer's).
};

/// One named activation point.
///
/// Names: a layer or norm output is named by its module's state-dict prefix
/// ("features.0", "layer1.0.bn1"), a post-ReLU point by its producer plus
/// "/relu" ("fc1/relu", "layer1.0.bn1/relu"), a block output by the block's
/// prefix ("layer1.2"), the logits by the final Linear ("fc2", "classifier").
struct ActivationPoint {
  std::string name;
  PointKind kind = PointKind::kLayerOutput;
  int64_t channels = 0;
  /// For kLayerOutput, kNormOutput and kLogits: the state-dict keys of the per-channel
  /// affine map that produced this output (layer weight/bias or norm
  /// weight/bias). REPAIR folds its correction into them. `bias` is "" for a
  /// bias-free layer.
  std::string weight;
  std::string bias;
};

/// Observes and/or rescales activations during a forward pass.
class ActivationProbe {
 public:
  virtual ~ActivationProbe() = default;
  /// Called at activation point `point` (an index into Network::points()) with
  /// its activation, (N, C) or (N, C, H, W). Returns the tensor the forward
  /// pass continues with: `x` itself to observe only.
  virtual torch::Tensor visit(int64_t point, const torch::Tensor& x) = 0;
};

/// Base of every model in the zoo: a torch::nn::Module whose parameter names
/// equal the PyTorch reference's state_dict keys, plus the metadata that
/// alignment and REPAIR walk (activation points, permutation spec).
class NetworkImpl : public torch::nn::Module {
 public:
  explicit NetworkImpl(ModelConfig config) : config_(std::move(config)) {}

  /// Logits (N, num_classes) for normalized images x (N, C, H, W).
  virtual torch::Tensor forward(torch::Tensor x) = 0;

  /// The permutation groups of this architecture (see permutation_spec.h).
  virtual PermutationSpec permutation_spec() const = 0;

  const ModelConfig& config() const { return config_; }
  const std::vector<ActivationPoint>& points() const { return points_; }
  /// Index of the point called `name`; throws Error(kUsage) listing the names if absent.
  int64_t point_index(const std::string& name) const;
  const ActivationPoint& point(const std::string& name) const { return points_[point_index(name)]; }

  /// Installs `probe` (nullptr removes it). The probe is not owned.
  void set_probe(ActivationProbe* probe) { probe_ = probe; }
  ActivationProbe* probe() const { return probe_; }

 protected:
  /// Declares a point; returns its index for use with tap(). Call in constructors only.
  int64_t add_point(ActivationPoint point);
  /// Hands activation `x` at `point` to the installed probe, if any.
  torch::Tensor tap(int64_t point, torch::Tensor x) const { return probe_ == nullptr ? x : probe_->visit(point, x); }

 private:
  ModelConfig config_;
  std::vector<ActivationPoint> points_;
  ActivationProbe* probe_ = nullptr;
};

using Network = std::shared_ptr<NetworkImpl>;

/// Installs a probe for the lifetime of the scope and removes it afterwards,
/// also when the forward pass throws.
class ProbeScope {
 public:
  ProbeScope(NetworkImpl& net, ActivationProbe* probe) : net_(net), previous_(net.probe()) { net_.set_probe(probe); }
  ~ProbeScope() { net_.set_probe(previous_); }
  ProbeScope(const ProbeScope&) = delete;
  ProbeScope& operator=(const ProbeScope&) = delete;

 private:
  NetworkImpl& net_;
  ActivationProbe* previous_;
};

/// Puts the network in train (`training`) or eval mode for the lifetime of the
/// scope and restores the mode it had, also when the forward pass throws.
class ModeScope {
 public:
  ModeScope(NetworkImpl& net, bool training) : net_(net), was_training_(net.is_training()) { net_.train(training); }
  ~ModeScope() { net_.train(was_training_); }
  ModeScope(const ModeScope&) = delete;
  ModeScope& operator=(const ModeScope&) = delete;

 private:
  NetworkImpl& net_;
  bool was_training_;
};

}  // namespace repairbench::models
