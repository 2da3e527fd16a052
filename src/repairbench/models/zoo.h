#pragma once

#include <string>
#include <vector>

#include "repairbench/models/model_config.h"
#include "repairbench/models/network.h"

namespace repairbench::models {

/// Builds a freshly initialized model (the reference's initialization for the
/// family) on the CPU. Validates the config first (Error(kUsage)).
Network make_network(const ModelConfig& config);

/// A deep copy of a network: the same config, its state cloned, on the same
/// device and in the same train/eval mode.
Network copy_network(NetworkImpl& net);

/// Every family name make_network accepts.
std::vector<std::string> model_families();

}  // namespace repairbench::models
