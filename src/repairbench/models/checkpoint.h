#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "repairbench/models/model_config.h"
#include "repairbench/models/network.h"
#include "repairbench/models/permutation_spec.h"

namespace repairbench::models {

/// A repairbench checkpoint: the model's architecture, free-form metadata
/// (data set, recipe, seed, accuracy, ...) and its state dict.
///
/// On disk it is a torch.save file (PyTorch's zip format) holding a dict
///   {"format": "repairbench.checkpoint", "format_version": 1,
///    "model": <ModelConfig as JSON text>, "meta": <JSON text>,
///    "state_dict": OrderedDict(key -> tensor)}
/// so Python reads it with torch.load(path)["state_dict"].
struct Checkpoint {
  ModelConfig config;
  nlohmann::json meta = nlohmann::json::object();
  StateDict state;
};

/// Writes `net` with `meta` atomically (temporary file, then rename).
void save_checkpoint(const std::string& path, NetworkImpl& net, const nlohmann::json& meta);

/// Reads a repairbench checkpoint. A plain PyTorch state_dict is refused with
/// a message that says to use import_state_dict (and the model flags).
Checkpoint load_checkpoint(const std::string& path);

/// True when `path` holds a repairbench checkpoint rather than a plain state_dict.
bool is_repairbench_checkpoint(const std::string& path);

/// Reads a plain `torch.save(model.state_dict())` file (from the official
/// Python code, torchvision, or export_state_dict). `strip_prefix` is removed
/// from every key that has it (e.g. "module." from a DistributedDataParallel
/// model); without it such keys are refused with that hint. A dict wrapping the
/// state dict under "state_dict" or "model" is unwrapped.
StateDict import_state_dict(const std::string& path, const std::string& strip_prefix = "");

/// Writes the model's state dict as `torch.save(model.state_dict())` would, so
/// `model.load_state_dict(torch.load(path))` works in Python.
void export_state_dict(const std::string& path, NetworkImpl& net);

/// Builds the network a file describes and loads its weights: a repairbench
/// checkpoint carries its config; a plain state_dict needs `config` (the
/// caller's model flags), and for the torchvision ResNets missing identity
/// junctures are added when config.junctures asks for them.
Network load_network(const std::string& path, const ModelConfig* config = nullptr,
                     const std::string& strip_prefix = "");

}  // namespace repairbench::models
