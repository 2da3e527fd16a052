#pragma once

#include <torch/nn/module.h>

#include <string>

#include "repairbench/models/permutation_spec.h"

namespace repairbench::models {

/// The module's parameters and buffers in PyTorch's state_dict order (for each
/// module: its own parameters, then its own buffers, then its children in
/// registration order), detached; the tensors alias the module's storage.
StateDict state_dict(const torch::nn::Module& module);

/// Deep copy of a state dict (each tensor cloned).
StateDict clone(const StateDict& state);

/// The tensor stored under `key`; throws Error(kUsage) if absent.
const torch::Tensor& find(const StateDict& state, const std::string& key);

/// Copies `state` into the module's parameters and buffers, converting dtype
/// and device as needed. Strict, like PyTorch's load_state_dict: a missing key,
/// an unexpected key or a shape mismatch throws Error(kCheckpoint) listing what
/// differs; `origin` names the source (a file path) in that message.
void load_state_dict(torch::nn::Module& module, const StateDict& state, const std::string& origin);

}  // namespace repairbench::models
