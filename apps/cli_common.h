#pragma once

#include <torch/types.h>

#include <boost/program_options.hpp>
#include <string>

#include "repairbench/data/dataset.h"
#include "repairbench/models/model_config.h"

namespace repairbench::cli {

namespace po = boost::program_options;

/// Model flags shared by every command that builds or imports a model.
struct ModelFlags {
  std::string family = "mlp";
  int64_t width = 128;
  int64_t depth = 10;
  std::string norm = "none";
  bool junctures = false;
};

/// Data flags shared by every command that reads a data set.
struct DataFlags {
  std::string dataset = "fashion-mnist";
  std::string data_dir;  ///< "" = not given: data::default_data_dir(), Debian's Fashion-MNIST as fallback
};

void add_model_flags(po::options_description& options, ModelFlags& flags);
void add_data_flags(po::options_description& options, DataFlags& flags);
/// --device and --seed.
void add_run_flags(po::options_description& options, std::string& device, uint64_t& seed);
/// --dist-backend, for commands that run data-parallel under a launcher.
void add_dist_flags(po::options_description& options, std::string& backend);

/// The model config for `flags` on `dataset`: input size and classes come from
/// the data; MLPs take the stored channels, convolutional nets 3 (grey sets
/// are repeated to RGB, as the reference stores them).
models::ModelConfig model_config(const ModelFlags& flags, const data::Dataset& dataset);

/// Checks that a loaded model (from `path`) can run on `dataset`: the same
/// number of classes and, for an MLP, the same input size (convolutional nets
/// pool to any size). Throws Error(kCheckpoint) saying what differs, instead
/// of a tensor shape error in the first forward pass.
void check_model_fits(const models::ModelConfig& config, const data::Dataset& dataset, const std::string& path);

/// "cpu", "cuda" or "cuda:N"; throws Error(kUsage) when CUDA is not available.
torch::Device parse_device(const std::string& text);

/// Parses argv of a sub-command; prints --help and returns false when asked.
/// Throws Error(kUsage) on bad flags.
bool parse(int argc, char** argv, const std::string& usage, const po::options_description& options,
           po::variables_map& vm);

}  // namespace repairbench::cli
