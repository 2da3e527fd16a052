// `repairbench eval`: accuracy and loss of a checkpoint on a data set.
#include <iomanip>
#include <iostream>

#include "cli_common.h"
#include "commands.h"
#include "repairbench/core/error.h"
#include "repairbench/data/registry.h"
#include "repairbench/metrics/evaluate.h"
#include "repairbench/models/checkpoint.h"

namespace repairbench::cli {

int run_eval(int argc, char** argv) {
  ModelFlags model;
  DataFlags data_flags;
  std::string device_name = "cpu", checkpoint, split = "test", strip_prefix;
  uint64_t seed = 0;
  int64_t batch_size = 2000;
  po::options_description options("repairbench eval");
  options.add_options()("help,h", "show this help")(
      "checkpoint", po::value(&checkpoint)->required(),
      "a repairbench checkpoint, or a PyTorch torch.save(state_dict) file (then give the model flags)")(
      "split", po::value(&split)->default_value(split), "test | train (un-augmented)")(
      "batch-size", po::value(&batch_size)->default_value(batch_size), "evaluation batch size")(
      "strip-prefix", po::value(&strip_prefix), "remove this prefix from state_dict keys (e.g. module.)");
  add_model_flags(options, model);
  add_data_flags(options, data_flags);
  add_run_flags(options, device_name, seed);
  po::variables_map vm;
  if (!parse(argc, argv, "Evaluates a checkpoint on the test (or train) split.", options, vm)) return 0;
  RB_CHECK(split == "test" || split == "train", kUsage, "--split must be test or train, got ", split);

  const torch::Device device = parse_device(device_name);
  const data::DatasetSplits splits = data::load_dataset(data_flags.dataset, data_flags.data_dir);
  const data::Dataset& dataset = split == "test" ? splits.test : splits.train;
  models::Network net;
  if (models::is_repairbench_checkpoint(checkpoint)) {
    net = models::load_network(checkpoint);
  } else {
    const models::ModelConfig config = model_config(model, dataset);
    net = models::load_network(checkpoint, &config, strip_prefix);
  }
  check_model_fits(net->config(), dataset, checkpoint);
  net->to(device);
  const auto result = metrics::evaluate(*net, dataset, batch_size, device);
  std::cout << std::fixed << std::setprecision(2) << net->config().describe() << " on " << data_flags.dataset << " "
            << split << ": accuracy " << result.accuracy << "% loss " << std::setprecision(4) << result.loss << " ("
            << result.count << " images)\n";
  return 0;
}

}  // namespace repairbench::cli
