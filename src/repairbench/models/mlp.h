#pragma once

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include <vector>

#include "repairbench/models/network.h"

namespace repairbench::models {

/// The paper's MLP (docs/reference/algorithm.md §3):
/// fc1: Linear(in, h) + ReLU, then `depth` x [Linear(h, h) + ReLU] in
/// `layers`, then fc2: Linear(h, classes). With norm = bn it is the reference's
/// NormMLP: bias-free Linears, each followed by BatchNorm1d (`bn1` after fc1;
/// `layers` = [Linear, BatchNorm1d, ReLU] x depth). State-dict keys equal the
/// reference's: fc1.weight, layers.0.weight, layers.2.weight, ..., fc2.bias.
///
/// Input (N, C, H, W) is flattened to (N, C*H*W). Points per hidden layer k
/// (k = fc1, layers.<i>): layer output "<k>", norm output "<bn>" (bn nets),
/// post-ReLU "<k or bn>/relu"; logits "fc2".
class MlpImpl : public NetworkImpl {
 public:
  explicit MlpImpl(const ModelConfig& config);
  torch::Tensor forward(torch::Tensor x) override;
  PermutationSpec permutation_spec() const override;

 private:
  struct Hidden {
    torch::nn::Linear linear{nullptr};
    torch::nn::BatchNorm1d norm{nullptr};
    std::string linear_key;
    std::string norm_key;  // "" without norm
    int64_t out_point = -1, norm_point = -1, relu_point = -1;
  };
  std::vector<Hidden> hidden_;
  torch::nn::Linear fc2_{nullptr};
  int64_t logits_point_ = -1;
};

/// The depth study's preparation (docs/reference/algorithm.md §3, "MLP + BN"):
/// folds every BatchNorm1d of a norm = bn MLP, in eval mode (running
/// statistics), into the Linear before it, giving the plain MLP (norm none,
/// with biases) that computes the same function:
///   g = gamma / sqrt(running_var + eps),  W' = g[:, None] W,  b' = beta - g mean.
/// Throws Error(kUsage) for a net that is not a BatchNorm MLP.
Network fuse_mlp_batchnorm(NetworkImpl& net);

}  // namespace repairbench::models
