#pragma once

#include <string>
#include <vector>

#include "harness/sweep.h"
#include "repairbench/models/model_config.h"

namespace repairbench::harness {

/// Where a target finds the user's checkpoints of a model it never trains
/// (the official ImageNet endpoints, whose recipe is not in the paper's repo).
struct ImportedCheckpoints {
  std::string dir;                       ///< Holds <name>_<seed>.pt.
  std::string strip_prefix = "module.";  ///< Removed from the state dicts' keys (DDP's).
  std::string dataset;                   ///< What they were trained on, e.g. "imagenet".
};

/// The model of torchvision's `name` (resnet18, resnet50, wide_resnet50_2) as
/// the official ImageNet checkpoints hold it: BatchNorm, 224 px, 1000 classes,
/// with the reference's junctures (docs/reference/algorithm.md §5.8); in smoke mode 64 px and 10
/// classes, the synthetic stand-in's. Throws Error(kUsage) for another name.
models::ModelConfig torchvision_config(const std::string& name, bool smoke);

/// Before anything runs: sets an empty `from.dir` to its default
/// (<data-dir>/<dataset>/checkpoints; smoke: <out_dir>/smoke-checkpoints) and
/// checks that <dir>/<name>_<seed>.pt exists for every name and the seeds
/// 1..2*pairs of the run; throws Error(kData) naming the first missing file,
/// what to put there and how to point elsewhere. In smoke mode there is
/// nothing to check (imported_endpoints makes the files).
void require_checkpoints(const TargetSettings& settings, ImportedCheckpoints& from,
                         const std::vector<std::string>& names);

/// The endpoints of pair k, seeds 2k+1 and 2k+2, loaded from
/// <dir>/<name>_<seed>.pt as `config` (state dicts as torchvision saves them).
/// Smoke mode has no real checkpoints: each endpoint is trained for two
/// batches on the data set's synthetic stand-in, exported as a plain state
/// dict into `dir` and imported back, so the import path runs as it does on
/// real files.
EndpointSource imported_endpoints(const TargetSettings& settings, const ImportedCheckpoints& from,
                                  const std::string& name, const models::ModelConfig& config);

}  // namespace repairbench::harness
